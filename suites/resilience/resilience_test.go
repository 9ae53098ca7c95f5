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

// One feature per requirement on every target: the data path is measured by
// tools/probe requests through Target.Probe from the cluster vantage point
// (in-process in the sandbox's network namespace, the redisprobe binary in the kube
// probe pod), while the target makes the fault: Kill (sandbox: SIGKILL, its
// supervisor restarts the process; kube: the pod deleted with grace 0, its
// StatefulSet recreates it), Stop, Hang. The probe runs in the background across a
// kill; it does not know when the kill lands and measures from its own start.

// Shapes of the probe runs.
const (
	// warmUp is probe traffic before a kill: the probe has started (on kube, the exec
	// through the API server) and its writes were acknowledged.
	warmUp = 3 * time.Second
	// requestEvery paces the outage probe's reads and writes: an outage timed to about
	// 10 ms, light enough not to load the survivor.
	requestEvery = 10 * time.Millisecond
	// outageRun is the outage probe's shortest run (it follows an outage still going
	// on then until writes are back).
	outageRun = 10 * time.Second
	// replicaHold is how long the replica stays down while the master is probed.
	replicaHold = 5 * time.Second
	// recoverWithin bounds how long a probe waits for the master to answer again; the
	// catalog's bounds are judged on the report, this only ends a probe whose master
	// never came back.
	recoverWithin = 3 * time.Minute
	// seedWithin bounds the wait, before the fault, for the replica to have caught up
	// (a replica just recreated may still be in its initial sync).
	seedWithin = 2 * time.Minute
	// ledgerRun is how long the durability writers write (the kill lands after
	// warmUp; a master still down then ends it, the read-back waits for it).
	ledgerRun = 8 * time.Second
	// ledgerWriters and ledgerPipeline shape the durability writers: many acked
	// writes in flight when the master dies is what exposes a lax fsync policy.
	ledgerWriters  = 8
	ledgerPipeline = 32
	// ledgerValueSize pads each value: more bytes per second make each background
	// fsync last longer, the window in which everysec acknowledges unwritten data.
	ledgerValueSize = 512
	// ledgerKeysPerWriter bounds the keys each writer cycles over (8 x 20,000 x ~600 B
	// is about 100 MB, below the values' maxmemory of 200 MB; an eviction is still
	// counted and fails the check).
	ledgerKeysPerWriter = 20_000
)

// noDisruption is why a probe run across a master kill that saw no failed write
// proves nothing: the skip reason, with what the probe counted.
const noDisruption = "killing the master did not interrupt the probe's writes (%d written, none failed), so the probe's data path does not go through the killed instance and this run proves nothing about %s; expected on a local control plane (kwok runs no container: the probe's exec runs on that machine against a loopback redis-server the pod deletion does not touch); on a real cluster or the sandbox it would mean the master Service does not lead to the master"

// replicaStillUp is why a run with the replica stopped whose reads of the replicas
// Service all answered proves nothing.
const replicaStillUp = "stopping the replica did not interrupt the probe's reads from the replicas Service (%d reads, none failed), so the replica the probe reads is not the one stopped and this run proves nothing about SC-002; expected on a local control plane (kwok: the replicas Service leads to a loopback redis-server the scale-down does not touch)"

func TestInstanceFailure(t *testing.T) {
	masterDown := features.New("master failure").
		WithLabel("req", "SC-002").
		WithLabel("type", "disruptive").
		Setup(harness.Disruptive).
		Setup(probeFirst("SC-002 reads and writes", func(r *harness.Run, ep target.Endpoints) probe.Request {
			return outageRequest(r, ep, 100*time.Millisecond)
		})).
		Assess("with the master killed, replica reads go on and the master Service answers writes again within the bound derived from the probe settings", assessMasterKilled).
		Feature()
	replicaDown := features.New("replica failure").
		WithLabel("req", "SC-002").
		WithLabel("type", "disruptive").
		Setup(harness.Disruptive).
		Setup(probeFirst("SC-002 reads and writes", func(r *harness.Run, ep target.Endpoints) probe.Request {
			return outageRequest(r, ep, 100*time.Millisecond)
		})).
		Assess("with the replica down, reads and writes through the master Service all succeed", assessReplicaDown).
		Feature()
	restart := features.New("automatic restart of a failed instance").
		WithLabel("req", "FR-010").
		WithLabel("type", "disruptive").
		Setup(harness.Disruptive).
		Assess("a killed master runs again within the catalog bound", assessKilledRestarted(target.RoleMaster)).
		Assess("a killed replica runs again within the catalog bound", assessKilledRestarted(target.RoleReplica)).
		Assess("a hung instance is restarted by its liveness probe within the catalog bound", assessHungRestarted).
		Feature()
	testenv.Test(t, masterDown, replicaDown, restart)
}

