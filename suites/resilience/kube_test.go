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
	"github.com/redis-shared/conformance/tools/probe"
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
	// kubeRecover bounds how long a probe waits for the master to answer again; the
	// catalog's bounds are judged on the report, this only ends a probe whose master
	// never came back.
	kubeRecover = 3 * time.Minute
	// kubeSeedWithin bounds the wait, before the fault, for the replica to have caught
	// up (a replica just recreated may still be in its initial sync).
	kubeSeedWithin = 2 * time.Minute
	// kubeEvery paces the outage probe's reads and writes: an outage timed to ~10 ms.
	kubeEvery = 10 * time.Millisecond
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
		Setup(replicaCaughtUp).
		Assess("replica reads go on and writes come back within the catalog bound", assessProbeMasterDeleted).
		Feature()
	ledger := features.New("acknowledged writes survive a master pod deletion, seen from the probe pod").
		WithLabel("target", "kube").
		WithLabel("req", "SC-007").
		WithLabel("req", "FR-007").
		WithLabel("type", "disruptive").
		Setup(harness.Disruptive).
		Setup(probeWrites).
		Assess("every acknowledged write reads back after the new master pod is Ready", assessProbeNoAckedWriteLost).
		Feature()
	testenv.Test(t, recreated, masterDown, ledger)
}

func outageRequest(r *harness.Run, ep target.Endpoints, run time.Duration) probe.Request {
	return probe.Request{Kind: probe.KindOutage, Addr: ep.Master, Prefix: r.Key("sc002", "probe") + ":", TTL: harness.KeyTTL,
		Outage: &probe.OutageConfig{ReadAddr: ep.Replicas, Duration: run, Every: kubeEvery, Recover: kubeRecover, SeedWithin: kubeSeedWithin}}
}

func durabilityRequest(r *harness.Run, ep target.Endpoints, run time.Duration) probe.Request {
	return probe.Request{Kind: probe.KindDurability, Addr: ep.Master, Prefix: r.Key("sc007", "probe") + ":", TTL: harness.KeyTTL,
		Durability: &probe.DurabilityConfig{Duration: run, Writers: 4, Pipeline: 16, Every: 5 * time.Millisecond, Recover: kubeRecover}}
}

// replicaCaughtUp is the Setup of SC-002: a short outage run from the cluster vantage
// point proves, before any pod is deleted, that the target can measure from there
// (else the feature skips with its reason) and that the replica has the seed key.
func replicaCaughtUp(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	t.Helper()
	r := harness.From(ctx)
	ep := harness.Endpoints(ctx, t)
	require.NotEmpty(t, ep.Replicas, "no replicas Service: nothing serves reads while the master is down")
	_, err := r.Probe(ctx, t, "SC-002 reads and writes from the cluster vantage point", target.Cluster, outageRequest(r, ep, 100*time.Millisecond))
	require.NoError(t, err, "before the fault")
	return ctx
}

// probeWrites is the Setup of SC-007: a short ledger run from the cluster vantage
// point proves, before any pod is deleted, that the target can measure from there.
func probeWrites(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	t.Helper()
	r := harness.From(ctx)
	_, err := r.Probe(ctx, t, "SC-007 writes from the cluster vantage point", target.Cluster, durabilityRequest(r, harness.Endpoints(ctx, t), 300*time.Millisecond))
	require.NoError(t, err, "before the fault")
	return ctx
}

// probeInBackground runs one request through the target while the caller makes a
// fault; wait returns its report.
func probeInBackground(ctx context.Context, r *harness.Run, req probe.Request) (wait func() (probe.Report, error)) {
	type result struct {
		rep probe.Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := r.Target.Probe(ctx, target.Cluster, req)
		done <- result{rep, err}
	}()
	return func() (probe.Report, error) {
		res := <-done
		return res.rep, res.err
	}
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
	ep := harness.Endpoints(ctx, t)
	master := instanceByRole(t, ep, target.RoleMaster)
	wait := probeInBackground(ctx, r, outageRequest(r, ep, kubeOutageRun))
	revert, killErr := deleteAfterWarmUp(ctx, t, r, master)
	out, probeErr := wait()
	revertErr := harness.Revert(ctx, revert)
	var rep probe.OutageReport
	if out.Outage != nil {
		rep = *out.Outage
	}
	r.Figures(t,
		evidence.Figure{Name: "replica reads", Value: float64(rep.Reads), Unit: "count"},
		evidence.Figure{Name: "failed replica reads", Value: float64(rep.FailedReads), Unit: "count"},
		evidence.Figure{Name: "replica reads missing the seed key", Value: float64(rep.StaleReads), Unit: "count"},
		evidence.Figure{Name: "writes", Value: float64(rep.Writes), Unit: "count"},
		evidence.Figure{Name: "failed writes", Value: float64(rep.FailedWrites), Unit: "count"},
		evidence.Figure{Name: "master Service answered writes again after (from the first failed write)", Value: rep.WriteOutageSeconds, Unit: "s"})
	r.Note(t, "master pod %s deleted with grace 0 after %s; %s wrote to the master Service %s (as applications use it) and read %s every %s. Without Sentinel there is no failover: writes pause while the master is down, until the new pod is Ready", master.Pod, kubeWarmUp, out.Vantage, ep.Master, ep.Replicas, kubeEvery)
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
	ep := harness.Endpoints(ctx, t)
	master := instanceByRole(t, ep, target.RoleMaster)
	wait := probeInBackground(ctx, r, durabilityRequest(r, ep, kubeLedgerRun))
	revert, killErr := deleteAfterWarmUp(ctx, t, r, master)
	out, probeErr := wait()
	revertErr := harness.Revert(ctx, revert)
	var rep probe.DurabilityReport
	if out.Durability != nil {
		rep = *out.Durability
	}
	r.Figures(t,
		evidence.Figure{Name: "acknowledged writes", Value: float64(rep.Acknowledged), Unit: "count"},
		evidence.Figure{Name: "failed writes", Value: float64(rep.FailedWrites), Unit: "count"},
		evidence.Figure{Name: "writer reconnects", Value: float64(rep.Reconnects), Unit: "count"},
		evidence.Figure{Name: "lost acknowledged writes", Value: float64(rep.Lost), Unit: "count"})
	r.Note(t, "master pod %s deleted with grace 0 after %s; %s wrote unique keys to %s for %s and read every acknowledged one back once the master answered again (aof_enabled %q)", master.Pod, kubeWarmUp, out.Vantage, ep.Master, kubeLedgerRun, rep.AOFEnabled)
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
