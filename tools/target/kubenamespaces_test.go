package target

import (
	"context"
	"encoding/json"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/redis-shared/conformance/tools/probe"
	"github.com/redis-shared/conformance/tools/project"
)

// namespaceCluster is a fake cluster with the master StatefulSet, the auth Secrets tofu writes and the chart's
// NetworkPolicy.
func namespaceCluster(t *testing.T) *fake.Clientset {
	t.Helper()
	set := statefulSet(project.MasterService, "master", 1, 1)
	set.Spec.Template.Spec.Containers = []corev1.Container{{Name: "redis", Image: "bitnamilegacy/redis:8.2.1"}}
	cs := fake.NewClientset(set)
	// kwok's part: a created pod runs and is Ready at once.
	cs.PrependReactor("create", "pods", func(action k8stesting.Action) (bool, runtime.Object, error) {
		pod := action.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		if pod.Name == "" {
			pod.Name = pod.GenerateName + "x1"
		}
		pod.Status = corev1.PodStatus{Phase: corev1.PodRunning,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
		return false, nil, nil
	})
	ctx := context.Background()
	for _, ns := range []string{project.Namespace, project.App} {
		_, err := cs.CoreV1().Secrets(ns).Create(ctx, secret(ns, testPassword), metav1.CreateOptions{})
		require.NoError(t, err)
	}
	// The controller manager's part: a new namespace gets its default ServiceAccount.
	cs.PrependReactor("create", "namespaces", func(action k8stesting.Action) (bool, runtime.Object, error) {
		ns := action.(k8stesting.CreateAction).GetObject().(*corev1.Namespace)
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns.Name}}
		return false, nil, cs.Tracker().Add(sa)
	})
	np := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: project.Release, Namespace: project.Namespace}}
	_, err := cs.NetworkingV1().NetworkPolicies(project.Namespace).Create(ctx, np, metav1.CreateOptions{})
	require.NoError(t, err)
	return cs
}

// requestExecer is a pod exec that stores the uploaded binary and answers each
// probe.Request read from stdin with the Report of its kind.
type requestExecer struct {
	mu       sync.Mutex
	uploaded []byte
	calls    []namespaceCall
	before   func()
}

type namespaceCall struct {
	Namespace, Pod string
	Cmd            []string
	Request        probe.Request
}

func (f *requestExecer) Exec(ctx context.Context, ns, pod, _ string, cmd []string, stdin io.Reader, stdout, _ io.Writer) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := ctx.Deadline(); !ok {
		return io.ErrUnexpectedEOF // every exec must carry a deadline
	}
	if f.before != nil {
		f.before()
	}
	call := namespaceCall{Namespace: ns, Pod: pod, Cmd: cmd}
	if cmd[0] == "sh" {
		raw, err := io.ReadAll(stdin)
		f.uploaded = raw
		f.calls = append(f.calls, call)
		return err
	}
	if err := json.NewDecoder(stdin).Decode(&call.Request); err != nil {
		return err
	}
	f.calls = append(f.calls, call)
	rep := probe.Report{Kind: call.Request.Kind}
	switch call.Request.Kind {
	case probe.KindCommands:
		rep.Commands = &probe.CommandsReport{Addr: call.Request.Addr, Structures: []probe.Structure{{Name: "string", OK: true, TTLMillis: 1000}}}
	case probe.KindCleanup:
		rep.Cleanup = &probe.Cleanup{Prefix: call.Request.Prefix, Remaining: map[string]int{call.Request.Addr: 0, call.Request.Addrs[0]: 0}}
	}
	return json.NewEncoder(stdout).Encode(rep)
}

func TestNamespaceProbePodHasNoClientLabelAndItsOwnNamespacesSecret(t *testing.T) {
	base, err := probePodSpec(corev1.PodSpec{Containers: []corev1.Container{{Name: "redis", Image: "bitnamilegacy/redis:8.2.1"}}}, "/tmp")
	require.NoError(t, err)
	pod := namespaceProbePodSpec(base, project.App)

	assert.Equal(t, project.App, pod.Namespace)
	assert.NotContains(t, pod.Labels, probeClientLabel, "an application pod carries no client label")
	assert.Equal(t, ProbeLabelValue, pod.Labels[ProbeLabel])
	assert.Equal(t, project.App, pod.Labels[vantageLabel])
	ref := pod.Spec.Containers[0].Env[0].ValueFrom.SecretKeyRef
	assert.Equal(t, project.AuthSecret, ref.Name, "secretKeyRef reads the Secret of the pod's own namespace")
	assert.Contains(t, base.Labels, probeClientLabel, "the redis namespace's probe pod is left as it was")
}

