package resilience

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

// FR-010 as the spec means it on a cluster: a Redis that stops answering is restarted
// by its health check. The target freezes one instance's Redis and the platform's own
// record (pod status, kubelet events) must show the SAME pod's container killed for a
// failed liveness probe and started again, within the catalog bound.
func TestLivenessRestart(t *testing.T) {
	restarted := features.New("a hung Redis is restarted by its liveness probe").
		WithLabel("req", "FR-010").
		WithLabel("type", "disruptive").
		Setup(harness.Disruptive).
		Setup(livenessRecorded).
		Assess("the replica's frozen Redis container is killed for its failed liveness probe and restarted in place within the catalog bound", assessRestartedByLiveness).
		Feature()
	testenv.Test(t, restarted)
}

type livenessJudgeKey struct{}

// livenessRecorded skips on a target that keeps no record of why an instance
// restarted.
func livenessRecorded(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	t.Helper()
	r := harness.From(ctx)
	judge, ok := r.Target.(target.LivenessJudge)
	if !ok {
		t.Skipf("the %s target records no restart reason (no kubelet events); its restart of a hung instance is judged by \"automatic restart of a failed instance\"", r.Target.Name())
	}
	return context.WithValue(ctx, livenessJudgeKey{}, judge)
}

func assessRestartedByLiveness(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r := harness.From(ctx)
	judge := ctx.Value(livenessJudgeKey{}).(target.LivenessJudge)
	replicas := harness.Endpoints(ctx, t).ByRole(target.RoleReplica)
	// The replica: freezing the master would also fail the replica's liveness probe,
	// which pings its master too, and stop beersystem's writes.
	require.NotEmpty(t, replicas, "no replica to freeze")
	victim := replicas[0]
	frozen := time.Now()
	revert, err := r.Target.Hang(ctx, victim.Name)
	harness.SkipUnsupported(t, "freezing "+victim.Name, err)
	require.NoError(t, err, "freeze %s", victim.Name)
	t.Cleanup(func() { harness.MustRevert(t, ctx, "restart of "+victim.Pod, revert) })
	// Revert waits until the container is restarted and Ready, and the deployment is.
	err = harness.Revert(ctx, revert)
	back := time.Since(frozen)
	restart, judgeErr := judge.LivenessRestart(ctx, victim.Name, frozen)
	r.Figures(t,
		evidence.Figure{Name: victim.Name + " restarted and Ready again after", Value: back.Seconds(), Unit: "s"},
		evidence.Figure{Name: "failed liveness probes since the freeze", Value: float64(restart.ProbeFailures), Unit: "count"},
		evidence.Figure{Name: victim.Name + " container restartCount", Value: float64(restart.RestartCount), Unit: "count"})
	r.Note(t, "pod %s: %s; last termination: %s", victim.Pod, orNone(restart.KillEvent), orNone(restart.LastTerminated))
	require.NoError(t, err, "%s did not come back", victim.Pod)
	require.NoError(t, judgeErr)
	assert.Empty(t, restart.Problems(), "%s was not restarted by its liveness probe", victim.Pod)
	harness.Holds(t, "FR-010", r.Bound(t, "FR-010", "restart_within"), back.Seconds())
	return ctx
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