func TestDurability(t *testing.T) {
	ledger := features.New("acknowledged writes survive a master kill").
		WithLabel("req", "SC-007").
		WithLabel("req", "FR-007").
		WithLabel("type", "disruptive").
		Setup(harness.Disruptive).
		Setup(probeFirst("SC-007 writes", func(r *harness.Run, ep target.Endpoints) probe.Request {
			return durabilityRequest(r, ep, 300*time.Millisecond)
		})).
		Assess("no acknowledged write is lost across a kill of the master and its restart", assessNoAckedWriteLost).
		Feature()
	testenv.Test(t, ledger)
}

func outageRequest(r *harness.Run, ep target.Endpoints, run time.Duration) probe.Request {
	return probe.Request{Kind: probe.KindOutage, Addr: ep.Master, Prefix: r.Key("sc002", "probe") + ":", TTL: harness.KeyTTL,
		Outage: &probe.OutageConfig{ReadAddr: ep.Replicas, Duration: run, Every: requestEvery, Recover: recoverWithin, SeedWithin: seedWithin}}
}

func durabilityRequest(r *harness.Run, ep target.Endpoints, run time.Duration) probe.Request {
	return probe.Request{Kind: probe.KindDurability, Addr: ep.Master, Prefix: r.Key("sc007", "probe") + ":", TTL: harness.KeyTTL,
		Durability: &probe.DurabilityConfig{Duration: run, Writers: ledgerWriters, Pipeline: ledgerPipeline, Every: time.Millisecond,
			Recover: recoverWithin, ValueSize: ledgerValueSize, KeysPerWriter: ledgerKeysPerWriter}}
}

// probeFirst is a feature Setup: a short run of the feature's request from the
// cluster vantage point proves, before any fault, that the target can measure from
// there (else the feature skips with the target's reason) and, for an outage
// request, that the replica has caught up.
func probeFirst(what string, request func(*harness.Run, target.Endpoints) probe.Request) func(context.Context, *testing.T, *envconf.Config) context.Context {
	return func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
		t.Helper()
		r := harness.From(ctx)
		ep := harness.Endpoints(ctx, t)
		require.NotEmpty(t, ep.Replicas, "no replicas Service: nothing serves reads while the master is down")
		_, err := r.Probe(ctx, t, what+" from the cluster vantage point", target.Cluster, request(r, ep))
		require.NoError(t, err, "before the fault")
		return ctx
	}
}

// killDuring runs req through the target in the background, kills the master after
// warmUp and returns the probe's report once it ends; the revert (registered for
// cleanup too) waits for the master to be back.
func killDuring(ctx context.Context, t *testing.T, r *harness.Run, req probe.Request) (rep probe.Report, probeErr, killErr error, revert target.Revert) {
	t.Helper()
	masters := harness.Endpoints(ctx, t).ByRole(target.RoleMaster)
	require.NotEmpty(t, masters, "no master instance")
	done := make(chan struct{})
	go func() {
		defer close(done)
		rep, probeErr = r.Target.Probe(ctx, target.Cluster, req)
	}()
	revert = func(context.Context) error { return nil }
	if killErr = harness.Observe(ctx, warmUp); killErr == nil {
		var kill target.Revert
		if kill, killErr = r.Target.Kill(ctx, masters[0].Name); killErr == nil {
			revert = kill
			t.Cleanup(func() { harness.MustRevert(t, ctx, "the master back", revert) })
		}
	}
	<-done
	if probeErr != nil && rep.Vantage != "" {
		probeErr = fmt.Errorf("%s from %s: %w", req.Kind, rep.Vantage, probeErr)
	}
	return rep, probeErr, killErr, revert
}

