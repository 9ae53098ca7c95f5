package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redis-shared/conformance/tools/alerts"
	"github.com/redis-shared/conformance/tools/sandbox"
	"github.com/redis-shared/conformance/tools/values"
)

// envTestSupervise makes the test binary act as the sandbox supervisor (Up re-execs it).
const envTestSupervise = "SANDBOX_TEST_SUPERVISE_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(envTestSupervise); dir != "" {
		if err := sandbox.Supervise(context.Background(), dir); err != nil {
			fmt.Fprintln(os.Stderr, "supervise:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// repoRoot walks up from the package to the directory holding go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, dir, parent, "no go.mod above the test directory")
		dir = parent
	}
}

// loadValues merges the project's homelab helm-values with extra overlays: the
// sandbox under test is built from the same files the chart gets.
func loadValues(t *testing.T, extra ...string) (values.Tree, []string) {
	t.Helper()
	files, err := values.ProjectFiles(repoRoot(t), values.LayeringHomelab)
	require.NoError(t, err)
	files = append(files, extra...)
	tree, err := values.LoadFiles(files...)
	require.NoError(t, err)
	return tree, files
}

// testSupervisor re-runs this test binary as the supervisor (see TestMain).
func testSupervisor(dir string) (*exec.Cmd, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envTestSupervise+"="+dir)
	return cmd, nil
}

type testSandbox struct {
	*sandbox.State
	cfg sandbox.Config
}

// upSandbox brings a sandbox up from the values and registers its teardown and the
// check that nothing of it is left.
func upSandbox(t *testing.T, extra ...string) *testSandbox {
	t.Helper()
	if err := sandbox.CheckPrivileges(); err != nil {
		t.Skipf("sandbox tests need root: %v", err)
	}
	tree, files := loadValues(t, extra...)
	cfg, err := sandbox.ConfigFromValues(tree)
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "state")
	ctx := t.Context()

	start := time.Now()
	st, err := sandbox.Up(ctx, cfg, sandbox.Options{
		StateDir:          dir,
		ValuesFiles:       files,
		SupervisorCommand: testSupervisor,
	})
	require.NoError(t, err)
	t.Logf("sandbox %s up in %s (%d instances, metrics %v)", st.ID, time.Since(start).Round(time.Millisecond), len(st.Instances), st.Prometheus != nil)
	t.Cleanup(func() {
		var pids []int
		if fresh, err := st.Refresh(); err == nil {
			pids = processIDs(fresh)
		}
		start := time.Now()
		err := sandbox.Down(context.Background(), dir)
		t.Logf("sandbox %s down in %s", st.ID, time.Since(start).Round(time.Millisecond))
		require.NoError(t, err)
		assertNothingLeft(t, st.ID, dir)
		waitProcessesGone(t, pids)
	})
	return &testSandbox{State: st, cfg: cfg}
}

// waitProcessesGone waits until none of pids runs; a zombie waiting for init to reap
// it counts as gone.
func waitProcessesGone(t *testing.T, pids []int) {
	t.Helper()
	for _, pid := range pids {
		waitUntil(t, 2*time.Second, fmt.Sprintf("process %d of the sandbox to be gone", pid), func() error {
			if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && !strings.Contains(string(stat), ") Z ") {
				return fmt.Errorf("process %d is still running: %s", pid, stat)
			}
			return nil
		})
	}
}

// processIDs lists every process the state names: supervisor, servers, exporters, Prometheus.
func processIDs(st *sandbox.State) []int {
	pids := []int{st.Supervisor.Pid}
	for _, inst := range st.Instances {
		pids = append(pids, inst.Redis.Pid)
		if inst.Exporter != nil {
			pids = append(pids, inst.Exporter.Pid)
		}
	}
	if st.Prometheus != nil {
		pids = append(pids, st.Prometheus.Process.Pid)
	}
	if st.OldRedis != nil {
		pids = append(pids, st.OldRedis.Redis.Pid)
	}
	var running []int
	for _, pid := range pids {
		if pid > 0 {
			running = append(running, pid)
		}
	}
	return running
}

