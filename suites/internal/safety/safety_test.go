// Package safety proves that a run of the live suites is safe against production
// (DESIGN §6) on a real sandbox: it watches a non-disruptive run with MONITOR, greps
// every artifact for the password, and interrupts a disruptive check with SIGINT.
// It needs root (network namespaces) and the conform binary: `make test-suites-safety`.
package safety

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redis-shared/conformance/tools/loadgen"
	"github.com/redis-shared/conformance/tools/probe"
	"github.com/redis-shared/conformance/tools/project"
	"github.com/redis-shared/conformance/tools/sandbox"
	"github.com/redis-shared/conformance/tools/target"
)

// conformBin is the conform binary that brings the sandbox up and renders reports.
var conformBin = flag.String("conform", "", "path of the conform binary (make test-suites-safety passes bin/conform)")

func TestMain(m *testing.M) {
	flag.Parse()
	if *conformBin == "" {
		fmt.Println("safety: skipped: no --conform binary given; the safety tests need a sandbox (run make test-suites-safety)")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func randomID(t *testing.T) string {
	t.Helper()
	var raw [4]byte
	_, err := rand.Read(raw[:])
	require.NoError(t, err)
	return hex.EncodeToString(raw[:])
}

// sandboxUp brings a sandbox up in a fresh state dir and takes it down at the end.
func sandboxUp(t *testing.T) (string, *sandbox.State) {
	t.Helper()
	dir := filepath.Join("/run", "redis-shared-safety-"+randomID(t))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, *conformBin, "sandbox", "up", "--state-dir", dir).CombinedOutput()
	require.NoError(t, err, "conform sandbox up: %s", out)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if out, err := exec.CommandContext(ctx, *conformBin, "sandbox", "down", "--state-dir", dir).CombinedOutput(); err != nil {
			t.Errorf("conform sandbox down: %v: %s", err, out)
		}
	})
	st, err := sandbox.LoadState(dir)
	require.NoError(t, err)
	return dir, st
}

// monitor streams MONITOR output of one instance into parsed commands.
type monitor struct {
	conn  net.Conn
	mu    sync.Mutex
	cmds  map[string]probe.MonitorCommand // one example per distinct shape
	lines int
	bad   []string
	done  chan struct{}
}

func startMonitor(t *testing.T, st *sandbox.State, addr string) *monitor {
	t.Helper()
	password, err := st.Password()
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := st.Dialer(sandbox.VantageCluster)(ctx, "tcp", addr)
	require.NoError(t, err, "dial %s for MONITOR", addr)
	m := &monitor{conn: conn, cmds: map[string]probe.MonitorCommand{}, done: make(chan struct{})}
	reader := bufio.NewReaderSize(conn, 1<<20)
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	_, err = conn.Write(loadgen.AppendCommand(loadgen.AppendCommand(nil, "AUTH", password), "MONITOR"))
	require.NoError(t, err)
	for _, what := range []string{"AUTH", "MONITOR"} {
		reply, err := loadgen.ReadReply(reader)
		require.NoError(t, err, what)
		require.False(t, reply.IsError(), "%s: %s", what, reply.Text)
	}
	_ = conn.SetDeadline(time.Time{}) // the stream ends when the test closes the conn
	go func() {
		defer close(m.done)
		for {
			reply, err := loadgen.ReadReply(reader)
			if err != nil {
				return
			}
			cmd, err := probe.ParseMonitorLine(reply.Text)
			m.mu.Lock()
			m.lines++
			if err != nil {
				m.bad = append(m.bad, err.Error())
			} else {
				shape := cmd.Name + " " + strings.Join(cmd.Args, " ")
				if len(m.cmds) < 200_000 {
					m.cmds[shape] = cmd
				}
			}
			m.mu.Unlock()
		}
	}()
	return m
}

func (m *monitor) stop() []probe.MonitorCommand {
	_ = m.conn.Close()
	<-m.done
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]probe.MonitorCommand, 0, len(m.cmds))
	for _, c := range m.cmds {
		out = append(out, c)
	}
	return out
}

