package kubeenv

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/redis-shared/conformance/tools/catalog"
	"github.com/redis-shared/conformance/tools/checks"
	"github.com/redis-shared/conformance/tools/evidence"
	"github.com/redis-shared/conformance/tools/project"
	"github.com/redis-shared/conformance/tools/report"
	"github.com/redis-shared/conformance/tools/target"
)

var binDir = flag.String("bin", "", "directory with the control-plane binaries (make kube-tools); empty skips the control-plane tests")

// inventorySuite is the suite package the kube target's checks live in.
const inventorySuite = "suites/inventory"

func TestParseObjects(t *testing.T) {
	tests := []struct {
		name    string
		stream  string
		want    []string
		wantErr string
	}{
		{name: "two documents and an empty one", stream: "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: b}\n", want: []string{"Namespace/a", "Secret/b"}},
		{name: "comments only", stream: "# nothing\n---\n", want: nil},
		{name: "no kind", stream: "apiVersion: v1\nmetadata: {name: a}\n", wantErr: "document 1: no kind or apiVersion"},
		{name: "not YAML", stream: "kind: [\n", wantErr: "document 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := ParseObjects([]byte(tc.stream))
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			var got []string
			for _, o := range objs {
				got = append(got, o.GetKind()+"/"+o.GetName())
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestFixturesParse(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", FixtureDir, "*", "*.yaml"))
	require.NoError(t, err)
	top, err := filepath.Glob(filepath.Join("..", "..", FixtureDir, "*.yaml"))
	require.NoError(t, err)
	files = append(files, top...)
	require.GreaterOrEqual(t, len(files), len(fixtureFiles), "fixtures in %s (at least the applied ones)", FixtureDir)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		objs, err := ParseObjects(raw)
		require.NoError(t, err, f)
		assert.NotEmpty(t, objs, f)
	}
}

func TestStartNeedsBinaries(t *testing.T) {
	_, err := Start(context.Background(), Options{BinDir: t.TempDir()})
	require.ErrorContains(t, err, "control-plane binary etcd missing")
}

// suiteBinary links the test binary of suites/<name> into bin/kube-suites (under
// --bin) and returns its path. go test -c leaves a binary that is up to date with
// its sources alone, so the tests that run the same suite (dataplane runs in three
// of them) link it once per change instead of once per test.
func suiteBinary(t *testing.T, ctx context.Context, root, name string) string {
	t.Helper()
	bin, err := filepath.Abs(filepath.Join(*binDir, "kube-suites", name+".test"))
	require.NoError(t, err)
	cmd := exec.CommandContext(ctx, "go", "test", "-c", "-ldflags=-s -w", "-o", bin, "./suites/"+name)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "build suites/%s: %s", name, out)
	return bin
}

// requirementStatuses runs the inventory suite's binary against the kubeconfig
// through test2json (what `go test -json` does) and returns, per requirement, the
// status the go/no-go report gives it from the inventory checks alone.
func requirementStatuses(t *testing.T, ctx context.Context, root, suiteBin, kubeconfig, password string) map[string]string {
	t.Helper()
	out := t.TempDir()
	evidencePath := filepath.Join(out, "evidence.jsonl")
	cmd := exec.CommandContext(ctx, "go", "tool", "test2json", "-p", "github.com/redis-shared/conformance/"+inventorySuite,
		suiteBin, "-test.v=test2json", "-test.count=1", "-test.timeout=5m",
		"--target=kube", "--kubeconfig="+kubeconfig, "--evidence="+evidencePath)
	cmd.Dir = filepath.Join(root, inventorySuite)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// A failing check makes go test exit 1; the report judges the checks.
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit, "go test of %s: %s", inventorySuite, stderr.String())
	}
	tests, err := report.ParseTestEvents(stdout.Bytes())
	require.NoError(t, err, "go test -json output")
	records, err := evidence.ReadFile(evidencePath)
	require.NoError(t, err)
	cat, err := catalog.Load()
	require.NoError(t, err)
	found, err := checks.DiscoverSuites(root, filepath.Join(root, inventorySuite))
	require.NoError(t, err)
	require.NotEmpty(t, found, "checks in %s", inventorySuite)
	rep := report.Build(report.Inputs{Catalog: cat, Checks: found, Target: "kube", Tests: tests, Evidence: records, Now: time.Now()})
	// Judged on the inventory's live checks alone: the policy gate and the disruptive
	// checks are not part of this test, so their kinds of proof are not asked for.
	for i := range rep.Requirements {
		rep.Requirements[i].ProofKinds = []string{"live"}
	}
	rep.Decide()
	// The report names the layer behind the source ranges: here MetalLB assigned the
	// address and no kube-proxy ConfigMap exists, and report.md says both.
	var md bytes.Buffer
	require.NoError(t, report.WriteMarkdown(&md, rep))
	assert.Contains(t, md.String(), "- "+evidence.MetaEnforcement+": unknown: no kube-system/kube-proxy ConfigMap", "report.md states the enforcement layer")
	assert.Contains(t, rep.Facts[evidence.MetaEnforcement], "address 192.168.4.200 from MetalLB pool lan", "the enforcement fact names MetalLB")
	statuses := map[string]string{}
	for _, req := range rep.Requirements {
		if len(req.Checks) == 0 {
			continue
		}
		statuses[req.ID] = req.Status
		if req.Status == report.StatusFail {
			for _, c := range req.Checks {
				t.Logf("%s: %s: %s", req.ID, c.Name, strings.Join(c.Messages, " | "))
			}
		}
	}
	for _, p := range rep.Problems {
		if !strings.Contains(p, "did not run") {
			t.Errorf("report problem: %s", p)
		}
	}
	// The password never reaches the test output, the evidence or the report.
	raw, err := json.Marshal(rep)
	require.NoError(t, err)
	evidenceRaw, err := os.ReadFile(evidencePath)
	require.NoError(t, err)
	for what, data := range map[string][]byte{"test output": stdout.Bytes(), "evidence": evidenceRaw, "report": raw} {
		assert.False(t, password != "" && bytes.Contains(data, []byte(password)), "the password appears in the %s", what)
	}
	return statuses
}