// assertNothingLeft checks that no namespace, process, nftables table, state file or
// registry entry of sandbox id remains.
func assertNothingLeft(t *testing.T, id, dir string) {
	t.Helper()
	prefix := "rsc-" + id + "-"
	entries, err := os.ReadDir("/run/netns")
	if !errors.Is(err, os.ErrNotExist) {
		require.NoError(t, err)
	}
	for _, e := range entries {
		assert.False(t, strings.HasPrefix(e.Name(), prefix), "network namespace %s is left", e.Name())
	}
	procs, err := os.ReadDir("/proc")
	require.NoError(t, err)
	for _, p := range procs {
		env, err := os.ReadFile(filepath.Join("/proc", p.Name(), "environ"))
		if err != nil {
			continue
		}
		for _, entry := range strings.Split(string(env), "\x00") {
			assert.NotEqual(t, sandbox.EnvSupervisorID+"="+id, entry, "supervisor process %s is left", p.Name())
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", p.Name(), "cmdline"))
		assert.NotContains(t, string(cmdline), dir, "process %s still uses the state dir", p.Name())
	}
	conn, err := nftables.New()
	require.NoError(t, err)
	tables, err := conn.ListTables()
	require.NoError(t, err)
	for _, table := range tables {
		assert.NotEqual(t, "rsc-"+id, table.Name, "nftables table is left in the host namespace")
	}
	_, err = os.Stat(filepath.Join(dir, "state.json"))
	assert.ErrorIs(t, err, os.ErrNotExist, "state file is left")
	_, err = os.Stat(filepath.Join("/run/redis-shared-sandbox-registry", id+".lock"))
	assert.ErrorIs(t, err, os.ErrNotExist, "registry entry is left")
}

func (s *testSandbox) client(t *testing.T, vantage, addr, password string) *redis.Client {
	t.Helper()
	opts, err := s.RedisOptions(vantage, addr)
	require.NoError(t, err)
	opts.Password = password
	client := redis.NewClient(opts)
	t.Cleanup(func() { _ = client.Close() })
	return client
}

func (s *testSandbox) password(t *testing.T) string {
	t.Helper()
	pw, err := s.Password()
	require.NoError(t, err)
	return pw
}

func (s *testSandbox) instance(t *testing.T, name string) sandbox.Instance {
	t.Helper()
	inst, err := s.Instance(name)
	require.NoError(t, err)
	return inst
}

// waitUntil polls cond every 100 ms until it holds or timeout passes.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for {
		if err = cond(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			require.NoError(t, err, "waited %s for %s", timeout, what)
		}
		select {
		case <-t.Context().Done():
			require.NoError(t, t.Context().Err(), "waiting for %s", what)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// requireTimeout asserts that dialing addr from the vantage point times out (the
// SYN is dropped), rather than being refused or answered.
func (s *testSandbox) requireTimeout(t *testing.T, vantage, addr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
	defer cancel()
	conn, err := s.Dialer(vantage)(ctx, "tcp", addr)
	if conn != nil {
		_ = conn.Close()
	}
	require.Error(t, err, "%s reached %s", vantage, addr)
	var netErr net.Error
	timedOut := errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout())
	require.True(t, timedOut, "want a timeout from %s to %s, got %v", vantage, addr, err)
}

// waitAOFWritten waits until the instance has handed its AOF buffer to the kernel,
// so a kill -9 (not a power cut) cannot lose what was acknowledged so far.
func waitAOFWritten(t *testing.T, client *redis.Client) {
	t.Helper()
	waitUntil(t, 5*time.Second, "the AOF buffer to be written", func() error {
		info := client.InfoMap(t.Context(), "persistence")
		if err := info.Err(); err != nil {
			return err
		}
		for field, want := range map[string]string{"aof_enabled": "1", "aof_buffer_length": "0", "aof_pending_bio_fsync": "0"} {
			if got := info.Item("Persistence", field); got != want {
				return fmt.Errorf("INFO persistence has %s:%s, want %s", field, got, want)
			}
		}
		return nil
	})
}

func TestSandboxFromProjectValues(t *testing.T) {
	s := upSandbox(t)
	require.NotNil(t, s.LoadBalancer, "lanService.enabled must give the sandbox a LoadBalancer")
	lb := s.LoadBalancer.Addr
	master := s.instance(t, "master")
	pw := s.password(t)

	t.Run("LAN host sets and gets through the LoadBalancer IP", func(t *testing.T) {
		client := s.client(t, sandbox.VantageLAN, lb, pw)
		require.NoError(t, client.Set(t.Context(), "sandbox:lan", "hello", time.Minute).Err())
		got, err := client.Get(t.Context(), "sandbox:lan").Result()
		require.NoError(t, err)
		assert.Equal(t, "hello", got)
	})
	t.Run("outside host times out at the LoadBalancer IP", func(t *testing.T) {
		s.requireTimeout(t, sandbox.VantageOutside, lb)
	})
	t.Run("cluster pod outside the source ranges is dropped at the LoadBalancer IP too", func(t *testing.T) {
		for _, r := range s.LoadBalancer.SourceRanges {
			if strings.HasPrefix(r, "0.0.0.0/") || strings.HasPrefix(r, "10.") {
				t.Skipf("source range %s admits the cluster client", r)
			}
		}
		s.requireTimeout(t, sandbox.VantageCluster, lb)
	})
	t.Run("no password is refused with NOAUTH", func(t *testing.T) {
		require.True(t, s.AuthEnabled, "auth.enabled must be true in the values")
		err := s.client(t, sandbox.VantageLAN, lb, "").Get(t.Context(), "sandbox:lan").Err()
		require.Error(t, err)
		assert.Contains(t, err.Error(), "NOAUTH")
	})
	t.Run("wrong password is refused with WRONGPASS", func(t *testing.T) {
		err := s.client(t, sandbox.VantageLAN, lb, "not-the-password").Ping(t.Context()).Err()
		require.Error(t, err)
		assert.Contains(t, err.Error(), "WRONGPASS")
	})
	t.Run("a write on the master is readable on every replica", func(t *testing.T) {
		require.NotEmpty(t, s.Replicas(), "the values must ask for replicas")
		require.NoError(t, s.WaitHealthy(t.Context(), sandbox.CheckOptions{}, 20*time.Second))
		key := fmt.Sprintf("sandbox:repl:%d", time.Now().UnixNano())
		require.NoError(t, s.client(t, sandbox.VantageCluster, master.Addr, pw).Set(t.Context(), key, "replicated", time.Minute).Err())
		for _, replica := range s.Replicas() {
			client := s.client(t, sandbox.VantageCluster, replica.Addr, pw)
			waitUntil(t, 5*time.Second, "the write to reach "+replica.Name, func() error {
				got, err := client.Get(t.Context(), key).Result()
				if err != nil {
					return err
				}
				if got != "replicated" {
					return fmt.Errorf("%s has %q", replica.Name, got)
				}
				return nil
			})
		}
	})
	t.Run("each exporter reports its instance", func(t *testing.T) {
		require.True(t, s.cfg.Metrics.Enabled, "metrics.enabled must be true in the values")
		httpClient := s.HTTPClient(sandbox.VantageCluster)
		for _, inst := range s.Instances {
			resp, err := httpClient.Get("http://" + inst.ExporterAddr + "/metrics")
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, errors.Join(err, resp.Body.Close()))
			assert.Contains(t, string(body), "\nredis_up 1\n", inst.Name)
			wantRole := map[string]string{"master": "master", "replica": "slave"}[inst.Role]
			assert.Contains(t, string(body), `role="`+wantRole+`"`, inst.Name)
		}
	})
	t.Run("StopExporter keeps the exporter down until reverted", func(t *testing.T) {
		httpClient := s.HTTPClient(sandbox.VantageCluster)
		revert, err := s.StopExporter(t.Context(), "master", 10*time.Second)
		require.NoError(t, err)
		_, err = httpClient.Get("http://" + master.ExporterAddr + "/metrics")
		assert.Error(t, err, "a held exporter must not answer")
		require.NoError(t, revert(t.Context()))
		waitUntil(t, 5*time.Second, "the exporter to answer again", func() error {
			resp, err := httpClient.Get("http://" + master.ExporterAddr + "/metrics")
			if err == nil {
				err = resp.Body.Close()
			}
			return err
		})
	})
	t.Run("prometheus scrapes every exporter and has the rules loaded", func(t *testing.T) {
		require.NotNil(t, s.Prometheus)
		interval, err := time.ParseDuration(s.cfg.Metrics.Interval)
		require.NoError(t, err)
		waitUntil(t, 3*interval+10*time.Second, "every target to be up", func() error {
			targets, err := s.PrometheusTargets(t.Context())
			if err != nil {
				return err
			}
			if len(targets) != len(s.Instances) {
				return fmt.Errorf("%d targets, want %d", len(targets), len(s.Instances))
			}
			for _, target := range targets {
				if target.Health != "up" {
					return fmt.Errorf("target %s is %s (%s)", target.Labels["pod"], target.Health, target.LastError)
				}
			}
			return nil
		})
		rules, err := s.PrometheusRules(t.Context())
		require.NoError(t, err)
		ruleFile, err := alerts.ParseFile(s.cfg.Metrics.RuleFile)
		require.NoError(t, err)
		var want []string
		for _, group := range ruleFile.Groups {
			for _, rule := range group.Rules {
				want = append(want, rule.Name())
			}
		}
		require.NotEmpty(t, want, "the values must define PrometheusRule rules")
		var loaded []string
		for _, rule := range rules {
			loaded = append(loaded, rule.Name)
		}
		assert.ElementsMatch(t, want, loaded)
		for _, rule := range rules {
			assert.Equal(t, "ok", rule.Health, rule.Name)
		}
	})
	t.Run("kill -9 of the master: restarted, and with persistence the data is back", func(t *testing.T) {
		require.True(t, master.Persistence, "master.persistence.enabled must be true in the values")
		client := s.client(t, sandbox.VantageCluster, master.Addr, pw)
		require.NoError(t, client.Set(t.Context(), "sandbox:durable", "kept", 0).Err())
		waitAOFWritten(t, client)

		killed := time.Now()
		pid, err := s.Kill("master", syscall.SIGKILL)
		require.NoError(t, err)
		restarted, err := s.WaitRestarted(t.Context(), "master", pid, 15*time.Second)
		require.NoError(t, err)
		t.Logf("master pid %d killed, pid %d answers after %s", pid, restarted.Redis.Pid, time.Since(killed).Round(time.Millisecond))
		assert.Equal(t, 1, restarted.Redis.Restarts)
		require.NotNil(t, restarted.Redis.LastExit)
		assert.Equal(t, sandbox.ExitReasonExited, restarted.Redis.LastExit.Reason)

		got, err := s.client(t, sandbox.VantageCluster, master.Addr, pw).Get(t.Context(), "sandbox:durable").Result()
		require.NoError(t, err)
		assert.Equal(t, "kept", got)
	})
	t.Run("old beersystem Redis: own password, served under its Service name", func(t *testing.T) {
		require.NotNil(t, s.OldRedis)
		assert.Equal(t, []string{s.OldRedis.Addr}, s.Services["beersystem-redis.beersystem.svc.cluster.local"])
		oldPw, err := s.OldRedisPassword()
		require.NoError(t, err)
		assert.NotEqual(t, pw, oldPw, "the old Redis has a password of its own")
		old := s.client(t, sandbox.VantageCluster, s.OldRedis.Addr, oldPw)
		require.NoError(t, old.Set(t.Context(), "sandbox:old", "x", time.Minute).Err())
		err = s.client(t, sandbox.VantageCluster, s.OldRedis.Addr, pw).Ping(t.Context()).Err()
		require.Error(t, err)
		assert.Contains(t, err.Error(), "WRONGPASS", "the shared password does not open the old Redis")
		report := s.Check(t.Context(), sandbox.CheckOptions{})
		require.NotNil(t, report.OldRedis)
		assert.Empty(t, report.OldRedis.Problems)
	})
	t.Run("a process started in the app pod reaches the master and the old Redis", func(t *testing.T) {
		require.NotNil(t, s.App)
		oldPw, err := s.OldRedisPassword()
		require.NoError(t, err)
		for _, server := range []struct{ addr, password string }{{master.Addr, pw}, {s.OldRedis.Addr, oldPw}} {
			host, port, _ := strings.Cut(server.addr, ":")
			cmd := exec.Command("redis-cli", "-h", host, "-p", port, "--no-auth-warning", "CLIENT", "LIST")
			// REDISCLI_AUTH: the password stays out of the command line.
			cmd.Env = []string{"PATH=/usr/bin:/bin", "REDISCLI_AUTH=" + server.password}
			var out strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &out
			require.NoError(t, s.StartApp(cmd))
			require.NoError(t, cmd.Wait(), out.String())
			assert.Contains(t, out.String(), "addr="+s.App.IP+":", "the app pod connects from its own IP")
		}
	})
	t.Run("decommission: StopOldRedis holds it down, Revert brings it back empty", func(t *testing.T) {
		oldPw, err := s.OldRedisPassword()
		require.NoError(t, err)
		revert, err := s.StopOldRedis(t.Context(), 15*time.Second)
		require.NoError(t, err)
		fresh, err := s.Refresh()
		require.NoError(t, err)
		assert.True(t, fresh.OldRedis.Redis.Held)
		assert.Contains(t, strings.Join(fresh.Check(t.Context(), sandbox.CheckOptions{}).Problems(), "; "), "beersystem-redis: held down")
		require.NoError(t, revert(t.Context()))
		err = s.client(t, sandbox.VantageCluster, s.OldRedis.Addr, oldPw).Get(t.Context(), "sandbox:old").Err()
		assert.ErrorIs(t, err, redis.Nil, "no persistence: the old Redis starts empty")
	})
}

