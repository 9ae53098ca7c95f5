package target

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/redis-shared/conformance/tools/project"
)

const testPassword = "s3cret-password-for-tests"

func releaseLabels(component string) map[string]string {
	return map[string]string{"app.kubernetes.io/instance": project.Release, "app.kubernetes.io/name": "redis", "app.kubernetes.io/component": component}
}

func redisPod(name, component string, ready bool) *corev1.Pod {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	res := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("512Mi")},
	}
	probe := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"redis-cli", "ping"}}}, PeriodSeconds: 5, FailureThreshold: 3}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: project.Namespace, Labels: releaseLabels(component), UID: types.UID("uid-" + name)},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{
				{Name: "redis", Image: "bitnamilegacy/redis:8.2.1", Resources: res, LivenessProbe: probe, ReadinessProbe: probe},
				{Name: "metrics", Image: "bitnamilegacy/redis-exporter:1.76.0", Resources: res},
			},
			Volumes: []corev1.Volume{{Name: "redis-data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "redis-data-" + name}}}},
		},
		Status: corev1.PodStatus{
			Phase:             corev1.PodRunning,
			Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: status}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "redis", RestartCount: 2}},
		},
	}
}

func statefulSet(name, component string, replicas, ready int32) *appsv1.StatefulSet {
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: project.Namespace, Labels: map[string]string{
			"app.kubernetes.io/instance": project.Release, "app.kubernetes.io/component": component,
			"app.kubernetes.io/version": "8.2.1", "helm.sh/chart": "redis-23.1.1",
		}},
		Spec:   appsv1.StatefulSetSpec{Replicas: &replicas},
		Status: appsv1.StatefulSetStatus{ReadyReplicas: ready},
	}
}

func secret(ns, password string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: project.AuthSecret, Namespace: ns},
		Data:       map[string][]byte{project.AuthPasswordKey: []byte(password)},
	}
}

func pvc(name, class, phase string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: project.Namespace},
		Spec:       corev1.PersistentVolumeClaimSpec{StorageClassName: &class, VolumeName: "pv-" + name},
		Status:     corev1.PersistentVolumeClaimStatus{Phase: corev1.PersistentVolumeClaimPhase(phase)},
	}
}

func endpointSlice(service string, pods ...string) *discoveryv1.EndpointSlice {
	ready := true
	sl := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{
		Name: service + "-abc", Namespace: project.Namespace, Labels: map[string]string{discoveryv1.LabelServiceName: service},
	}}
	for i, p := range pods {
		sl.Endpoints = append(sl.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{fmt.Sprintf("10.0.0.%d", i+2)},
			Conditions: discoveryv1.EndpointConditions{Ready: &ready},
			TargetRef:  &corev1.ObjectReference{Kind: "Pod", Name: p},
		})
	}
	return sl
}

// deployment is the objects of an intact deployment on a cluster.
func deployment() []runtime.Object {
	allocate := false
	return []runtime.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: project.Namespace}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: project.App}},
		statefulSet(project.MasterService, "master", 1, 1),
		statefulSet(project.ReplicasService, "replica", 1, 1),
		redisPod("redis-shared-master-0", "master", true),
		redisPod("redis-shared-replicas-0", "replica", true),
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: project.MasterService, Namespace: project.Namespace, Labels: map[string]string{"app.kubernetes.io/instance": project.Release}},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: "10.96.0.10"}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: project.ReplicasService, Namespace: project.Namespace, Labels: map[string]string{"app.kubernetes.io/instance": project.Release}},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: "10.96.0.11"}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "redis-shared-lan", Namespace: project.Namespace},
			Spec: corev1.ServiceSpec{
				Type: corev1.ServiceTypeLoadBalancer, ClusterIP: "10.96.0.12", LoadBalancerSourceRanges: []string{"192.168.4.0/24"},
				AllocateLoadBalancerNodePorts: &allocate, Ports: []corev1.ServicePort{{Port: project.RedisPort}},
			},
			Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: "192.168.4.200"}}}}},
		endpointSlice(project.MasterService, "redis-shared-master-0"),
		endpointSlice(project.Release+"-metrics", "redis-shared-master-0", "redis-shared-replicas-0"),
		secret(project.Namespace, testPassword),
		secret(project.App, testPassword),
		pvc("redis-data-redis-shared-master-0", "local-path", "Bound"),
		pvc("redis-data-redis-shared-replicas-0", "local-path", "Pending"),
		&storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "local-path"}, Provisioner: LocalPathProvisioner},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "old-redis", Namespace: project.App},
			Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "r", Image: "docker.io/library/redis:7"}}}}}},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "beersystem", Namespace: project.App},
			Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "ghcr.io/example/beersystem:1"}}}}}},
	}
}