func assessMasterKilled(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r := harness.From(ctx)
	ep := harness.Endpoints(ctx, t)
	out, probeErr, killErr, revert := killDuring(ctx, t, r, outageRequest(r, ep, outageRun))
	revertErr := harness.Revert(ctx, revert)
	var rep probe.OutageReport
	if out.Outage != nil {
		rep = *out.Outage
	}
	r.Figures(t,
		evidence.Figure{Name: "master Service answered writes again after", Value: rep.WriteOutageSeconds, Unit: "s"},
		evidence.Figure{Name: "writes", Value: float64(rep.Writes), Unit: "count"},
		evidence.Figure{Name: "failed writes", Value: float64(rep.FailedWrites), Unit: "count"},
		evidence.Figure{Name: "replica reads", Value: float64(rep.Reads), Unit: "count"},
		evidence.Figure{Name: "failed replica reads", Value: float64(rep.FailedReads), Unit: "count"},
		evidence.Figure{Name: "replica reads missing the seed key", Value: float64(rep.StaleReads), Unit: "count"})
	r.Note(t, "the master killed after %s (%s target); %s wrote to the master Service %s (as applications use it) and read %s every %s; the write outage runs from the first failed write to the first successful one after it. Without Sentinel there is no failover: writes pause while the master is down, until it is back and Ready", warmUp, r.Target.Name(), out.Vantage, ep.Master, ep.Replicas, requestEvery)
	if rep.FirstWriteError != "" {
		r.Note(t, "first failed write: %s", rep.FirstWriteError)
	}
	if rep.FirstReadError != "" {
		r.Note(t, "first failed read: %s", rep.FirstReadError)
	}
	require.NoError(t, killErr, "kill the master")
	require.NoError(t, probeErr, "outage probe")
	require.NoError(t, revertErr, "the master back")
	if rep.FailedWrites == 0 {
		t.Skipf(noDisruption, rep.Writes, "SC-002")
	}
	for _, problem := range judge.MasterDown(r.Catalog, time.Duration(rep.WriteOutageSeconds*float64(time.Second))) {
		t.Error(problem)
	}
	return ctx
}

func assessReplicaDown(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r := harness.From(ctx)
	ep := harness.Endpoints(ctx, t)
	replicas := ep.ByRole(target.RoleReplica)
	require.NotEmpty(t, replicas, "no replica to take down")
	revert, err := r.Target.Stop(ctx, replicas[0].Name)
	harness.SkipUnsupported(t, "stopping "+replicas[0].Name, err)
	require.NoError(t, err, "stop %s", replicas[0].Name)
	t.Cleanup(func() { harness.MustRevert(t, ctx, "start "+replicas[0].Name+" again", revert) })
	req := outageRequest(r, ep, replicaHold)
	req.Outage.ReplicaDown = true
	out, probeErr := r.Probe(ctx, t, "SC-002 reads and writes from the cluster vantage point", target.Cluster, req)
	revertErr := harness.Revert(ctx, revert)
	var rep probe.OutageReport
	if out.Outage != nil {
		rep = *out.Outage
	}
	r.Figures(t,
		evidence.Figure{Name: "failed SET+GET through the master Service", Value: float64(rep.FailedWrites), Unit: "count"},
		evidence.Figure{Name: "SET+GET through the master Service", Value: float64(rep.Writes), Unit: "count"},
		evidence.Figure{Name: "replica down for", Value: replicaHold.Seconds(), Unit: "s"},
		evidence.Figure{Name: "replica reads", Value: float64(rep.Reads), Unit: "count"},
		evidence.Figure{Name: "failed replica reads", Value: float64(rep.FailedReads), Unit: "count"})
	r.Note(t, "%s stopped (%s target); %s sent SET then GET to the master Service %s (as applications use it) and a read to %s every %s", replicas[0].Name, r.Target.Name(), out.Vantage, ep.Master, ep.Replicas, requestEvery)
	if rep.FirstWriteError != "" {
		r.Note(t, "first failure: %s", rep.FirstWriteError)
	}
	require.NoError(t, probeErr, "SET+GET probe")
	require.NoError(t, revertErr, "start %s again", replicas[0].Name)
	if rep.FailedReads == 0 {
		t.Skipf(replicaStillUp, rep.Reads)
	}
	for _, problem := range judge.ReplicaDown(r.Catalog, rep.Writes, rep.FailedWrites) {
		t.Error(problem)
	}
	return ctx
}