func TestSandboxEphemeralAndOpenToEveryone(t *testing.T) {
	s := upSandbox(t, filepath.Join("testdata", "ephemeral.yaml"))
	require.NotNil(t, s.LoadBalancer)
	require.Equal(t, []string{"0.0.0.0/0"}, s.LoadBalancer.SourceRanges)
	require.Nil(t, s.Prometheus, "metrics.enabled false runs no Prometheus")
	master := s.instance(t, "master")
	pw := s.password(t)

	t.Run("source ranges 0.0.0.0/0 let the outside host in", func(t *testing.T) {
		client := s.client(t, sandbox.VantageOutside, s.LoadBalancer.Addr, pw)
		require.NoError(t, client.Set(t.Context(), "sandbox:outside", "in", time.Minute).Err())
		got, err := client.Get(t.Context(), "sandbox:outside").Result()
		require.NoError(t, err)
		assert.Equal(t, "in", got)
	})
	t.Run("kill -9 of the master without persistence: restarted empty", func(t *testing.T) {
		require.False(t, master.Persistence)
		client := s.client(t, sandbox.VantageCluster, master.Addr, pw)
		require.NoError(t, client.Set(t.Context(), "sandbox:ephemeral", "lost", 0).Err())
		waitAOFWritten(t, client)

		pid, err := s.Kill("master", syscall.SIGKILL)
		require.NoError(t, err)
		_, err = s.WaitRestarted(t.Context(), "master", pid, 15*time.Second)
		require.NoError(t, err)
		err = s.client(t, sandbox.VantageCluster, master.Addr, pw).Get(t.Context(), "sandbox:ephemeral").Err()
		assert.ErrorIs(t, err, redis.Nil, "the emptyDir must be wiped on restart")
	})
	t.Run("a hung replica is restarted by the liveness probe", func(t *testing.T) {
		replica := s.instance(t, "replica-0")
		frozen := time.Now()
		pid, revert, err := s.Freeze("replica-0")
		require.NoError(t, err)
		t.Cleanup(func() { assert.NoError(t, revert(context.Background())) })
		live := replica.Liveness
		budget := time.Duration(live.InitialDelaySeconds+live.PeriodSeconds*(live.FailureThreshold+1)+live.TimeoutSeconds*live.FailureThreshold)*time.Second + 5*time.Second
		restarted, err := s.WaitRestarted(t.Context(), "replica-0", pid, budget)
		require.NoError(t, err)
		t.Logf("hung replica restarted after %s (period %ds x threshold %d)", time.Since(frozen).Round(time.Millisecond), live.PeriodSeconds, live.FailureThreshold)
		require.NotNil(t, restarted.Redis.LastExit)
		assert.Equal(t, sandbox.ExitReasonLiveness, restarted.Redis.LastExit.Reason)
	})
	t.Run("Stop keeps the master down until reverted", func(t *testing.T) {
		revert, err := s.Stop(t.Context(), "master", 10*time.Second)
		require.NoError(t, err)
		err = s.client(t, sandbox.VantageCluster, master.Addr, pw).Ping(t.Context()).Err()
		assert.Error(t, err, "a held master must not answer")
		require.NoError(t, revert(t.Context()))
		require.NoError(t, s.client(t, sandbox.VantageCluster, master.Addr, pw).Ping(t.Context()).Err())
	})
}

