package kubeenv

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/redis-shared/conformance/tools/evidence"
	"github.com/redis-shared/conformance/tools/loadgen/localredis"
	"github.com/redis-shared/conformance/tools/project"
	"github.com/redis-shared/conformance/tools/report"
)

// localPlane is the local control plane with the release deployed, for the tests
// that run the probe pod and suites with --target kube through it.
type localPlane struct {
	ctx      context.Context
	root     string
	probeBin string
	suites   map[string]string // suite name: its test binary
	env      *Env
	cs       kubernetes.Interface
	secret   *corev1.Secret // the auth Secret of the namespace startLocalPlane was given
	password string
}

// startLocalPlane skips without --bin or redis-server, links the named suites' test
// binaries (suiteBinary), starts the local control plane (torn down when the test ends), deploys
// the release and reads the auth Secret of namespace secretNS.
func startLocalPlane(t *testing.T, secretNS string, suites ...string) *localPlane {
	t.Helper()
	if *binDir == "" {
		t.Skip("needs the control-plane binaries: run `make test-kube` (builds them into bin/ and passes --bin)")
	}
	p := &localPlane{probeBin: filepath.Join(*binDir, "redisprobe"), suites: map[string]string{}}
	if _, err := os.Stat(p.probeBin); err != nil {
		t.Fatalf("probe binary: %v (make bin/redisprobe; make test-kube builds it)", err)
	}
	if ok, why := localredis.Available(); !ok {
		t.Skip(why)
	}
	var err error
	p.root, err = filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	var stop context.CancelFunc
	p.ctx, stop = signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	t.Cleanup(stop)
	for _, suite := range suites {
		p.suites[suite] = suiteBinary(t, p.ctx, p.root, suite)
	}
	p.env, err = Start(p.ctx, Options{BinDir: *binDir, Root: p.root, Log: testLog{t}})
	require.NoError(t, err, "start the local control plane")
	t.Cleanup(func() { assert.NoError(t, p.env.Close(), "tear down") })
	_, err = p.env.Deploy(p.ctx)
	require.NoError(t, err, "deploy")
	p.cs, err = p.env.Clientset()
	require.NoError(t, err)
	p.secret, err = p.cs.CoreV1().Secrets(secretNS).Get(p.ctx, project.AuthSecret, metav1.GetOptions{})
	require.NoError(t, err)
	p.password = string(p.secret.Data[project.AuthPasswordKey])
	return p
}

// suiteRun is one run of a suite: its outcomes, its output and its evidence.
type suiteRun struct {
	*report.TestRun
	stdout  string
	records []evidence.Record
}

func (r suiteRun) status(t *testing.T, name string) report.TestOutcome {
	t.Helper()
	o, ok := r.Lookup(name)
	require.True(t, ok, "%s did not run; output:\n%s", name, r.stdout)
	t.Logf("%s: %s %v", name, o.Status, o.Messages)
	return o
}

// runSuite runs a suite's test binary through test2json with args and --target kube
// against the plane (the probe working in probeDir), and reads its outcomes and
// evidence; a failing suite is an outcome to judge, not an error.
func (p *localPlane) runSuite(t *testing.T, name, probeDir string, args ...string) suiteRun {
	t.Helper()
	evidencePath := filepath.Join(t.TempDir(), "evidence.jsonl")
	cmd := exec.CommandContext(p.ctx, "go", append(append([]string{"tool", "test2json", "-p", project.ModulePath + "/suites/" + name,
		p.suites[name], "-test.v=test2json", "-test.count=1", "-test.timeout=10m"}, args...),
		"--target=kube", "--kubeconfig="+p.env.Kubeconfig, "--probe-bin="+p.probeBin, "--probe-dir="+probeDir, "--evidence="+evidencePath)...)
	cmd.Dir = filepath.Join(p.root, "suites", name)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	began := time.Now()
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit, "suites/%s: %s", name, stderr.String())
	}
	t.Logf("suites/%s --target kube %s took %s", name, strings.Join(args, " "), time.Since(began).Round(time.Millisecond))
	run, err := report.ParseTestEvents(stdout.Bytes())
	require.NoError(t, err)
	records, err := evidence.ReadFile(evidencePath)
	require.NoError(t, err)
	return suiteRun{TestRun: run, stdout: stdout.String(), records: records}
}
