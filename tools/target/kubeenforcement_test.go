package target

import (
	"context"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/redis-shared/conformance/tools/project"
)

// lbService is the LAN LoadBalancer Service with an address and optional extras.
func lbService(ip string, mode *corev1.LoadBalancerIPMode, annotations map[string]string, class string) *corev1.Service {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "redis-shared-lan", Namespace: project.Namespace, Annotations: annotations},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, LoadBalancerSourceRanges: []string{"192.168.4.0/24"}},
	}
	if class != "" {
		svc.Spec.LoadBalancerClass = &class
	}
	if ip != "" {
		svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: ip, IPMode: mode}}
	}
	return svc
}

func node(name, providerID string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{ProviderID: providerID}}
}

func kubeProxyConfigMap(mode string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-proxy", Namespace: "kube-system"},
		Data:       map[string]string{"config.conf": "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: \"" + mode + "\"\n"},
	}
}

func ipAddressPool(name string, addresses ...string) *unstructured.Unstructured {
	var addrs []any
	for _, a := range addresses {
		addrs = append(addrs, a)
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool",
		"metadata": map[string]any{"name": name, "namespace": "metallb-system"},
		"spec":     map[string]any{"addresses": addrs},
	}}
}

func TestKubeEnforcement(t *testing.T) {
	proxy, vip := corev1.LoadBalancerIPModeProxy, corev1.LoadBalancerIPModeVIP
	metalLBAnnotation := map[string]string{metalLBPoolAnnotation: "lan"}
	tests := []struct {
		name  string
		objs  []runtime.Object
		pools []runtime.Object
		want  string
	}{
		{
			name: "kubeadm with MetalLB's annotation",
			objs: []runtime.Object{lbService("192.168.4.200", nil, metalLBAnnotation, ""), kubeProxyConfigMap("nftables"), node("n1", "")},
			want: "kube-proxy, mode nftables; address 192.168.4.200 from MetalLB pool lan (MetalLB assigns and announces, it does not filter)",
		},
		{
			name:  "MetalLB without the annotation: the pool that holds the address",
			objs:  []runtime.Object{lbService("192.168.4.203", &vip, nil, ""), kubeProxyConfigMap("")},
			pools: []runtime.Object{ipAddressPool("other", "10.0.0.0/24"), ipAddressPool("homelab", "192.168.4.200-192.168.4.210")},
			want:  "kube-proxy, mode default (iptables); address 192.168.4.203 from MetalLB pool homelab",
		},
		{
			name: "MetalLB's old annotation, ipvs",
			objs: []runtime.Object{lbService("192.168.4.200", nil, map[string]string{metalLBPoolAnnotationDeprecate: "old"}, ""), kubeProxyConfigMap("ipvs")},
			want: "kube-proxy, mode ipvs; address 192.168.4.200 from MetalLB pool old",
		},
		{
			name: "no kube-proxy ConfigMap: says what it could not tell",
			objs: []runtime.Object{lbService("192.168.4.200", nil, metalLBAnnotation, "")},
			want: "unknown: no kube-system/kube-proxy ConfigMap (kube-proxy not deployed by kubeadm/kind, or replaced): could not tell kube-proxy's mode or whether it runs; address 192.168.4.200 from MetalLB pool lan",
		},
		{
			name: "k3s keeps kube-proxy inside",
			objs: []runtime.Object{lbService("192.168.4.200", nil, metalLBAnnotation, ""), node("pi", "k3s://pi")},
			want: "kube-proxy embedded in k3s (nodes k3s://); its mode is in the k3s config, not the API: could not tell it; address 192.168.4.200 from MetalLB pool lan",
		},
		{
			name: "Cilium replaces kube-proxy",
			objs: []runtime.Object{
				lbService("192.168.4.200", nil, metalLBAnnotation, ""),
				&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cilium-config", Namespace: "kube-system"}, Data: map[string]string{ciliumKubeProxyReplacement: "true"}},
			},
			want: "Cilium's kube-proxy replacement (eBPF; cilium-config kube-proxy-replacement true); address 192.168.4.200",
		},
		{
			name: "cloud-provider-kind proxies through Envoy",
			objs: []runtime.Object{lbService("172.18.0.5", &proxy, nil, ""), kubeProxyConfigMap("iptables"), node("kind-control-plane", "kind://docker/kind/kind-control-plane")},
			want: "cloud-provider-kind's Envoy (ingress ipMode Proxy; nodes kind://); address 172.18.0.5 from cloud-provider-kind",
		},
		{
			name: "ipMode Proxy from an unknown provider",
			objs: []runtime.Object{lbService("203.0.113.7", &proxy, nil, "example.com/lb"), node("n1", "aws:///eu-west-1a/i-1")},
			want: "unknown: the external load balancer proxies (ingress ipMode Proxy), and its provider could not be told (nodes aws://); could not tell what assigned address 203.0.113.7 (no MetalLB annotation or pool holds it); loadBalancerClass example.com/lb",
		},
		{
			name: "no address yet",
			objs: []runtime.Object{lbService("", nil, nil, ""), kubeProxyConfigMap("nftables")},
			want: "unknown: LoadBalancer Service redis-shared-lan has no address yet",
		},
		{
			name: "no LoadBalancer at all",
			objs: []runtime.Object{kubeProxyConfigMap("nftables")},
			want: "unknown: no LoadBalancer Service in redis",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := fakeKube(t, tc.objs, tc.pools)
			f, err := k.Facts(context.Background())
			require.NoError(t, err)
			assert.Contains(t, f.Enforcement, tc.want)
		})
	}
}

// A kubeconfig that may not read Nodes or kube-system still gets a fact that says so.
func TestKubeEnforcementForbidden(t *testing.T) {
	cs := fake.NewClientset(lbService("192.168.4.200", nil, map[string]string{metalLBPoolAnnotation: "lan"}, ""))
	deny := func(action k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: action.GetResource().Resource}, "", nil)
	}
	cs.PrependReactor("list", "nodes", deny)
	cs.PrependReactor("get", "configmaps", deny)
	k := NewKube(cs, nil)
	got, err := k.enforcement(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "unknown: no kube-system/kube-proxy ConfigMap (kube-proxy not deployed by kubeadm/kind, or replaced): could not tell kube-proxy's mode or whether it runs; "+
		"address 192.168.4.200 from MetalLB pool lan (MetalLB assigns and announces, it does not filter); "+
		"could not read kube-system/kube-proxy ConfigMap (forbidden), kube-system/cilium-config ConfigMap (forbidden), Nodes (forbidden)", got)

	// Any other API error is an error, not a guess.
	cs.PrependReactor("list", "services", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewServiceUnavailable("etcd down")
	})
	_, err = k.enforcement(context.Background())
	assert.ErrorContains(t, err, "list Services in redis")
}

func TestPoolHolds(t *testing.T) {
	ip := netip.MustParseAddr("192.168.4.205")
	tests := []struct {
		entry string
		want  bool
	}{
		{"192.168.4.200-192.168.4.210", true},
		{"192.168.4.200 - 192.168.4.204", false},
		{"192.168.4.0/24", true},
		{"192.168.5.0/24", false},
		{"not an address", false},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, poolHolds(tc.entry, ip), tc.entry)
	}
}
