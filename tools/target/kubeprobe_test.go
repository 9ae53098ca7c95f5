package target

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	utilexec "k8s.io/client-go/util/exec"

	"github.com/redis-shared/conformance/tools/loadgen"
	"github.com/redis-shared/conformance/tools/probe"
	"github.com/redis-shared/conformance/tools/project"
)

// fakeExecer records every exec and the requests on stdin, and answers from a table
// keyed by the request's kind.
type fakeExecer struct {
	mu       sync.Mutex
	calls    [][]string
	requests []probe.Request
	uploaded []byte
	answers  map[probe.Kind]fakeAnswer
}

type fakeAnswer struct {
	stdout string
	stderr string
	code   int
}

func (f *fakeExecer) Exec(ctx context.Context, _, _, _ string, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := ctx.Deadline(); !ok {
		return io.ErrUnexpectedEOF // every exec must carry a deadline
	}
	f.calls = append(f.calls, cmd)
	if cmd[0] == "sh" {
		raw, err := io.ReadAll(stdin)
		if err != nil {
			return err
		}
		f.uploaded = raw
		return nil
	}
	var req probe.Request
	if err := json.NewDecoder(stdin).Decode(&req); err != nil {
		return err
	}
	f.requests = append(f.requests, req)
	a := f.answers[req.Kind]
	_, _ = io.WriteString(stdout, a.stdout)
	_, _ = io.WriteString(stderr, a.stderr)
	if a.code != 0 {
		return utilexec.CodeExitError{Err: io.EOF, Code: a.code}
	}
	return nil
}

// probeCluster is a fake cluster with the master StatefulSet and a leftover probe pod;
// created pods start Running and Ready at once (as kwok makes them).
func probeCluster(t *testing.T) *fake.Clientset {
	t.Helper()
	set := statefulSet(project.MasterService, "master", 1, 1)
	set.Spec.Template.Spec.Containers = []corev1.Container{{Name: "redis", Image: "bitnamilegacy/redis:8.2.1", ImagePullPolicy: corev1.PullIfNotPresent}}
	set.Spec.Template.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "regcred"}}
	leftover := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "redisprobe-old", Namespace: project.Namespace, Labels: map[string]string{ProbeLabel: ProbeLabelValue}}}
	cs := fake.NewClientset(set, leftover)
	cs.PrependReactor("create", "pods", func(action k8stesting.Action) (bool, runtime.Object, error) {
		pod := action.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		if pod.Name == "" {
			pod.Name = pod.GenerateName + "x1"
		}
		pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.7",
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
		return false, nil, nil
	})
	return cs
}

func probeKube(t *testing.T, cs *fake.Clientset, exec podExecer) (*Kube, []byte) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "redisprobe")
	content := []byte("\x7fELF static probe")
	require.NoError(t, os.WriteFile(bin, content, 0o755))
	k := NewKube(cs, nil)
	k.opts = KubeOptions{ProbeBinary: bin}
	k.probe.exec = exec
	return k, content
}

func TestProbePodSpec(t *testing.T) {
	set := corev1.PodSpec{
		Containers:       []corev1.Container{{Name: "redis", Image: "registry.example/bitnami/redis:8.2.1", ImagePullPolicy: corev1.PullAlways}},
		ImagePullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}},
	}
	pod, err := probePodSpec(set, "/tmp")
	require.NoError(t, err)
	c := pod.Spec.Containers[0]
	assert.Equal(t, "registry.example/bitnami/redis:8.2.1", c.Image)
	assert.Equal(t, corev1.PullAlways, c.ImagePullPolicy)
	assert.Equal(t, set.ImagePullSecrets, pod.Spec.ImagePullSecrets)
	assert.Equal(t, ProbeLabelValue, pod.Labels[ProbeLabel])
	require.NotNil(t, pod.Spec.ActiveDeadlineSeconds)
	assert.Equal(t, int64(probeLifetime.Seconds()), *pod.Spec.ActiveDeadlineSeconds)
	require.Len(t, c.Env, 1)
	assert.Equal(t, probe.PasswordEnv, c.Env[0].Name)
	assert.Empty(t, c.Env[0].Value, "the password comes from the Secret, never inline")
	assert.Equal(t, project.AuthSecret, c.Env[0].ValueFrom.SecretKeyRef.Name)
	assert.Equal(t, project.AuthPasswordKey, c.Env[0].ValueFrom.SecretKeyRef.Key)
	assert.True(t, *c.SecurityContext.ReadOnlyRootFilesystem)
	assert.Equal(t, "/tmp", c.VolumeMounts[0].MountPath)

	_, err = probePodSpec(corev1.PodSpec{}, "/tmp")
	assert.ErrorContains(t, err, "no Redis container image")
}