// assessKilledRestarted kills the first instance of role; Kill's revert is the
// bounded wait for a new process (sandbox: a new pid from its supervisor; kube: a new
// pod of the same name, new UID, Ready) and a healthy deployment.
func assessKilledRestarted(role string) func(context.Context, *testing.T, *envconf.Config) context.Context {
	return func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
		r := harness.From(ctx)
		victims := harness.Endpoints(ctx, t).ByRole(role)
		require.NotEmpty(t, victims, "no %s instance", role)
		victim := victims[0]
		before, err := r.Target.Restarts(ctx, victim.Name)
		require.NoError(t, err)
		killed := time.Now()
		revert, err := r.Target.Kill(ctx, victim.Name)
		require.NoError(t, err, "kill %s", victim.Name)
		t.Cleanup(func() { harness.MustRevert(t, ctx, victim.Name+" back", revert) })
		err = harness.Revert(ctx, revert)
		back := time.Since(killed)
		after, restartsErr := r.Target.Restarts(ctx, victim.Name)
		r.Figures(t, evidence.Figure{Name: victim.Name + " running and healthy again after", Value: back.Seconds(), Unit: "s"})
		r.Note(t, "%s (pod %s) killed by the %s target (sandbox: SIGKILL, its supervisor restarts it; kube: the pod deleted with grace 0, its StatefulSet recreates it); back once a new process runs and the deployment is healthy", victim.Name, victim.Pod, r.Target.Name())
		require.NoError(t, err, "%s did not come back", victim.Name)
		require.NoError(t, restartsErr)
		assert.NotEqual(t, before.Pid, after.Pid, "%s runs the same process (pod): it was not restarted", victim.Name)
		harness.Holds(t, "FR-010", r.Bound(t, "FR-010", "restart_within"), back.Seconds())
		return ctx
	}
}

// assessHungRestarted freezes the replica (freezing the master would also fail the
// replica's liveness probe, which pings its master too, and stop beersystem's
// writes): only its liveness probe can tell, and a new process (sandbox: a new pid;
// kube: the same pod's container restarted) is its restart. Where the platform
// records why (kube: pod status and kubelet events, target.LivenessJudge), the
// restart must be the liveness probe's, of the same pod.
func assessHungRestarted(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r := harness.From(ctx)
	bound := r.Bound(t, "FR-010", "restart_within")
	replicas := harness.Endpoints(ctx, t).ByRole(target.RoleReplica)
	require.NotEmpty(t, replicas, "no replica to freeze")
	victim := replicas[0]
	before, err := r.Target.Restarts(ctx, victim.Name)
	require.NoError(t, err)
	frozen := time.Now()
	revert, err := r.Target.Hang(ctx, victim.Name)
	harness.SkipUnsupported(t, "freezing "+victim.Name, err)
	require.NoError(t, err, "freeze %s", victim.Name)
	t.Cleanup(func() { harness.MustRevert(t, ctx, victim.Name+" back", revert) })
	err = harness.WaitFor(ctx, victim.Name+" to be restarted by its liveness probe", harness.Seconds(t, bound), 250*time.Millisecond, func(ctx context.Context) (bool, error) {
		now, err := r.Target.Restarts(ctx, victim.Name)
		return err == nil && now.Pid > 0 && (now.Pid != before.Pid || now.Count > before.Count), nil
	})
	restarted := time.Since(frozen)
	revertErr := harness.Revert(ctx, revert)
	r.Figures(t,
		evidence.Figure{Name: victim.Name + " restarted by the liveness probe after", Value: restarted.Seconds(), Unit: "s"},
		evidence.Figure{Name: victim.Name + " running and healthy again after", Value: time.Since(frozen).Seconds(), Unit: "s"})
	require.NoError(t, err)
	require.NoError(t, revertErr, "%s healthy again", victim.Name)
	if lj, ok := r.Target.(target.LivenessJudge); ok {
		restart, err := lj.LivenessRestart(ctx, victim.Name, frozen)
		r.Figures(t,
			evidence.Figure{Name: "failed liveness probes since the freeze", Value: float64(restart.ProbeFailures), Unit: "count"},
			evidence.Figure{Name: victim.Name + " container restartCount", Value: float64(restart.RestartCount), Unit: "count"})
		r.Note(t, "pod %s: %s; last termination: %s", victim.Pod, orNone(restart.KillEvent), orNone(restart.LastTerminated))
		require.NoError(t, err)
		assert.Empty(t, restart.Problems(), "%s was not restarted by its liveness probe", victim.Pod)
	}
	harness.Holds(t, "FR-010", bound, restarted.Seconds())
	return ctx
}