func failing(statuses map[string]string) []string {
	var out []string
	for id, s := range statuses {
		if s != report.StatusPass {
			out = append(out, id+"="+s)
		}
	}
	sort.Strings(out)
	return out
}

// breakage changes one thing on the cluster and returns how to put it back.
type breakage func(ctx context.Context, cs kubernetes.Interface) (func(context.Context) error, error)

// TestInventoryOnLocalControlPlane brings the local control plane up, deploys the
// pinned chart's rendering and the stand-ins, and runs the inventory suite: every
// check passes. Then it breaks one thing at a time and checks that exactly the right
// requirement fails, and passes again once put back.
func TestInventoryOnLocalControlPlane(t *testing.T) {
	if *binDir == "" {
		t.Skip("needs the control-plane binaries: run `make test-kube` (builds them into bin/ and passes --bin)")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	suiteBin := suiteBinary(t, ctx, root, filepath.Base(inventorySuite))
	began := time.Now()
	env, err := Start(ctx, Options{BinDir: *binDir, Root: root, Log: testLog{t}})
	require.NoError(t, err, "start the local control plane")
	t.Cleanup(func() { assert.NoError(t, env.Close(), "tear down") })
	up := time.Since(began)
	dep, err := env.Deploy(ctx)
	require.NoError(t, err, "deploy")
	t.Logf("set-up: control plane %s, deployment %s (%d chart objects), total %s", up.Round(time.Millisecond), dep.Took.Round(time.Millisecond), dep.Objects, time.Since(began).Round(time.Millisecond))
	cs, err := env.Clientset()
	require.NoError(t, err)
	own, err := cs.CoreV1().Secrets(project.Namespace).Get(ctx, project.AuthSecret, metav1.GetOptions{})
	require.NoError(t, err)
	password := string(own.Data[project.AuthPasswordKey])
	require.NotEmpty(t, password)

	statuses := requirementStatuses(t, ctx, root, suiteBin, env.Kubeconfig, password)
	require.Empty(t, failing(statuses), "requirements not passing on the intact deployment")
	t.Logf("intact deployment: %d requirements pass: %v", len(statuses), keys(statuses))

	breakages := []struct {
		name    string
		breakIt breakage
		want    []string
	}{
		{name: "delete the beersystem Secret", breakIt: deleteBeersystemSecret(env), want: []string{"FR-012a=fail"}},
		{name: "widen a source range to 0.0.0.0/0", breakIt: widenSourceRange, want: []string{"FR-005=fail"}},
		{name: "scale the replica StatefulSet to 0", breakIt: scaleReplicaToZero(env), want: []string{"FR-002=fail"}},
	}
	for _, b := range breakages {
		t.Run(b.name, func(t *testing.T) {
			restore, err := b.breakIt(ctx, cs)
			require.NoError(t, err)
			restored := false
			t.Cleanup(func() {
				if !restored {
					rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
					defer cancel()
					assert.NoError(t, restore(rctx), "put back")
				}
			})
			assert.Equal(t, b.want, failing(requirementStatuses(t, ctx, root, suiteBin, env.Kubeconfig, password)), "requirements not passing")
			require.NoError(t, restore(ctx), "put back")
			restored = true
			require.NoError(t, env.WaitDeployed(ctx, 2*time.Minute))
		})
	}
	assert.Empty(t, failing(requirementStatuses(t, ctx, root, suiteBin, env.Kubeconfig, password)), "requirements not passing after every breakage was put back")

	// The kube target's Kill: the master pod is deleted with grace 0, the StatefulSet
	// makes a new one (a new pod UID, so a new Pid), and Revert waits until it is Ready.
	dyn, err := dynamic.NewForConfig(env.Config)
	require.NoError(t, err)
	kube := target.NewKube(cs, dyn)
	facts, err := kube.Facts(ctx)
	require.NoError(t, err)
	t.Logf("enforcement fact: %s", facts.Enforcement)
	assert.Contains(t, facts.Enforcement, "could not tell kube-proxy's mode", "no kube-proxy runs on the local control plane")
	assert.Contains(t, facts.Enforcement, "address 192.168.4.200 from MetalLB pool lan", "MetalLB's annotation on the LAN Service")
	before, err := kube.Restarts(ctx, "master")
	require.NoError(t, err)
	revert, err := kube.Kill(ctx, "master")
	require.NoError(t, err)
	require.NoError(t, revert(ctx), "master back after the kill")
	after, err := kube.Restarts(ctx, "master")
	require.NoError(t, err)
	assert.NotEqual(t, before.Pid, after.Pid, "the master runs in a new pod after the kill")
	require.NoError(t, env.Alive(), "a control-plane component died during the test")
}

// TestCancelTearsDown: cancelling the Start context (what Ctrl-C does through
// signal.NotifyContext) ends every component and removes the temp dir without Close.
func TestCancelTearsDown(t *testing.T) {
	if *binDir == "" {
		t.Skip("needs the control-plane binaries: run `make test-kube` (builds them into bin/ and passes --bin)")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	env, err := Start(ctx, Options{BinDir: *binDir, Root: root})
	require.NoError(t, err)
	t.Cleanup(func() { _ = env.Close() })
	env.mu.Lock()
	procs := slices.Clone(env.procs)
	env.mu.Unlock()
	require.Len(t, procs, len(Binaries()))
	cancel()
	for _, p := range procs {
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			t.Fatalf("%s still runs 15 s after the cancel", p.name)
		}
	}
	require.Eventually(t, func() bool {
		_, err := os.Stat(env.Dir)
		return os.IsNotExist(err)
	}, 10*time.Second, 100*time.Millisecond, "temp dir %s removed", env.Dir)
}

func deleteBeersystemSecret(env *Env) breakage {
	return func(ctx context.Context, cs kubernetes.Interface) (func(context.Context) error, error) {
		own, err := cs.CoreV1().Secrets(project.Namespace).Get(ctx, project.AuthSecret, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("read the redis Secret: %w", err)
		}
		password := string(own.Data[project.AuthPasswordKey])
		if err := cs.CoreV1().Secrets(project.App).Delete(ctx, project.AuthSecret, metav1.DeleteOptions{}); err != nil {
			return nil, fmt.Errorf("delete the beersystem Secret: %w", err)
		}
		return func(ctx context.Context) error {
			return env.PutAuthSecret(ctx, cs.CoreV1().Secrets(project.App), password)
		}, nil
	}
}

func widenSourceRange(ctx context.Context, cs kubernetes.Interface) (func(context.Context) error, error) {
	svc, err := cs.CoreV1().Services(project.Namespace).Get(ctx, project.LANService, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", project.LANService, err)
	}
	patch := func(ctx context.Context, ranges []string) error {
		body, err := json.Marshal(map[string]any{"spec": map[string]any{"loadBalancerSourceRanges": ranges}})
		if err != nil {
			return err
		}
		_, err = cs.CoreV1().Services(project.Namespace).Patch(ctx, project.LANService, types.MergePatchType, body, metav1.PatchOptions{})
		if err != nil {
			return fmt.Errorf("patch source ranges of %s: %w", project.LANService, err)
		}
		return nil
	}
	original := slices.Clone(svc.Spec.LoadBalancerSourceRanges)
	widened := slices.Clone(original)
	widened[len(widened)-1] = "0.0.0.0/0"
	if err := patch(ctx, widened); err != nil {
		return nil, err
	}
	return func(ctx context.Context) error { return patch(ctx, original) }, nil
}

// scaleReplicaToZero stops the replica the way the kube target's Stop does (its
// StatefulSet scaled to 0); putting it back is the target's Revert, which waits
// until both StatefulSets are Ready again.
func scaleReplicaToZero(env *Env) breakage {
	return func(ctx context.Context, cs kubernetes.Interface) (func(context.Context) error, error) {
		dyn, err := dynamic.NewForConfig(env.Config)
		if err != nil {
			return nil, err
		}
		kube := target.NewKube(cs, dyn)
		revert, err := kube.Stop(ctx, "replica-0")
		if err != nil {
			return nil, err
		}
		// Wait until the replica pod is gone, so the suite sees one settled state.
		err = env.poll(ctx, "the replica pod to go", func(ctx context.Context) (bool, error) {
			pods, err := cs.CoreV1().Pods(project.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=replica"})
			return err == nil && len(pods.Items) == 0, err
		})
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) error { return revert(ctx) }, nil
	}
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// testLog sends the env's progress lines to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