func TestProbeLifecycle(t *testing.T) {
	cs := probeCluster(t)
	report, err := json.Marshal(probe.Report{Kind: probe.KindCommands, Commands: &probe.CommandsReport{Addr: project.MasterDNSName + ":6379",
		Structures: []probe.Structure{{Name: "string", OK: true, TTLMillis: 1000}},
		Cleanup:    &probe.Cleanup{Prefix: "conformance:r:dataplane:", Deleted: 1, Remaining: map[string]int{"m": 0}}}})
	require.NoError(t, err)
	exec := &fakeExecer{answers: map[probe.Kind]fakeAnswer{probe.KindCommands: {stdout: string(report)}}}
	commands := probe.Request{Kind: probe.KindCommands, Addr: project.MasterDNSName + ":6379", Prefix: "conformance:r:dataplane:", TTL: time.Minute}
	k, binary := probeKube(t, cs, exec)
	ctx := context.Background()

	rep, err := k.Probe(ctx, Cluster, commands)
	require.NoError(t, err)
	require.NotNil(t, rep.Commands)
	assert.Equal(t, 1, rep.Commands.Passed())

	pods, err := cs.CoreV1().Pods(project.Namespace).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Len(t, pods.Items, 1, "the leftover probe pod is removed, one new one runs")
	assert.Equal(t, "redisprobe-x1", pods.Items[0].Name)
	assert.Equal(t, binary, exec.uploaded, "the binary streamed over exec stdin")
	require.Len(t, exec.calls, 2)
	assert.Equal(t, []string{"sh", "-c", uploadScript("/tmp/redisprobe", int64(len(binary)))}, exec.calls[0])
	assert.Equal(t, []string{"/tmp/redisprobe"}, exec.calls[1])
	assert.Equal(t, []probe.Request{commands}, exec.requests)
	for _, call := range exec.calls {
		assert.NotContains(t, strings.Join(call, " "), testPassword)
	}
	ip, err := k.ProbePodIP(ctx)
	require.NoError(t, err)
	assert.Equal(t, "10.0.0.7", ip)

	// The pod is reused, and Close deletes it even when the run was cancelled.
	_, _ = k.Probe(ctx, Cluster, commands)
	assert.Len(t, exec.calls, 3, "no second upload")
	require.NoError(t, k.Close())
	pods, err = cs.CoreV1().Pods(project.Namespace).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, pods.Items)
	_, err = k.Probe(ctx, Cluster, commands)
	assert.ErrorContains(t, err, "closed")
}

// TestUploadScriptCopiesExactlyTheBinary runs the upload script with a real sh: it
// stops after the byte count even though stdin never ends, and refuses a short copy.
func TestUploadScriptCopiesExactlyTheBinary(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh on PATH")
	}
	dest := filepath.Join(t.TempDir(), "redisprobe")
	content := bytes.Repeat([]byte("probe"), 1000)
	// A pipe that is never closed, like kwok's: the script must still finish.
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()
	go func() { _, _ = w.Write(content) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", uploadScript(dest, int64(len(content))))
	cmd.Stdin = r
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	got, err := os.ReadFile(dest)
	require.NoError(t, err)
	assert.Equal(t, content, got)
	info, err := os.Stat(dest)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o755), info.Mode().Perm())

	short := exec.CommandContext(ctx, "sh", "-c", uploadScript(dest, int64(len(content)+10)))
	short.Stdin = bytes.NewReader(content)
	assert.Error(t, short.Run(), "a copy shorter than the binary fails")
}

func TestProbeExitCodes(t *testing.T) {
	loadJSON, err := json.Marshal(probe.Report{Kind: probe.KindLoad, Load: &probe.LoadReport{Result: loadgen.Result{Requests: 10, Errors: 10}, Error: "dial: refused"}})
	require.NoError(t, err)
	tests := []struct {
		name    string
		answer  fakeAnswer
		wantErr string
		wantReq int64
	}{
		{"done", fakeAnswer{stdout: string(loadJSON)}, "", 10},
		{"measurement failed: report and error", fakeAnswer{stdout: string(loadJSON), stderr: "redisprobe load: all failed", code: 1}, "all failed", 10},
		{"bad request", fakeAnswer{stderr: "redisprobe: load request: prefix: empty", code: 2}, "prefix: empty", 0},
		{"not JSON", fakeAnswer{stdout: "sh: not found"}, "decode its JSON", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			exec := &fakeExecer{answers: map[probe.Kind]fakeAnswer{probe.KindLoad: tc.answer}}
			k, _ := probeKube(t, probeCluster(t), exec)
			req := probe.Request{Kind: probe.KindLoad, Addr: "m:6379", Prefix: "conformance:r:x:", TTL: time.Minute,
				Load: &probe.LoadRequest{Mode: loadgen.OpenLoop, Rate: 100, Duration: time.Second, Connections: 2}}
			rep, err := k.Probe(context.Background(), Cluster, req)
			if tc.wantErr == "" {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, tc.wantErr)
			}
			var requests int64
			if rep.Load != nil {
				requests = rep.Load.Result.Requests
			}
			assert.Equal(t, tc.wantReq, requests)
			require.Len(t, exec.requests, 1)
			assert.Equal(t, req, exec.requests[0], "the request goes on stdin as it is")
			assert.Equal(t, []string{"/tmp/redisprobe"}, exec.calls[len(exec.calls)-1], "no flags")
		})
	}
}

