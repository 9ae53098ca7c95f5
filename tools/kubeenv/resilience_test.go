package kubeenv

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/redis-shared/conformance/tools/evidence"
	"github.com/redis-shared/conformance/tools/loadgen/localredis"
	"github.com/redis-shared/conformance/tools/project"
	"github.com/redis-shared/conformance/tools/report"
)

// runResilience runs suites/resilience with --target kube --disruptive against the
// local control plane (after TestProbeOnLocalControlPlane set up the ClusterExec that
// runs the probe locally against a loopback redis-server), three times:
//
//  1. as set up: pods deleted with grace 0 are recreated by the real StatefulSet
//     controller and made Ready by kwok (FR-010's kills pass with a measured time; its
//     hang skips: kwok runs no liveness probe); the probe runs in the background
//     across a master pod deletion and its JSON comes back; but the probe's master
//     and replicas are a loopback redis-server no pod deletion or scale-down
//     touches, so SC-002 and SC-007 skip with the reason that nothing was disrupted.
//  2. with the data path wired to the pod: a loopback master (appendfsync always)
//     and a real replica of it behind the master and replica names, and a stand-in
//     for what a kubelet does to a deleted pod's container: SIGKILL of the loopback
//     master when its pod is deleted, a restart (same port and data) when the
//     StatefulSet's new pod is Ready. SC-002 (master failure) and SC-007 are judged
//     and pass.
//  3. the same with persistence off: SC-007 fails (acknowledged writes lost).
func runResilience(t *testing.T, p *localPlane, probeDir string) {
	suite := func(t *testing.T, extra ...string) (suiteRun, []evidence.Record) {
		run := p.runSuite(t, "resilience", probeDir, append(extra, "--disruptive")...)
		return run, run.records
	}
	const (
		masterFailure  = "TestInstanceFailure/master_failure"
		replicaFailure = "TestInstanceFailure/replica_failure"
		restart        = "TestInstanceFailure/automatic_restart_of_a_failed_instance"
		ledger         = "TestDurability/acknowledged_writes_survive_a_master_kill"
	)

	// FR-010's kills pass; its hang skips (kwok runs no liveness probe), so the
	// feature is a skip, never a pass.
	killed := []string{restart + "/a_killed_master_runs_again_within_the_catalog_bound", restart + "/a_killed_replica_runs_again_within_the_catalog_bound"}
	run, records := suite(t)
	for _, name := range killed {
		o := run.status(t, name)
		assert.Equal(t, report.StatusPass, o.Status, "FR-010 on the local control plane: %v", o.Messages)
	}
	hang := run.status(t, restart+"/a_hung_instance_is_restarted_by_its_liveness_probe_within_the_catalog_bound")
	assert.Equal(t, report.StatusSkip, hang.Status, "kwok runs no liveness probe")
	assert.Equal(t, report.StatusSkip, run.status(t, restart).Status)
	for _, name := range []string{masterFailure, replicaFailure, ledger} {
		o := run.status(t, name)
		assert.Equal(t, report.StatusSkip, o.Status, name)
		assert.Contains(t, strings.Join(o.Messages, " "), "did not interrupt the probe's", name)
	}
	figures := figuresByName(t, records)
	for _, name := range []string{"master running and healthy again after", "replica-0 running and healthy again after", "acknowledged writes", "replica reads", "lost acknowledged writes", "keys evicted during the check"} {
		assert.Contains(t, figures, name, "evidence figure recorded")
	}

	ctx, cs, password := p.ctx, p.cs, p.password
	dyn, err := dynamic.NewForConfig(p.env.Config)
	require.NoError(t, err)

	t.Run("data path wired to the master pod, appendfsync always", func(t *testing.T) {
		wireDataPath(t, ctx, cs, dyn, probeDir, password, "appendonly yes", "appendfsync always")
		run, records := suite(t, "-test.run=^(TestInstanceFailure|TestDurability)$/^(master_failure|automatic_restart_of_a_failed_instance|acknowledged_writes_survive_a_master_kill)$")
		for _, name := range append([]string{masterFailure, ledger}, killed...) {
			o := run.status(t, name)
			assert.Equal(t, report.StatusPass, o.Status, "%s: %v", name, o.Messages)
		}
		figures := figuresByName(t, records)
		assert.Positive(t, figures["failed writes"], "the master's SIGKILL interrupted the probe's writes")
		assert.Zero(t, figures["lost acknowledged writes"])
		assert.Zero(t, figures["keys evicted during the check"])
		assert.Zero(t, figures["failed replica reads"])
		assert.Positive(t, figures["master Service answered writes again after"], "the write outage")
	})
	t.Run("data path wired to the master pod, persistence off", func(t *testing.T) {
		wireDataPath(t, ctx, cs, dyn, probeDir, password, "appendonly no")
		run, records := suite(t, "-test.run=^TestDurability$")
		o := run.status(t, ledger)
		assert.Equal(t, report.StatusFail, o.Status, "SC-007 without persistence: %v", o.Messages)
		assert.Positive(t, figuresByName(t, records)["lost acknowledged writes"])
	})
}