func TestProbeFromBeersystemDialsTheDNSNamesAndCleansUp(t *testing.T) {
	cs := namespaceCluster(t)
	exec := &requestExecer{}
	k, binary := probeKube(t, cs, exec)
	ctx := context.Background()

	rep, err := k.ProbeFromNamespace(ctx, ClientNamespace{Namespace: project.App}, "conformance:r:fr017:", time.Minute)
	require.NoError(t, err)

	assert.Equal(t, project.App, rep.Namespace)
	assert.Equal(t, "redisprobe-x1", rep.Pod)
	assert.Equal(t, project.App+"/"+project.AuthSecret, rep.PasswordFrom)
	assert.NotContains(t, rep.Labels, probeClientLabel)
	assert.Equal(t, []string{project.Namespace + "/" + project.Release}, rep.NetworkPolicies)
	assert.Equal(t, 1, rep.Commands.Passed())
	assert.Zero(t, rep.Cleanup.Left())
	assert.Equal(t, binary, exec.uploaded)
	require.Len(t, exec.calls, 3)
	for _, call := range exec.calls {
		assert.Equal(t, project.App, call.Namespace, "every exec goes to the beersystem pod")
	}
	master, replicas := "redis-shared-master.redis.svc.cluster.local:6379", "redis-shared-replicas.redis.svc.cluster.local:6379"
	assert.Equal(t, probe.Request{Kind: probe.KindCommands, Addr: master, Prefix: "conformance:r:fr017:", TTL: time.Minute}, exec.calls[1].Request)
	assert.Equal(t, probe.Request{Kind: probe.KindCleanup, Addr: master, Prefix: "conformance:r:fr017:", Addrs: []string{replicas}}, exec.calls[2].Request)
	assert.Equal(t, []string{"/tmp/redisprobe"}, exec.calls[1].Cmd, "no flags: the request goes on stdin")
	pods, err := cs.CoreV1().Pods(project.App).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, pods.Items, "the probe pod is deleted afterwards")
	_, err = cs.CoreV1().Namespaces().Get(ctx, project.App, metav1.GetOptions{})
	assert.Error(t, err, "beersystem is never created (nor deleted) by the suite")
}

func TestProbeFromOwnNamespaceMakesAndRemovesItWithASecretCopy(t *testing.T) {
	cs := namespaceCluster(t)
	ctx := context.Background()
	var seenSecret []byte
	var seenLabels map[string]string
	// Look at the namespace and its Secret while the probe runs.
	exec := &requestExecer{before: func() {
		s, err := cs.CoreV1().Secrets(ProbeNamespace).Get(ctx, project.AuthSecret, metav1.GetOptions{})
		require.NoError(t, err)
		seenSecret = s.Data[project.AuthPasswordKey]
		ns, err := cs.CoreV1().Namespaces().Get(ctx, ProbeNamespace, metav1.GetOptions{})
		require.NoError(t, err)
		seenLabels = ns.Labels
	}}
	k, _ := probeKube(t, cs, exec)

	rep, err := k.ProbeFromNamespace(ctx, ClientNamespace{Namespace: ProbeNamespace, Created: true}, "conformance:r:fr003:", time.Minute)
	require.NoError(t, err)

	assert.Equal(t, ProbeNamespace, rep.Namespace)
	assert.Equal(t, []byte(testPassword), seenSecret, "the copy holds the deployment's password")
	assert.Equal(t, ownerLabelValue, seenLabels[ownerLabel])
	_, err = cs.CoreV1().Namespaces().Get(ctx, ProbeNamespace, metav1.GetOptions{})
	assert.Error(t, err, "the namespace (and the Secret copy in it) is deleted afterwards")
}

func TestProbeFromNamespaceRefusals(t *testing.T) {
	cases := []struct {
		name    string
		prepare func(t *testing.T, cs *fake.Clientset)
		ns      ClientNamespace
		wantErr string
	}{
		{
			name: "beersystem without the Secret copy",
			prepare: func(t *testing.T, cs *fake.Clientset) {
				require.NoError(t, cs.CoreV1().Secrets(project.App).Delete(context.Background(), project.AuthSecret, metav1.DeleteOptions{}))
			},
			ns:      ClientNamespace{Namespace: project.App},
			wantErr: "namespace beersystem has no Secret redis-shared-auth (FR-012a)",
		},
		{
			name: "a namespace of that name that is not the suite's",
			prepare: func(t *testing.T, cs *fake.Clientset) {
				_, err := cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ProbeNamespace}}, metav1.CreateOptions{})
				require.NoError(t, err)
			},
			ns:      ClientNamespace{Namespace: ProbeNamespace, Created: true},
			wantErr: "namespace conformance-probe exists and is not the suite's",
		},
		{
			name:    "the deployment's own namespace",
			prepare: func(*testing.T, *fake.Clientset) {},
			ns:      ClientNamespace{Namespace: project.Namespace},
			wantErr: "is the deployment's own",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cs := namespaceCluster(t)
			tc.prepare(t, cs)
			exec := &requestExecer{}
			k, _ := probeKube(t, cs, exec)
			_, err := k.ProbeFromNamespace(context.Background(), tc.ns, "conformance:r:fr003:", time.Minute)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
			assert.Empty(t, exec.calls, "no pod was exec'd into")
		})
	}
}