func TestProbeNeedsItsBinary(t *testing.T) {
	k := NewKube(probeCluster(t), nil)
	dial := probe.Request{Kind: probe.KindDial, Addr: "192.0.2.1:6379", Timeout: time.Second}
	_, err := k.Probe(context.Background(), Cluster, dial)
	reason, ok := IsUnsupported(err)
	require.True(t, ok, "%v", err)
	assert.Contains(t, reason, "--probe-bin")

	k.opts.ProbeBinary = filepath.Join(t.TempDir(), "missing")
	k2 := NewKube(probeCluster(t), nil)
	k2.opts.ProbeBinary = k.opts.ProbeBinary
	_, err = k2.Probe(context.Background(), Cluster, dial)
	assert.ErrorContains(t, err, "make bin/redisprobe")
}

func TestKubeClusterVantageIsUnsupported(t *testing.T) {
	k := NewKube(fake.NewClientset(), nil)
	_, err := k.Client(Cluster, "m:6379", Valid)
	reason, ok := IsUnsupported(err)
	require.True(t, ok)
	assert.Contains(t, reason, "the probe pod measures SC-001, SC-006 and FR-014 instead")
	_, err = k.LoadDialer(Cluster, "m:6379", 1)
	_, ok = IsUnsupported(err)
	assert.True(t, ok)
	_, err = k.Dial(context.Background(), Cluster, "m:6379")
	_, ok = IsUnsupported(err)
	assert.True(t, ok)
}

func TestProbeOnKwokNodeHasNoDataPath(t *testing.T) {
	tests := []struct {
		name        string
		annotations map[string]string
		wantReason  string
	}{
		{"kwok fake node", map[string]string{KwokNodeAnnotation: "fake"}, "kwok fake node node-0"},
		{"real node", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cs := probeCluster(t)
			_, err := cs.CoreV1().Nodes().Create(context.Background(), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-0", Annotations: tc.annotations}}, metav1.CreateOptions{})
			require.NoError(t, err)
			cs.PrependReactor("create", "pods", func(action k8stesting.Action) (bool, runtime.Object, error) {
				action.(k8stesting.CreateAction).GetObject().(*corev1.Pod).Spec.NodeName = "node-0"
				return false, nil, nil
			})
			dial, err := json.Marshal(probe.Report{Kind: probe.KindDial, Dial: &probe.DialReport{Addr: "192.0.2.1:6379", Outcome: probe.DialTimeout}})
			require.NoError(t, err)
			exec := &fakeExecer{answers: map[probe.Kind]fakeAnswer{probe.KindDial: {stdout: string(dial)}}}
			k, _ := probeKube(t, cs, exec)
			_, ipErr := k.ProbePodIP(context.Background())
			rep, dialErr := k.Probe(context.Background(), Cluster, probe.Request{Kind: probe.KindDial, Addr: "192.0.2.1:6379", Timeout: time.Second})
			if tc.wantReason == "" {
				require.NoError(t, ipErr)
				require.NoError(t, dialErr)
				require.NotNil(t, rep.Dial)
				assert.Equal(t, probe.DialTimeout, rep.Dial.Outcome)
				assert.Equal(t, "probe pod redis/redisprobe-x1", rep.Vantage)
				return
			}
			for _, err := range []error{ipErr, dialErr} {
				reason, ok := IsUnsupported(err)
				require.True(t, ok, "%v", err)
				assert.Contains(t, reason, tc.wantReason)
			}
			assert.Len(t, exec.calls, 1, "only the upload: no dial leaves from a kwok pod")
		})
	}
}

func TestProbePodThatEndsIsAnErrorRememberedByLaterCalls(t *testing.T) {
	cs := probeCluster(t)
	// The kubelet ended it (its activeDeadlineSeconds, an eviction) before it ran.
	cs.PrependReactor("get", "pods", func(action k8stesting.Action) (bool, runtime.Object, error) {
		name := action.(k8stesting.GetAction).GetName()
		return true, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: project.Namespace},
			Status: corev1.PodStatus{Phase: corev1.PodFailed, Reason: "DeadlineExceeded"}}, nil
	})
	exec := &fakeExecer{}
	k, _ := probeKube(t, cs, exec)
	_, err := k.Probe(context.Background(), Cluster, probe.Request{Kind: probe.KindCommands, Addr: "m:6379", Prefix: "conformance:r:x:", TTL: time.Minute})
	require.ErrorContains(t, err, "probe pod redis/redisprobe-x1 ended (Failed: DeadlineExceeded)")
	_, err = k.Probe(context.Background(), Cluster, probe.Request{Kind: probe.KindCleanup, Addr: "m:6379", Prefix: "conformance:r:x:"})
	require.ErrorContains(t, err, "ended", "the same cause, not a second pod")
	assert.Empty(t, exec.calls, "nothing is exec'd into a pod that is not running")
	require.NoError(t, k.Close(), "Close still deletes it")
	pods, err := cs.CoreV1().Pods(project.Namespace).List(context.Background(), metav1.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, pods.Items)
}