func monitoringObjects() []runtime.Object {
	sm := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
		"metadata": map[string]any{"name": project.Release, "namespace": project.Namespace, "labels": map[string]any{"app.kubernetes.io/instance": project.Release}},
		"spec":     map[string]any{"endpoints": []any{map[string]any{"port": "http-metrics"}}},
	}}
	rule := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
		"metadata": map[string]any{"name": project.Release, "namespace": project.Namespace, "labels": map[string]any{"app.kubernetes.io/instance": project.Release}},
		"spec": map[string]any{"groups": []any{
			map[string]any{"name": "a", "rules": []any{map[string]any{"alert": "RedisDown"}, map[string]any{"alert": "RedisMissingMaster"}}},
			map[string]any{"name": "b", "rules": []any{map[string]any{"alert": "RedisRejectedConnections"}}},
		}},
	}}
	return []runtime.Object{sm, rule}
}

func fakeKube(t *testing.T, objs []runtime.Object, monitoring []runtime.Object) *Kube {
	t.Helper()
	listKinds := map[schema.GroupVersionResource]string{
		ServiceMonitorResource: "ServiceMonitorList",
		PrometheusRuleResource: "PrometheusRuleList",
		IPAddressPoolResource:  "IPAddressPoolList",
	}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), listKinds, monitoring...)
	return NewKube(fake.NewClientset(objs...), dyn)
}

func TestKubeInventory(t *testing.T) {
	k := fakeKube(t, deployment(), monitoringObjects())
	inv, err := k.Inventory(context.Background())
	require.NoError(t, err)

	assert.Equal(t, NamespaceFact{Name: project.Namespace, Exists: true, Phase: "Active"}, inv.Namespace)
	assert.Len(t, inv.StatefulSets, 2)
	require.Len(t, inv.Pods, 2)
	master := inv.Pods[0]
	assert.Equal(t, "redis-shared-master-0", master.Name)
	assert.Equal(t, "master", master.Component)
	assert.True(t, master.Ready)
	assert.Equal(t, int32(2), master.Restarts)
	assert.Equal(t, []string{"redis-data-redis-shared-master-0"}, master.Claims)
	assert.Equal(t, map[string]string{"cpu": "100m", "memory": "256Mi"}, master.Containers[0].Requests)
	assert.Equal(t, &ProbeFact{Handler: "exec", PeriodSeconds: 5, FailureThreshold: 3}, master.Containers[0].Liveness)
	assert.Nil(t, master.Containers[1].Liveness)

	lbs := inv.LoadBalancers()
	require.Len(t, lbs, 1)
	assert.Equal(t, []string{"192.168.4.200"}, lbs[0].IngressIPs)
	assert.Equal(t, []string{"192.168.4.0/24"}, lbs[0].SourceRanges)
	require.NotNil(t, lbs[0].AllocateNodePorts)
	assert.False(t, *lbs[0].AllocateNodePorts)
	metrics, ok := inv.Service(project.Release + "-metrics")
	assert.False(t, ok, "no metrics Service in the fixture, only its slice")
	assert.Empty(t, metrics.ReadyPods)
	masterSvc, ok := inv.Service(project.MasterService)
	require.True(t, ok)
	assert.Equal(t, 1, masterSvc.ReadyEndpoints)
	assert.Equal(t, []string{"redis-shared-master-0"}, masterSvc.ReadyPods)

	own, copied := inv.Secret(project.Namespace), inv.Secret(project.App)
	assert.True(t, own.Exists && own.HasKey && copied.Exists && copied.HasKey)
	assert.True(t, own.Password.Equal(copied.Password))

	require.Len(t, inv.PVCs, 2)
	assert.Equal(t, PVCFact{Name: "redis-data-redis-shared-master-0", Phase: "Bound", StorageClass: "local-path", Provisioner: LocalPathProvisioner, Volume: "pv-redis-data-redis-shared-master-0"}, inv.PVCs[0])
	assert.Equal(t, "Pending", inv.PVCs[1].Phase)

	assert.Empty(t, inv.MonitoringError)
	assert.Equal(t, []MonitorFact{{Name: project.Release, Release: project.Release, Count: 1}}, inv.ServiceMonitors)
	assert.Equal(t, []MonitorFact{{Name: project.Release, Release: project.Release, Count: 3}}, inv.PrometheusRules)
	assert.Equal(t, []string{"Deployment beersystem/old-redis"}, inv.OldRedis)
}

func TestKubeInventoryMissingObjects(t *testing.T) {
	t.Run("no namespace", func(t *testing.T) {
		inv, err := fakeKube(t, nil, nil).Inventory(context.Background())
		require.NoError(t, err)
		assert.False(t, inv.Namespace.Exists)
		assert.Empty(t, inv.Pods)
	})
	t.Run("secret copies differ or are missing", func(t *testing.T) {
		objs := []runtime.Object{
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: project.Namespace}},
			secret(project.Namespace, testPassword),
		}
		inv, err := fakeKube(t, objs, monitoringObjects()).Inventory(context.Background())
		require.NoError(t, err)
		assert.False(t, inv.Secret(project.App).Exists)
		assert.False(t, inv.Secret(project.Namespace).Password.Equal(inv.Secret(project.App).Password), "a missing digest equals nothing")

		objs = append(objs, secret(project.App, "another"))
		inv, err = fakeKube(t, objs, monitoringObjects()).Inventory(context.Background())
		require.NoError(t, err)
		assert.False(t, inv.Secret(project.Namespace).Password.Equal(inv.Secret(project.App).Password))
	})
}

