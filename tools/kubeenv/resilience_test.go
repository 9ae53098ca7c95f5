package kubeenv

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

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
func runResilience(t *testing.T, ctx context.Context, root, kubeconfig, probeBin, probeDir string) {
	suiteBin := filepath.Join(t.TempDir(), "resilience.test")
	build := exec.CommandContext(ctx, "go", "test", "-c", "-o", suiteBin, "./suites/resilience")
	build.Dir = root
	out, err := build.CombinedOutput()
	require.NoError(t, err, "build suites/resilience: %s", out)
	suite := resilienceSuite{root: root, bin: suiteBin, args: []string{"--disruptive",
		"--target=kube", "--kubeconfig=" + kubeconfig, "--probe-bin=" + probeBin, "--probe-dir=" + probeDir}}
	const (
		masterFailure  = "TestInstanceFailure/master_failure"
		replicaFailure = "TestInstanceFailure/replica_failure"
		restart        = "TestInstanceFailure/automatic_restart_of_a_failed_instance"
		ledger         = "TestDurability/acknowledged_writes_survive_a_master_kill"
	)

	// FR-010's kills pass; its hang skips (kwok runs no liveness probe), so the
	// feature is a skip, never a pass.
	killed := []string{restart + "/a_killed_master_runs_again_within_the_catalog_bound", restart + "/a_killed_replica_runs_again_within_the_catalog_bound"}
	run, records := suite.run(t, ctx)
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

	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	require.NoError(t, err)
	cs, err := kubernetes.NewForConfig(cfg)
	require.NoError(t, err)
	dyn, err := dynamic.NewForConfig(cfg)
	require.NoError(t, err)
	secret, err := cs.CoreV1().Secrets(project.Namespace).Get(ctx, project.AuthSecret, metav1.GetOptions{})
	require.NoError(t, err)
	password := string(secret.Data[project.AuthPasswordKey])

	t.Run("data path wired to the master pod, appendfsync always", func(t *testing.T) {
		wireDataPath(t, ctx, cs, dyn, probeDir, password, "appendonly yes", "appendfsync always")
		run, records := suite.run(t, ctx, "-test.run=^(TestInstanceFailure|TestDurability)$/^(master_failure|automatic_restart_of_a_failed_instance|acknowledged_writes_survive_a_master_kill)$")
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
		run, records := suite.run(t, ctx, "-test.run=^TestDurability$")
		o := run.status(t, ledger)
		assert.Equal(t, report.StatusFail, o.Status, "SC-007 without persistence: %v", o.Messages)
		assert.Positive(t, figuresByName(t, records)["lost acknowledged writes"])
	})
}

type resilienceSuite struct {
	root, bin string
	args      []string
}

type suiteRun struct {
	*report.TestRun
	stdout string
}

func (r suiteRun) status(t *testing.T, name string) report.TestOutcome {
	t.Helper()
	o, ok := r.Lookup(name)
	require.True(t, ok, "%s did not run; output:\n%s", name, r.stdout)
	t.Logf("%s: %s %v", name, o.Status, o.Messages)
	return o
}

// run runs the suite binary through test2json and reads its outcomes and evidence.
func (s resilienceSuite) run(t *testing.T, ctx context.Context, extra ...string) (suiteRun, []evidence.Record) {
	t.Helper()
	evidencePath := filepath.Join(t.TempDir(), "evidence.jsonl")
	args := append([]string{"tool", "test2json", "-p", "github.com/redis-shared/conformance/suites/resilience",
		s.bin, "-test.v=test2json", "-test.count=1", "-test.timeout=10m"}, extra...)
	args = append(append(args, s.args...), "--evidence="+evidencePath)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = filepath.Join(s.root, "suites", "resilience")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	began := time.Now()
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit, "suites/resilience: %s", stderr.String())
	}
	t.Logf("suites/resilience --target kube --disruptive %s took %s", strings.Join(extra, " "), time.Since(began).Round(time.Millisecond))
	run, err := report.ParseTestEvents(stdout.Bytes())
	require.NoError(t, err)
	records, err := evidence.ReadFile(evidencePath)
	require.NoError(t, err)
	return suiteRun{TestRun: run, stdout: stdout.String()}, records
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
	replica := startLoopRedis(t, password, "appendonly no", "replicaof "+strings.Replace(master.addr, ":", " ", 1))
	headless := func(pod string) string {
		return pod + "." + project.Release + "-headless." + project.Namespace + ".svc." + project.ClusterDomain
	}
	resolve := []string{
		project.MasterDNSName + "=" + master.addr,
		headless(project.MasterService+"-0") + "=" + master.addr,
		project.ReplicasService + "." + project.Namespace + ".svc." + project.ClusterDomain + "=" + replica.addr,
		headless(project.ReplicasService+"-0") + "=" + replica.addr,
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
func standInKubelet(ctx context.Context, t *testing.T, cs kubernetes.Interface, pod string, srv *loopRedis) {
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
			srv.kill()
			down = true
			t.Logf("stand-in kubelet: pod %s deleted: SIGKILL of the loopback master", pod)
		case down && err == nil && p.UID != uid && podReady(p):
			if err := srv.start(); err != nil {
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

// loopRedis is a real redis-server on a fixed loopback port that can be killed with
// SIGKILL and started again on the same port and data (localredis picks a new port
// on every start).
type loopRedis struct {
	addr, password, conf string
	mu                   sync.Mutex
	cmd                  *exec.Cmd
	done                 chan struct{}
}

func startLoopRedis(t *testing.T, password string, settings ...string) *loopRedis {
	t.Helper()
	if ok, why := localredis.Available(); !ok {
		t.Skip(why)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	dir := t.TempDir()
	conf := strings.Join(append([]string{
		"bind 127.0.0.1", "port " + strconv.Itoa(port), "protected-mode yes", "daemonize no",
		"dir " + dir, "logfile " + filepath.Join(dir, "redis.log"), `save ""`,
		"requirepass " + password, "masterauth " + password,
	}, settings...), "\n") + "\n"
	path := filepath.Join(dir, "redis.conf")
	require.NoError(t, os.WriteFile(path, []byte(conf), 0o600))
	s := &loopRedis{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), password: password, conf: path}
	require.NoError(t, s.start())
	t.Cleanup(s.kill)
	return s
}

// start runs the server and waits (bounded) until it answers PING.
func (s *loopRedis) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cmd := exec.Command(localredis.Binary, s.conf)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done
	c := redis.NewClient(&redis.Options{Addr: s.addr, Password: s.password, DialTimeout: time.Second, ReadTimeout: time.Second, MaxRetries: -1, DisableIdentity: true})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := c.Ping(context.Background()).Err()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond) // polling a local process's start-up
	}
}

// kill ends the server with SIGKILL and waits for it.
func (s *loopRedis) kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Kill()
	<-s.done
}
