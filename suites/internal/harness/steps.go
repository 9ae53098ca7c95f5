package harness

import (
	"context"
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	e2ewait "sigs.k8s.io/e2e-framework/klient/wait"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/redis-shared/conformance/tools/catalog"
	"github.com/redis-shared/conformance/tools/evidence"
	"github.com/redis-shared/conformance/tools/target"
)

// Disruptive is a feature Setup step: it skips the whole feature (so the report sees
// a skip with its reason, not a pass) unless --disruptive was given.
func Disruptive(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	t.Helper()
	if !From(ctx).Opts.Disruptive {
		t.Skip(SkipNotDisruptive)
	}
	return ctx
}

// OnlyOn returns a feature Setup step that skips the feature on other targets.
func OnlyOn(name, why string) func(context.Context, *testing.T, *envconf.Config) context.Context {
	return func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
		t.Helper()
		if got := From(ctx).Target.Name(); got != name {
			t.Skipf("runs only on the %s target (%s); this run is against %s", name, why, got)
		}
		return ctx
	}
}

// Figures records figures under the running test's name; failing to record fails it.
func (r *Run) Figures(t *testing.T, figures ...evidence.Figure) {
	t.Helper()
	if err := r.Rec.Figures(t.Name(), figures...); err != nil {
		t.Errorf("record evidence: %v", err)
	}
}

// Series records curves (LoadSeries) under the running test's name for the report's
// plots; failing to record fails the test.
func (r *Run) Series(t *testing.T, series ...evidence.Series) {
	t.Helper()
	if len(series) == 0 {
		return
	}
	if err := r.Rec.Series(t.Name(), series...); err != nil {
		t.Errorf("record evidence: %v", err)
	}
}

// Note records a sentence under the running test's name.
func (r *Run) Note(t *testing.T, format string, args ...any) {
	t.Helper()
	if err := r.Rec.Note(t.Name(), format, args...); err != nil {
		t.Errorf("record evidence: %v", err)
	}
}

// Threshold returns a requirement's threshold or fails the test.
func (r *Run) Threshold(t *testing.T, id string) catalog.Limit {
	t.Helper()
	l, err := r.Catalog.Threshold(id)
	if err != nil {
		t.Fatalf("catalog: %v", err)
	}
	return l
}

// Bound returns a requirement's named bound or fails the test.
func (r *Run) Bound(t *testing.T, id, name string) catalog.Limit {
	t.Helper()
	l, err := r.Catalog.Bound(id, name)
	if err != nil {
		t.Fatalf("catalog: %v", err)
	}
	return l
}

// Seconds reads a limit in seconds as a duration, or fails the test.
func Seconds(t *testing.T, l catalog.Limit) time.Duration {
	t.Helper()
	if l.Unit != "s" {
		t.Fatalf("catalog: %s is in %q, want s", l.Name, l.Unit)
	}
	v, err := l.Float()
	if err != nil {
		t.Fatalf("catalog: %v", err)
	}
	return time.Duration(v * float64(time.Second))
}

// Number reads a numeric limit or fails the test.
func Number(t *testing.T, l catalog.Limit) float64 {
	t.Helper()
	v, err := l.Float()
	if err != nil {
		t.Fatalf("catalog: %v", err)
	}
	return v
}

// Holds compares a measurement with a limit and reports a failure that names both.
func Holds(t *testing.T, id string, l catalog.Limit, measured float64) bool {
	t.Helper()
	ok, err := l.Holds(measured)
	if err != nil {
		t.Errorf("%s: %v", id, err)
		return false
	}
	if !ok {
		t.Errorf("%s: measured %s = %g %s, the catalog requires %s", id, l.Name, measured, l.Unit, l)
	}
	return ok
}

// WaitFor polls cond every interval until it holds, up to timeout, and says what it
// waited for when it gives up. It is e2e-framework's wait.For with a description.
func WaitFor(ctx context.Context, what string, timeout, interval time.Duration, cond func(ctx context.Context) (bool, error)) error {
	err := e2ewait.For(wait.ConditionWithContextFunc(cond), e2ewait.WithContext(ctx), e2ewait.WithTimeout(timeout), e2ewait.WithInterval(interval), e2ewait.WithImmediate())
	if err != nil {
		return fmt.Errorf("waited up to %s for %s: %w", timeout, what, err)
	}
	return nil
}

// Key returns a key under the run's prefix for a feature.
func (r *Run) Key(parts ...string) string {
	k := r.Prefix
	for i, p := range parts {
		if i > 0 {
			k += ":"
		}
		k += p
	}
	return k
}

// revertTimeout bounds how long putting a fault back may take.
const revertTimeout = 3 * time.Minute

// Revert puts a fault back on a context that survives the caller's cancellation
// (Ctrl-C), bounded by its own timeout.
func Revert(ctx context.Context, revert target.Revert) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revertTimeout)
	defer cancel()
	return revert(rctx)
}

// MustRevert is Revert for t.Cleanup: a failure to put things back fails the test.
// Reverts are idempotent, so it is safe after an explicit Revert.
func MustRevert(t *testing.T, ctx context.Context, what string, revert target.Revert) {
	t.Helper()
	if err := Revert(ctx, revert); err != nil {
		t.Errorf("%s: %v", what, err)
	}
}

// Observe lets a fixed observation window pass (traffic before a fault, an outage
// being measured): it is not a wait for a condition, and it ends early with the
// context's error on Ctrl-C.
func Observe(ctx context.Context, window time.Duration) error {
	timer := time.NewTimer(window)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("observation window of %s cut short: %w", window, ctx.Err())
	}
}

// Endpoints returns the target's endpoints, or ends the assessment when it has none.
func Endpoints(ctx context.Context, t *testing.T) target.Endpoints {
	t.Helper()
	ep, err := From(ctx).Target.Endpoints(ctx)
	if err != nil {
		t.Fatalf("target endpoints: %v", err)
	}
	return ep
}