func TestDigestNeverPrints(t *testing.T) {
	inv, err := fakeKube(t, deployment(), monitoringObjects()).Inventory(context.Background())
	require.NoError(t, err)
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(format, inv.Secrets)
		assert.NotContains(t, out, testPassword, format)
		assert.Contains(t, out, "<sha256 hidden>", format)
	}
	assert.Equal(t, "<none>", Digest{}.String())
}

func TestKubeEndpoints(t *testing.T) {
	ep, err := fakeKube(t, deployment(), nil).Endpoints(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "redis-shared-master.redis.svc.cluster.local:6379", ep.Master)
	assert.Equal(t, "redis-shared-replicas.redis.svc.cluster.local:6379", ep.Replicas)
	assert.Equal(t, "192.168.4.200:6379", ep.LoadBalancer)
	assert.Equal(t, []string{"192.168.4.0/24"}, ep.SourceRanges)
	require.Len(t, ep.Instances, 2)
	assert.Equal(t, Instance{Name: "master", Role: RoleMaster, Pod: "redis-shared-master-0", Addr: "redis-shared-master-0.redis-shared-headless.redis.svc.cluster.local:6379"}, ep.Instances[0])
	assert.Equal(t, "replica-0", ep.Instances[1].Name)
}

func TestKubeLeaks(t *testing.T) {
	k := fakeKube(t, deployment(), nil)
	assert.True(t, k.Leaks([]byte("log line with "+testPassword+" inside")))
	assert.False(t, k.Leaks([]byte("nothing here")))
}

func TestKubeFacts(t *testing.T) {
	tests := []struct {
		name   string
		config string
		want   string
	}{
		{name: "no kube-proxy", want: "unknown: no kube-system/kube-proxy ConfigMap (kube-proxy not deployed by kubeadm/kind, or replaced): could not tell kube-proxy's mode or whether it runs; could not tell what assigned address 192.168.4.200"},
		{name: "nftables", config: "kind: KubeProxyConfiguration\nmode: \"nftables\"\n", want: "kube-proxy, mode nftables"},
		{name: "empty mode", config: "kind: KubeProxyConfiguration\nmode: \"\"\n", want: "kube-proxy, mode default (iptables)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs := deployment()
			if tc.config != "" {
				objs = append(objs, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kube-proxy", Namespace: "kube-system"}, Data: map[string]string{"config.conf": tc.config}})
			}
			f, err := fakeKube(t, objs, nil).Facts(context.Background())
			require.NoError(t, err)
			assert.Equal(t, "8.2.1", f.RedisVersion)
			assert.Equal(t, "redis-23.1.1", f.ChartVersion)
			assert.Contains(t, f.Enforcement, tc.want)
		})
	}
}

func TestKubeDataPlaneNotBuilt(t *testing.T) {
	k := fakeKube(t, nil, nil)
	// The Cluster vantage is the probe pod's (kubeprobe_test.go); LAN and outside are
	// in kubevantage_test.go.
	_, err := k.Prometheus()
	assert.True(t, errors.Is(err, ErrNoPrometheus))
}

func TestRunsRedis(t *testing.T) {
	tests := []struct {
		image string
		want  bool
	}{
		{"redis", true},
		{"redis:7.2", true},
		{"docker.io/bitnamilegacy/redis:8.2.1-debian-12-r0", true},
		{"registry:5000/valkey/valkey:8", true},
		{"bitnamilegacy/redis-exporter:1.76.0", false},
		{"ghcr.io/example/beersystem:1", false},
	}
	for _, tc := range tests {
		t.Run(tc.image, func(t *testing.T) {
			spec := corev1.PodSpec{Containers: []corev1.Container{{Image: tc.image}}}
			assert.Equal(t, tc.want, runsRedis(spec))
		})
	}
	client := corev1.Container{Image: "bitnamilegacy/redis:8.2.1", Command: []string{"/bin/sh", "-c"}}
	assert.False(t, runsRedis(corev1.PodSpec{Containers: []corev1.Container{client}}), "redis-cli client borrowing the image")
	client.Ports = []corev1.ContainerPort{{ContainerPort: project.RedisPort}}
	assert.True(t, runsRedis(corev1.PodSpec{Containers: []corev1.Container{client}}), "custom command serving 6379")
}

func TestKubeStopAndKill(t *testing.T) {
	k := fakeKube(t, deployment(), nil)
	ctx := context.Background()
	revert, err := k.Kill(ctx, "replica-0")
	require.NoError(t, err)
	require.NotNil(t, revert)
	_, err = k.cs.CoreV1().Pods(project.Namespace).Get(ctx, "redis-shared-replicas-0", metav1.GetOptions{})
	assert.Error(t, err, "the pod is deleted")
	_, err = k.Kill(ctx, "replica-7")
	assert.ErrorContains(t, err, `no instance "replica-7"`)
}