func keySpecs(ctx context.Context, t *testing.T, tgt target.Target, addr string) map[string]probe.KeySpec {
	t.Helper()
	client, err := tgt.Client(target.Cluster, addr, target.Valid)
	require.NoError(t, err)
	defer client.Close()
	infos, err := client.Command(ctx).Result()
	require.NoError(t, err, "COMMAND")
	specs := map[string]probe.KeySpec{}
	for name, info := range infos {
		specs[strings.ToUpper(name)] = probe.KeySpec{First: int(info.FirstKeyPos), Last: int(info.LastKeyPos), Step: int(info.StepCount)}
	}
	return specs
}

func suitePackages(t *testing.T, root string) []string {
	t.Helper()
	list := exec.Command("go", "list", "./suites/...")
	list.Dir = root
	out, err := list.Output()
	require.NoError(t, err)
	var pkgs []string
	for _, p := range strings.Fields(string(out)) {
		if !strings.Contains(p, "/suites/internal/") {
			pkgs = append(pkgs, p)
		}
	}
	require.NotEmpty(t, pkgs, "no suite packages under %s/suites", root)
	return pkgs
}

func TestNonDisruptiveRunIsSafe(t *testing.T) {
	root, err := project.Root()
	require.NoError(t, err)
	dir, st := sandboxUp(t)
	tgt, err := target.OpenSandbox(dir)
	require.NoError(t, err)
	ep, err := tgt.Endpoints(context.Background())
	require.NoError(t, err)
	var monitors []*monitor
	for _, inst := range ep.Instances {
		monitors = append(monitors, startMonitor(t, st, inst.Addr))
	}

	runID := "safety" + randomID(t)
	artifacts := t.TempDir()
	testsJSON := filepath.Join(artifacts, "tests.json")
	evidenceFile := filepath.Join(artifacts, "evidence.jsonl")
	// Every non-disruptive check but two, which keeps make test short: SC-006's 45 s
	// of load, whose commands are the generator's SET/GET that SC-001 already sends,
	// and TestMetrics (SC-005 watches for 60 s), which asks Prometheus and sends Redis
	// nothing.
	args := append([]string{"test", "-count=1", "-p", "1", "-json", "-timeout", "10m", "-skip", "^(TestThroughput|TestMetrics)$"}, suitePackages(t, root)...)
	args = append(args, "-args", "--target=sandbox", "--state-dir="+dir, "--evidence="+evidenceFile, "--run-id="+runID)
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	run := exec.CommandContext(ctx, "go", args...)
	run.Dir = root
	var stdout, stderr bytes.Buffer
	run.Stdout, run.Stderr = &stdout, &stderr
	runErr := run.Run()
	require.NoError(t, os.WriteFile(testsJSON, stdout.Bytes(), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(artifacts, "go-test.stderr"), stderr.Bytes(), 0o644))
	// The suite's verdict is not this test's business, only that it ran to the end.
	if runErr != nil {
		t.Logf("go test of the suites exited with %v (failing checks are the report's business)", runErr)
	}
	require.Contains(t, stdout.String(), `"Action":"pass"`, "the suites ran no test: %s", stderr.String())

	var cmds []probe.MonitorCommand
	lines, bad := 0, 0
	for _, m := range monitors {
		cmds = append(cmds, m.stop()...)
		lines += m.lines
		bad += len(m.bad)
		for _, b := range m.bad[:min(len(m.bad), 3)] {
			t.Errorf("unparsable MONITOR line: %s", b)
		}
	}
	t.Logf("MONITOR saw %d commands (%d distinct) on %d instances", lines, len(cmds), len(monitors))
	require.NotZero(t, lines, "MONITOR saw nothing: the check would prove nothing")
	assert.Zero(t, bad)
	specs := keySpecs(context.Background(), t, tgt, ep.Master)
	prefix := "conformance:" + runID + ":"
	sawSuiteKey := false
	for _, c := range cmds {
		for _, k := range specs[c.Name].Keys(c.Args) {
			if strings.HasPrefix(k, prefix) {
				sawSuiteKey = true
			}
		}
	}
	require.True(t, sawSuiteKey, "MONITOR saw no key under %s: it did not watch the suites", prefix)
	for _, v := range probe.SafetyViolations(cmds, specs, prefix) {
		t.Errorf("unsafe: %s", v)
	}

	// Nothing of the run is left in the keyspace.
	client, err := tgt.Client(target.Cluster, ep.Master, target.Valid)
	require.NoError(t, err)
	defer client.Close()
	keys, _, err := client.Scan(context.Background(), 0, prefix+"*", 100_000).Result()
	require.NoError(t, err)
	assert.Empty(t, keys, "keys of the run left behind")

	// The report and every other artifact: no password anywhere.
	reportDir := filepath.Join(artifacts, "report")
	out, err := exec.Command(*conformBin, "report", "--target", "sandbox", "--tests", testsJSON, "--evidence", evidenceFile, "--out", reportDir).CombinedOutput()
	if err != nil && !strings.Contains(string(out), "NO-GO") {
		t.Fatalf("conform report: %v: %s", err, out)
	}
	require.NoError(t, os.WriteFile(filepath.Join(artifacts, "report.stdout"), out, 0o644))
	scanned := 0
	for _, tree := range []string{artifacts, filepath.Join(dir, "logs")} {
		err := filepath.WalkDir(tree, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			scanned++
			assert.False(t, tgt.Leaks(raw), "the password appears in %s", path)
			return nil
		})
		require.NoError(t, err)
	}
	for _, name := range []string{"report.md", "report.json", "junit.xml"} {
		assert.FileExists(t, filepath.Join(reportDir, name))
	}
	t.Logf("no password in %d artifacts (report, junit, go test output, evidence, sandbox logs)", scanned)
}

