package resilience

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/redis-shared/conformance/suites/internal/harness"
	"github.com/redis-shared/conformance/suites/internal/judge"
	"github.com/redis-shared/conformance/tools/evidence"
	"github.com/redis-shared/conformance/tools/target"
)

// The disruptive checks on a cluster (issue 7): the kube target deletes a Redis pod
// with grace period 0 (Kill) and waits for its StatefulSet to bring a new Ready pod;
// what the data path saw meanwhile is measured from the in-cluster probe pod, which
// runs in the background while the pod is deleted. The features above need clients
// from the cluster vantage point, which only the sandbox hands out; these run only
// on kube.

// Shapes of the probe runs around a master pod deletion.
const (
	// kubeWarmUp is probe traffic before the deletion: the exec through the API
	// server has started and writes were acknowledged.
	kubeWarmUp = 3 * time.Second
	// kubeOutageRun is the outage probe's shortest run (it follows an outage still
	// going on then until writes are back).
	kubeOutageRun = 10 * time.Second
	// kubeLedgerRun is how long the durability probe writes (a master still down
	// then ends it; the read-back waits for the master).
	kubeLedgerRun = 8 * time.Second
)

// noDisruption is why a probe run across a master pod deletion that saw no failed
// write proves nothing: the skip reason, with what the probe counted.
const noDisruption = "the master pod's deletion did not interrupt the probe's writes (%d written, none failed), so the probe's data path does not go through the deleted pod and this run proves nothing about %s; expected on a local control plane (kwok runs no container: the probe's exec runs on that machine against a loopback redis-server the deletion does not touch); on a real cluster it would mean the master Service does not lead to the master pod"

func TestKubePodDeletion(t *testing.T) {
	recreated := features.New("a deleted Redis pod is recreated by its StatefulSet").
		WithLabel("target", "kube").
		WithLabel("req", "FR-010").
		WithLabel("type", "disruptive").
		Setup(harness.Disruptive).
		Assess("the master pod, deleted with grace 0, is Ready again (new pod) within the catalog bound", assessPodRecreated(target.RoleMaster)).
		Assess("the replica pod, deleted with grace 0, is Ready again (new pod) within the catalog bound", assessPodRecreated(target.RoleReplica)).
		Feature()
	masterDown := features.New("master pod deletion seen from the probe pod").
		WithLabel("target", "kube").
		WithLabel("req", "SC-002").
		WithLabel("type", "disruptive").
		Setup(harness.Disruptive).
		Setup(viaFaultProbe).
		Assess("replica reads go on and writes come back within the catalog bound", assessProbeMasterDeleted).
		Feature()
	ledger := features.New("acknowledged writes survive a master pod deletion, seen from the probe pod").
		WithLabel("target", "kube").
		WithLabel("req", "SC-007").
		WithLabel("req", "FR-007").
		WithLabel("type", "disruptive").
		Setup(harness.Disruptive).
		Setup(viaFaultProbe).
		Assess("every acknowledged write reads back after the new master pod is Ready", assessProbeNoAckedWriteLost).
		Feature()
	testenv.Test(t, recreated, masterDown, ledger)
}

type faultProberKey struct{}

// viaFaultProbe is the Setup of the probe-measured faults: the target must measure
// from an in-cluster probe pod, started here so that a probe the target cannot offer
// skips the feature before any pod is deleted.
func viaFaultProbe(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	t.Helper()
	r := harness.From(ctx)
	fp, ok := r.Target.(target.FaultProber)
	if !ok {
		t.Skipf("the %s target has no in-cluster probe pod to measure a fault from", r.Target.Name())
	}
	if p, ok := r.Target.(target.Prober); ok {
		_, err := p.ProbeStart(ctx)
		harness.SkipUnsupported(t, "the in-cluster probe pod", err)
		require.NoError(t, err, "start the probe pod")
	}
	return context.WithValue(ctx, faultProberKey{}, fp)
}

// instanceByRole is the first instance with the role.
func instanceByRole(t *testing.T, ep target.Endpoints, role string) target.Instance {
	t.Helper()
	for _, inst := range ep.Instances {
		if inst.Role == role {
			return inst
		}
	}
	require.Failf(t, "no instance", "no %s instance in %v", role, ep.Instances)
	return target.Instance{}
}

func assessPodRecreated(role string) func(context.Context, *testing.T, *envconf.Config) context.Context {
	return func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
		r := harness.From(ctx)
		victim := instanceByRole(t, harness.Endpoints(ctx, t), role)
		before, err := r.Target.Restarts(ctx, victim.Name)
		require.NoError(t, err)
		deleted := time.Now()
		revert, err := r.Target.Kill(ctx, victim.Name)
		require.NoError(t, err, "delete the %s pod %s", victim.Name, victim.Pod)
		t.Cleanup(func() { harness.MustRevert(t, ctx, "wait for "+victim.Pod, revert) })
		// Kill's revert is the bounded wait: a new pod (new UID) of the same name
		// Ready, then both StatefulSets with every replica Ready.
		err = harness.Revert(ctx, revert)
		back := time.Since(deleted)
		after, restartsErr := r.Target.Restarts(ctx, victim.Name)
		r.Figures(t, evidence.Figure{Name: victim.Name + " pod Ready again after", Value: back.Seconds(), Unit: "s"})
		r.Note(t, "pod %s deleted with grace period 0; the StatefulSet made a new pod of the same name and both StatefulSets were Ready again", victim.Pod)
		require.NoError(t, err, "%s did not come back", victim.Pod)
		require.NoError(t, restartsErr)
		assert.NotEqual(t, before.Pid, after.Pid, "%s is the same pod (same UID): it was not recreated", victim.Pod)
		judgeRestart(t, r, back)
		return ctx
	}
}

