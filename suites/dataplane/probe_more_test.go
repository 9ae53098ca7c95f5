package dataplane

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/redis-shared/conformance/suites/internal/harness"
	"github.com/redis-shared/conformance/tools/evidence"
	"github.com/redis-shared/conformance/tools/target"
)

// FR-006 from the kube target's probe pod: the same judgement as the sandbox's
// replication feature, measured inside the cluster against the master Service and
// each replica's per-pod headless name.
func TestProbeReplication(t *testing.T) {
	replication := features.New("replication to the second instance from the probe pod").
		WithLabel("target", "kube").
		WithLabel("req", "FR-006").
		Setup(viaProbe).
		Assess("the replication link is up and a write on the master is read back on each replica within the catalog bound", assessProbeReplication).
		Feature()
	testenv.Test(t, replication)
}

func probeChecker(ctx context.Context, t *testing.T) target.ProbeChecker {
	t.Helper()
	prober, ok := proberOf(ctx)
	require.True(t, ok, "the probe setup did not run")
	checker, ok := prober.(target.ProbeChecker)
	if !ok {
		t.Skipf("the %s target's probe has no replication check", harness.From(ctx).Target.Name())
	}
	return checker
}

func assessProbeReplication(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r := harness.From(ctx)
	ep := harness.Endpoints(ctx, t)
	checker := probeChecker(ctx, t)
	bound := r.Bound(t, "FR-006", "replica_visibility")
	replicas := ep.ByRole(target.RoleReplica)
	require.NotEmpty(t, replicas, "the deployment runs no replica: there is no second instance to replicate to")
	var addrs []string
	for _, inst := range replicas {
		addrs = append(addrs, inst.Addr)
	}
	rep, err := checker.ProbeReplication(ctx, ep.Master, addrs, r.Key("fr006")+":", visibilityWrites, harness.Seconds(t, bound), harness.KeyTTL)
	harness.SkipUnsupported(t, "FR-006 from the probe pod", err)
	require.NoError(t, err)
	assert.Empty(t, rep.Error, "master %s", ep.Master)
	assert.Equal(t, "master", rep.Role, "role of %s", ep.Master)
	assert.Equal(t, len(replicas), rep.ConnectedSlaves, "replicas connected to the master")
	figs := []evidence.Figure{{Name: "connected replicas", Value: float64(rep.ConnectedSlaves), Unit: "count"}}
	var worst time.Duration
	seen := 0
	for i, view := range rep.Replicas {
		name := replicas[i].Name
		assert.Empty(t, view.Error, "%s (%s)", name, view.Addr)
		assert.Equal(t, "slave", view.Role, "role of %s", name)
		assert.Equal(t, "up", view.LinkStatus, "replication link of %s", name)
		assert.Equal(t, visibilityWrites, view.Seen, "writes read back on %s within %s", name, harness.Seconds(t, bound))
		seen += view.Seen
		worst = max(worst, time.Duration(view.MaxMillis*float64(time.Millisecond)))
		figs = append(figs,
			evidence.Figure{Name: name + " replication lag", Value: float64(view.LagBytes), Unit: "bytes"},
			evidence.Figure{Name: name + " writes read back", Value: float64(view.Seen), Unit: "count"},
			evidence.Figure{Name: name + " median visibility delay", Value: view.MedianMillis, Unit: "ms"})
	}
	assert.Len(t, rep.Replicas, len(replicas), "replicas the probe read from")
	figs = append(figs, evidence.Figure{Name: "writes checked", Value: float64(seen), Unit: "count"},
		evidence.Figure{Name: "max visibility delay", Value: float64(worst) / float64(time.Millisecond), Unit: "ms"})
	r.Figures(t, figs...)
	if rep.Cleanup != nil {
		assert.Zero(t, rep.Cleanup.Left(), "keys the probe left under %s: %v", rep.Cleanup.Prefix, rep.Cleanup.Remaining)
	}
	r.Note(t, "probe pod %s wrote %d keys per replica on %s and read each back on the replica's headless address", checker.ProbePod(), visibilityWrites, ep.Master)
	require.Equal(t, visibilityWrites*len(replicas), seen, "every write must show on every replica for the delay to mean anything")
	harness.Holds(t, "FR-006", bound, worst.Seconds())
	return ctx
}