func TestInterruptedDisruptiveCheckRestores(t *testing.T) {
	root, err := project.Root()
	require.NoError(t, err)
	dir, _ := sandboxUp(t)
	bin := filepath.Join(t.TempDir(), "monitoring.test")
	build := exec.Command("go", "test", "-c", "-o", bin, "./suites/monitoring")
	build.Dir = root
	out, err := build.CombinedOutput()
	require.NoError(t, err, "build the monitoring suite: %s", out)

	// The instance-down alert check holds the replica down for its whole wait.
	check := exec.Command(bin, "-test.run", "TestAlerts", "-test.v", "--target=sandbox", "--state-dir="+dir, "--disruptive", "--run-id=sigint"+randomID(t))
	check.Dir = filepath.Join(root, "suites", "monitoring")
	var output bytes.Buffer
	check.Stdout, check.Stderr = &output, &output
	require.NoError(t, check.Start())
	exited := make(chan error, 1)
	go func() { exited <- check.Wait() }()

	held := func() bool {
		st, err := sandbox.LoadState(dir)
		if err != nil {
			return false
		}
		for _, inst := range st.Instances {
			if inst.Redis.Held {
				return true
			}
		}
		return false
	}
	deadline := time.Now().Add(time.Minute)
	for !held() {
		select {
		case err := <-exited:
			t.Fatalf("the check ended before it held an instance down (%v): %s", err, output.String())
		case <-time.After(100 * time.Millisecond):
		}
		require.True(t, time.Now().Before(deadline), "no instance was held down within a minute: %s", output.String())
	}
	require.NoError(t, check.Process.Signal(syscall.SIGINT))
	select {
	case err := <-exited:
		t.Logf("the interrupted check exited: %v", err)
	case <-time.After(4 * time.Minute):
		_ = check.Process.Kill()
		t.Fatalf("the check did not end within 4 minutes of SIGINT: %s", output.String())
	}
	assert.False(t, held(), "an instance is still held down after the interrupted check ended")

	tgt, err := target.OpenSandbox(dir)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	require.NoError(t, tgt.WaitHealthy(ctx, 30*time.Second), "both instances healthy with replication up after SIGINT")
	ep, err := tgt.Endpoints(ctx)
	require.NoError(t, err)
	for _, inst := range ep.ByRole(target.RoleReplica) {
		c, err := tgt.Client(target.Cluster, inst.Addr, target.Valid)
		require.NoError(t, err)
		info := c.InfoMap(ctx, "replication")
		err = info.Err()
		link := info.Item("Replication", "master_link_status")
		_ = c.Close()
		require.NoError(t, err)
		assert.Equal(t, "up", link, "replication link of %s", inst.Name)
	}
	assert.Contains(t, output.String(), "context canceled", "the check's output does not show the interruption")
}