func assessProbeMasterDeleted(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r := harness.From(ctx)
	fp := ctx.Value(faultProberKey{}).(target.FaultProber)
	ep := harness.Endpoints(ctx, t)
	require.NotEmpty(t, ep.Replicas, "no replicas Service: nothing serves reads while the master is down")
	master := instanceByRole(t, ep, target.RoleMaster)
	wait, err := fp.ProbeOutage(ctx, ep.Master, ep.Replicas, r.Key("sc002", "probe")+":", kubeOutageRun)
	require.NoError(t, err, "start the outage probe")
	revert, killErr := deleteAfterWarmUp(ctx, t, r, master)
	rep, probeErr := wait()
	revertErr := harness.Revert(ctx, revert)
	r.Figures(t,
		evidence.Figure{Name: "replica reads", Value: float64(rep.Reads), Unit: "count"},
		evidence.Figure{Name: "failed replica reads", Value: float64(rep.FailedReads), Unit: "count"},
		evidence.Figure{Name: "replica reads missing the seed key", Value: float64(rep.StaleReads), Unit: "count"},
		evidence.Figure{Name: "writes", Value: float64(rep.Writes), Unit: "count"},
		evidence.Figure{Name: "failed writes", Value: float64(rep.FailedWrites), Unit: "count"},
		evidence.Figure{Name: "master Service answered writes again after (from the first failed write)", Value: rep.WriteOutageSeconds, Unit: "s"})
	r.Note(t, "master pod %s deleted with grace 0 after %s; the probe pod wrote to the master Service %s (as applications use it) and read %s every %s. Without Sentinel there is no failover: writes pause while the master is down, until the new pod is Ready", master.Pod, kubeWarmUp, ep.Master, ep.Replicas, 10*time.Millisecond)
	if rep.FirstReadError != "" {
		r.Note(t, "first failed read: %s", rep.FirstReadError)
	}
	require.NoError(t, killErr, "delete the master pod")
	require.NoError(t, probeErr, "outage probe")
	require.NoError(t, revertErr, "the master pod back")
	if rep.FailedWrites == 0 {
		t.Skipf(noDisruption, rep.Writes, "SC-002")
	}
	for _, problem := range judge.MasterDown(r.Catalog, time.Duration(rep.WriteOutageSeconds*float64(time.Second))) {
		t.Error(problem)
	}
	return ctx
}

func assessProbeNoAckedWriteLost(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r := harness.From(ctx)
	fp := ctx.Value(faultProberKey{}).(target.FaultProber)
	ep := harness.Endpoints(ctx, t)
	master := instanceByRole(t, ep, target.RoleMaster)
	wait, err := fp.ProbeDurability(ctx, ep.Master, r.Key("sc007", "probe")+":", kubeLedgerRun)
	require.NoError(t, err, "start the durability probe")
	revert, killErr := deleteAfterWarmUp(ctx, t, r, master)
	rep, probeErr := wait()
	revertErr := harness.Revert(ctx, revert)
	r.Figures(t,
		evidence.Figure{Name: "acknowledged writes", Value: float64(rep.Acknowledged), Unit: "count"},
		evidence.Figure{Name: "failed writes", Value: float64(rep.FailedWrites), Unit: "count"},
		evidence.Figure{Name: "writer reconnects", Value: float64(rep.Reconnects), Unit: "count"},
		evidence.Figure{Name: "lost acknowledged writes", Value: float64(rep.Lost), Unit: "count"})
	r.Note(t, "master pod %s deleted with grace 0 after %s; the probe pod wrote unique keys to %s for %s and read every acknowledged one back once the master answered again (aof_enabled %q)", master.Pod, kubeWarmUp, ep.Master, kubeLedgerRun, rep.AOFEnabled)
	if len(rep.LostSample) > 0 {
		r.Note(t, "first lost keys: %v", rep.LostSample)
	}
	require.NoError(t, killErr, "delete the master pod")
	require.NoError(t, probeErr, "durability probe")
	require.NoError(t, revertErr, "the master pod back")
	// A loss is a loss even when no write failed (the kill can land after the last
	// write): only a run that saw neither proves nothing.
	if rep.FailedWrites == 0 && rep.Lost == 0 {
		t.Skipf(noDisruption, rep.Acknowledged, "SC-007 and FR-007")
	}
	judgeLostWrites(t, r, rep.Acknowledged, rep.Lost)
	return ctx
}

// deleteAfterWarmUp lets the probe's traffic flow for kubeWarmUp, then deletes the
// instance's pod; the revert (a no-op when the deletion failed) waits for it to be
// back and is registered for cleanup too.
func deleteAfterWarmUp(ctx context.Context, t *testing.T, r *harness.Run, victim target.Instance) (target.Revert, error) {
	t.Helper()
	noop := func(context.Context) error { return nil }
	if err := harness.Observe(ctx, kubeWarmUp); err != nil {
		return noop, err
	}
	revert, err := r.Target.Kill(ctx, victim.Name)
	if err != nil {
		return noop, fmt.Errorf("delete %s: %w", victim.Pod, err)
	}
	t.Cleanup(func() { harness.MustRevert(t, ctx, "wait for "+victim.Pod, revert) })
	return revert, nil
}