// figuresByName logs every figure and returns the last value of each name.
func figuresByName(t *testing.T, records []evidence.Record) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, rec := range records {
		for _, f := range rec.Figures {
			out[f.Name] = f.Value
			t.Logf("evidence %s: %s", rec.Test, f)
		}
	}
	return out
}

// wireDataPath starts a loopback master with settings and a real replica of it,
// points the probe's master and replica names at them (the ClusterExec's resolve
// hook), and runs the stand-in kubelet for the master pod until the test ends.
func wireDataPath(t *testing.T, ctx context.Context, cs kubernetes.Interface, dyn dynamic.Interface, probeDir, password string, settings ...string) {
	t.Helper()
	// No 5 s diskless-sync delay (the default) before the replica has the data.
	master := startLoopRedis(t, password, append(settings, "repl-diskless-sync-delay 0")...)
	replica := startLoopRedis(t, password, "appendonly no", "replicaof "+strings.Replace(master.Addr, ":", " ", 1))
	headless := func(pod string) string {
		return pod + "." + project.Release + "-headless." + project.Namespace + ".svc." + project.ClusterDomain
	}
	resolve := []string{
		project.MasterDNSName + "=" + master.Addr,
		headless(project.MasterService+"-0") + "=" + master.Addr,
		project.ReplicasDNSName + "=" + replica.Addr,
		headless(project.ReplicasService+"-0") + "=" + replica.Addr,
	}
	execs := dyn.Resource(clusterExecResource)
	cur, err := execs.Get(ctx, "redisprobe", metav1.GetOptions{})
	require.NoError(t, err, "the ClusterExec TestProbeOnLocalControlPlane made")
	next := clusterExecResolving(probeDir, password, resolve)
	next.SetResourceVersion(cur.GetResourceVersion())
	_, err = execs.Update(ctx, next, metav1.UpdateOptions{})
	require.NoError(t, err, "point the ClusterExec at the wired master and replica")

	kctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { standInKubelet(kctx, t, cs, project.MasterService+"-0", master) })
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// standInKubelet does to the loopback master what a kubelet does to the container of
// pod: SIGKILL when the pod is deleted (gone, or a new UID), a start when the
// StatefulSet's new pod is Ready.
func standInKubelet(ctx context.Context, t *testing.T, cs kubernetes.Interface, pod string, srv *localredis.Server) {
	pods := cs.CoreV1().Pods(project.Namespace)
	var uid types.UID
	if p, err := pods.Get(ctx, pod, metav1.GetOptions{}); err == nil {
		uid = p.UID
	}
	down := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
		p, err := pods.Get(ctx, pod, metav1.GetOptions{})
		switch {
		case err != nil && !apierrors.IsNotFound(err):
			continue
		case !down && (err != nil || p.UID != uid):
			srv.Kill()
			down = true
			t.Logf("stand-in kubelet: pod %s deleted: SIGKILL of the loopback master", pod)
		case down && err == nil && p.UID != uid && podReady(p):
			if err := srv.Restart(context.Background()); err != nil {
				t.Errorf("stand-in kubelet: restart the loopback master: %v", err)
				return
			}
			uid, down = p.UID, false
			t.Logf("stand-in kubelet: new pod %s Ready: loopback master started again", pod)
		}
	}
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// startLoopRedis starts a real redis-server on loopback that the stand-in kubelet
// can kill with SIGKILL and start again on the same port and data (localredis picks
// a new port only on Start): the settings follow Redis's defaults (no AOF).
func startLoopRedis(t *testing.T, password string, settings ...string) *localredis.Server {
	t.Helper()
	if ok, why := localredis.Available(); !ok {
		t.Skip(why)
	}
	srv, err := localredis.Start(t.Context(), localredis.Options{Dir: t.TempDir(), Password: password,
		Settings: append([]string{"appendonly no", "masterauth " + password}, settings...)})
	require.NoError(t, err)
	t.Cleanup(srv.Kill)
	return srv
}