func assessNoAckedWriteLost(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r := harness.From(ctx)
	ep := harness.Endpoints(ctx, t)
	out, probeErr, killErr, revert := killDuring(ctx, t, r, durabilityRequest(r, ep, ledgerRun))
	revertErr := harness.Revert(ctx, revert)
	var rep probe.DurabilityReport
	if out.Durability != nil {
		rep = *out.Durability
	}
	r.Figures(t,
		evidence.Figure{Name: "lost acknowledged writes", Value: float64(rep.Lost), Unit: "count"},
		evidence.Figure{Name: "acknowledged writes", Value: float64(rep.Acknowledged), Unit: "count"},
		evidence.Figure{Name: "keys written", Value: float64(rep.Keys), Unit: "count"},
		evidence.Figure{Name: "failed writes", Value: float64(rep.FailedWrites), Unit: "count"},
		evidence.Figure{Name: "writer reconnects", Value: float64(rep.Reconnects), Unit: "count"},
		evidence.Figure{Name: "keys evicted during the check", Value: float64(rep.EvictedKeys), Unit: "count"},
		evidence.Figure{Name: "value size", Value: ledgerValueSize, Unit: "bytes"})
	r.Note(t, "%s: %d writers pipelining %d SETs of %d-byte values, each over its own %d keys, for %s; the master killed after %s (%s target); the last acknowledged value of every key read back with MGET once the master answered again (a later write whose reply never came is accepted too); aof_enabled %q", out.Vantage, ledgerWriters, ledgerPipeline, ledgerValueSize, ledgerKeysPerWriter, ledgerRun, warmUp, r.Target.Name(), rep.AOFEnabled)
	if len(rep.LostSample) > 0 {
		r.Note(t, "first lost keys: %v", rep.LostSample)
	}
	require.NoError(t, killErr, "kill the master")
	require.NoError(t, probeErr, "durability probe")
	require.NoError(t, revertErr, "the master back")
	// An eviction (maxmemory) reads back like a loss: such a run proves nothing.
	require.Zero(t, rep.EvictedKeys, "keys were evicted during the check, so missing keys cannot be told from lost ones")
	// A loss is a loss even when no write failed (the kill can land after the last
	// write): only a run that saw neither proves nothing.
	if rep.FailedWrites == 0 && rep.Lost == 0 {
		t.Skipf(noDisruption, rep.Acknowledged, "SC-007 and FR-007")
	}
	require.NotZero(t, rep.Acknowledged, "no write was acknowledged before the kill")
	harness.Holds(t, "SC-007", r.Threshold(t, "SC-007"), float64(rep.Lost))
	return ctx
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