// A crashed run (supervisor killed, state file lost) is found by its name prefix and
// removed by the next `down`.
func TestSandboxDownRemovesCrashedRun(t *testing.T) {
	s := upSandbox(t, filepath.Join("testdata", "ephemeral.yaml"))
	_, err := sandbox.Up(t.Context(), s.cfg, sandbox.Options{StateDir: s.Dir, SupervisorCommand: testSupervisor})
	require.ErrorIs(t, err, sandbox.ErrAlreadyUp, "a second up on a live state dir")

	fresh, err := s.Refresh()
	require.NoError(t, err)
	pids := processIDs(fresh)
	require.NoError(t, syscall.Kill(s.Supervisor.Pid, syscall.SIGKILL))
	// The lock it held is released only once the kernel has finished the process.
	waitUntil(t, 5*time.Second, "the killed supervisor to be gone", func() error {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", s.Supervisor.Pid)); err == nil {
			return fmt.Errorf("supervisor %d still exists", s.Supervisor.Pid)
		}
		return nil
	})
	require.NoError(t, os.Remove(filepath.Join(s.Dir, "state.json")))
	start := time.Now()
	require.NoError(t, sandbox.Down(t.Context(), filepath.Join(t.TempDir(), "elsewhere")))
	t.Logf("crashed sandbox %s swept in %s", s.ID, time.Since(start).Round(time.Millisecond))
	assertNothingLeft(t, s.ID, s.Dir)
	waitProcessesGone(t, pids)
	require.NoError(t, sandbox.Down(t.Context(), s.Dir), "down twice is fine")
}

// A value that breaks redis-server breaks the sandbox: up fails fast, says why, and
// removes what it had made.
func TestSandboxUpFailsOnAValueRedisRejects(t *testing.T) {
	if err := sandbox.CheckPrivileges(); err != nil {
		t.Skipf("sandbox tests need root: %v", err)
	}
	tree, _ := loadValues(t, filepath.Join("testdata", "unknown-directive.yaml"))
	cfg, err := sandbox.ConfigFromValues(tree)
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "state")
	start := time.Now()
	_, err = sandbox.Up(t.Context(), cfg, sandbox.Options{StateDir: dir, SupervisorCommand: testSupervisor})
	require.Error(t, err)
	t.Logf("up failed after %s: %v", time.Since(start).Round(time.Millisecond), err)
	assert.Contains(t, err.Error(), "exited during start-up")
	assert.Contains(t, err.Error(), "no-such-directive")
	id := regexp.MustCompile(`sandbox ([0-9a-f]{6}) did not come up`).FindStringSubmatch(err.Error())
	require.Len(t, id, 2, "the error names the sandbox")
	assertNothingLeft(t, id[1], dir)
}
