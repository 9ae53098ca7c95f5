package kubeenv

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/redis-shared/conformance/tools/loadgen/localredis"
	"github.com/redis-shared/conformance/tools/project"
	"github.com/redis-shared/conformance/tools/report"
	"github.com/redis-shared/conformance/tools/target"
)

// TestNamespacesOnLocalControlPlane runs FR-003 and FR-017 from the vantage points the
// spec names on the local control plane: probe pods are created in beersystem and in
// a namespace the target makes, without the chart's client label, the binary is
// streamed in through the real API server, and kwok runs it on this machine with the
// DNS names mapped to a loopback redis-server (kwok has no pod network, no DNS and no
// NetworkPolicy: what this proves is the pods, their labels and Secrets and the
// requests by DNS name; the network path is the nightly's). Then suites/dataplane's
// TestFromOtherNamespaces runs with --target kube.
func TestNamespacesOnLocalControlPlane(t *testing.T) {
	p := startLocalPlane(t, project.App, "dataplane")
	ctx, env, cs, secret, password := p.ctx, p.env, p.cs, p.secret, p.password

	srv, err := localredis.Start(ctx, localredis.Options{Dir: t.TempDir(), Password: password})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop() })
	dyn, err := dynamic.NewForConfig(env.Config)
	require.NoError(t, err)
	probeDir := t.TempDir()
	// kwok answers exec into the probe container of pods in the client namespaces (not
	// redis: nothing here may pass for the redis namespace's probe pod).
	execs := clusterExec(probeDir, password, srv.Addr)
	execs.SetName("redisprobe-client-namespaces")
	var namespaces []string
	for _, ns := range target.ClientNamespaces() {
		namespaces = append(namespaces, ns.Namespace)
	}
	require.NoError(t, unstructured.SetNestedStringSlice(execs.Object, namespaces, "spec", "selector", "matchNamespaces"))
	_, err = dyn.Resource(clusterExecResource).Create(ctx, execs, metav1.CreateOptions{})
	require.NoError(t, err, "ClusterExec for the client namespaces")

	kube, err := target.OpenKube(ctx, target.KubeOptions{Kubeconfig: env.Kubeconfig, ProbeBinary: p.probeBin, ProbeDir: probeDir})
	require.NoError(t, err)
	t.Cleanup(func() { _ = kube.Close() })
	master, replicas := project.MasterDNSName+":6379", project.ReplicasDNSName+":6379"
	for _, ns := range target.ClientNamespaces() {
		created := watchProbePods(t, ctx, cs, ns.Namespace)
		began := time.Now()
		rep, err := kube.ProbeFromNamespace(ctx, ns, "conformance:kwoktest:fr003:"+ns.Namespace+":", time.Minute)
		require.NoError(t, err, "FR-003 from namespace %s", ns.Namespace)
		pods := created()

		require.Len(t, pods, 1, "one probe pod was created in %s", ns.Namespace)
		assert.Equal(t, rep.Pod, pods[0].Name)
		assert.Equal(t, ns.Namespace, pods[0].Namespace)
		assert.NotContains(t, pods[0].Labels, project.Release+"-client", "no client label")
		ref := pods[0].Spec.Containers[0].Env[0].ValueFrom.SecretKeyRef
		assert.Equal(t, project.AuthSecret, ref.Name, "the password from the Secret of %s", ns.Namespace)
		assert.Equal(t, master, rep.Commands.Addr, "the round trips dialled the master's DNS name")
		assert.GreaterOrEqual(t, rep.Commands.Passed(), 5, "round trips: %+v", rep.Commands.Structures)
		assert.Equal(t, len(rep.Commands.Structures), rep.Commands.Passed())
		assert.Contains(t, rep.Cleanup.Remaining, replicas, "the replicas' DNS name answered")
		assert.Contains(t, rep.Cleanup.Remaining, master)
		assert.Zero(t, rep.Cleanup.Left())
		t.Logf("FR-003 from %s: pod %s (labels %v) ran %d round trips through %s and counted keys through %s in %s",
			ns.Namespace, rep.Pod, pods[0].Labels, rep.Commands.Passed(), master, replicas, time.Since(began).Round(time.Millisecond))

		_, err = cs.CoreV1().Pods(ns.Namespace).Get(ctx, rep.Pod, metav1.GetOptions{})
		assert.True(t, apierrors.IsNotFound(err), "the probe pod %s is deleted afterwards (%v)", rep.Pod, err)
	}
	_, err = cs.CoreV1().Namespaces().Get(ctx, project.App, metav1.GetOptions{})
	require.NoError(t, err, "beersystem is left in place")

	// FR-012a missing: beersystem's pods have no password, and the check says why.
	require.NoError(t, cs.CoreV1().Secrets(project.App).Delete(ctx, project.AuthSecret, metav1.DeleteOptions{}))
	_, err = kube.ProbeFromNamespace(ctx, target.ClientNamespaces()[0], "conformance:kwoktest:fr017:", time.Minute)
	assert.ErrorContains(t, err, "namespace beersystem has no Secret redis-shared-auth (FR-012a)")
	secret.ResourceVersion = ""
	_, err = cs.CoreV1().Secrets(project.App).Create(ctx, secret, metav1.CreateOptions{})
	require.NoError(t, err, "put the beersystem Secret back")

	t.Run("suites/dataplane TestFromOtherNamespaces with --target kube", func(t *testing.T) {
		runFromOtherNamespaces(t, p, probeDir)
	})
}

// watchProbePods returns a function that lists the probe pods created in ns since the
// call (the target deletes its pods before it returns).
func watchProbePods(t *testing.T, ctx context.Context, cs kubernetes.Interface, ns string) func() []corev1.Pod {
	t.Helper()
	w, err := cs.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{LabelSelector: target.ProbeLabel + "=" + target.ProbeLabelValue})
	require.NoError(t, err)
	return func() []corev1.Pod {
		defer w.Stop()
		var seen []corev1.Pod
		for {
			select {
			case ev := <-w.ResultChan():
				if p, ok := ev.Object.(*corev1.Pod); ok && ev.Type == watch.Added {
					seen = append(seen, *p)
				}
			case <-time.After(time.Second):
				// The watch delivered everything that happened before the call returned.
				return seen
			}
		}
	}
}

func runFromOtherNamespaces(t *testing.T, p *localPlane, probeDir string) {
	run := p.runSuite(t, "dataplane", probeDir, "-test.run=^TestFromOtherNamespaces$")
	for _, name := range []string{
		"TestFromOtherNamespaces/Redis_by_its_DNS_names_from_pods_of_other_namespaces",
		"TestFromOtherNamespaces/beersystem_over_the_cross-namespace_DNS_name_with_its_own_Secret",
	} {
		assert.Equal(t, report.StatusPass, run.status(t, name).Status, name)
	}
	var notes []string
	for _, rec := range run.records {
		for _, n := range rec.Notes {
			if strings.Contains(n, "probe pod") {
				notes = append(notes, n)
				t.Logf("evidence %s: %s", rec.Test, n)
			}
		}
	}
	all := strings.Join(notes, "\n")
	for _, ns := range target.ClientNamespaces() {
		assert.Contains(t, all, "probe pod "+ns.Namespace+"/redisprobe-", "evidence names the pod in %s", ns.Namespace)
	}
	assert.Contains(t, all, "dialled "+project.MasterDNSName+":6379 and "+project.ReplicasDNSName+":6379")
}
