package harness

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"
	"sigs.k8s.io/e2e-framework/pkg/types"

	"github.com/redis-shared/conformance/tools/target"
)

// LabelTarget is the feature label naming the only targets a feature runs on
// (WithLabel("target", "kube")); a feature without it runs on every target.
const LabelTarget = "target"

// targetNeeds says what a feature labelled for a target needs.
func targetNeeds(name string) string {
	switch name {
	case TargetKube:
		return "it measures from a probe pod inside a Kubernetes cluster or reads Kubernetes objects"
	case TargetSandbox:
		return "it needs the sandbox's own processes and network namespaces"
	default:
		return "its label says so"
	}
}

// TargetSkipReason is why a feature with labels does not run against runTarget, or
// "" when it does.
func TargetSkipReason(runTarget string, labels types.Labels) string {
	want := labels[LabelTarget]
	if len(want) == 0 || slices.Contains(want, runTarget) {
		return ""
	}
	return fmt.Sprintf("runs only on the %s target (%s); this run is against %s", strings.Join(want, ", "), targetNeeds(want[0]), runTarget)
}

// guarded applies the target rule to every feature a suite tests. e2e-framework's
// BeforeEachFeature would be the natural place, but v0.7 hands it the parent test's
// t (env.go processTestFeature), so a t.Skip there would end the whole TestXxx; a
// first Setup step runs on the feature's own t and skips just that feature.
type guarded struct {
	env.Environment
	target string
}

// Guard wraps an environment so that features labelled for another target skip
// with the reason.
func Guard(e env.Environment, runTarget string) env.Environment {
	return &guarded{Environment: e, target: runTarget}
}

func (g *guarded) Test(t *testing.T, fs ...types.Feature) context.Context {
	t.Helper()
	return g.Environment.Test(t, g.wrap(fs)...)
}

func (g *guarded) TestInParallel(t *testing.T, fs ...types.Feature) context.Context {
	t.Helper()
	return g.Environment.TestInParallel(t, g.wrap(fs)...)
}

func (g *guarded) wrap(fs []types.Feature) []types.Feature {
	out := make([]types.Feature, 0, len(fs))
	for _, f := range fs {
		reason := TargetSkipReason(g.target, f.Labels())
		if reason == "" {
			out = append(out, f)
			continue
		}
		out = append(out, skipping(f, reason))
	}
	return out
}

// skipping rebuilds f (same name, labels and steps) with a first Setup step that
// skips it with reason.
func skipping(f types.Feature, reason string) types.Feature {
	b := features.New(f.Name())
	for key, values := range f.Labels() {
		for _, v := range values {
			b = b.WithLabel(key, v)
		}
	}
	b = b.WithSetup("target guard", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
		t.Helper()
		t.Skip(reason)
		return ctx
	})
	for _, s := range f.Steps() {
		b = b.WithStep(s.Name(), s.Level(), s.Func())
	}
	return b.Feature()
}

// NeedsVantage returns a feature Setup step for checks that need clients from a
// vantage point: when the target cannot offer it here, the whole feature skips with
// the target's reason before any fault is injected or load is sent. Building a
// client does not connect, so the step costs nothing on a target that can.
func NeedsVantage(from target.Vantage) func(context.Context, *testing.T, *envconf.Config) context.Context {
	return func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
		t.Helper()
		r := From(ctx)
		ep := Endpoints(ctx, t)
		addr := ep.Master
		if from != target.Cluster && ep.LoadBalancer != "" {
			addr = ep.LoadBalancer
		}
		client := r.Client(t, fmt.Sprintf("clients from the %s vantage point", from), from, addr, target.Valid)
		_ = client.Close()
		return ctx
	}
}

// SkipUnsupported ends the check as skipped when err says the target cannot offer
// what it needs (target.IsUnsupported), naming what the check tried; any other
// error is left to the caller.
func SkipUnsupported(t *testing.T, what string, err error) {
	t.Helper()
	if reason, ok := target.IsUnsupported(err); ok {
		t.Skipf("%s: %s", what, reason)
	}
}

// Client returns a client for addr from the vantage point. When the target cannot
// offer that vantage point here the check skips with the target's reason (what names
// the check's need, e.g. "SC-003 client from the LAN"); any other error fails it.
func (r *Run) Client(t *testing.T, what string, from target.Vantage, addr string, creds target.Credentials) *redis.Client {
	t.Helper()
	client, err := r.Target.Client(from, addr, creds)
	SkipUnsupported(t, what, err)
	if err != nil {
		t.Fatalf("%s: client from %s to %s: %v", what, from, addr, err)
	}
	return client
}
