package target

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/redis-shared/conformance/tools/project"
)

// IPAddressPoolResource is MetalLB's address pool (metallb.io/v1beta1).
var IPAddressPoolResource = schema.GroupVersionResource{Group: "metallb.io", Version: "v1beta1", Resource: "ipaddresspools"}

// What the enforcement fact reads from the cluster.
const (
	// metalLBPoolAnnotation is what the MetalLB controller (0.14 and later) writes on a
	// Service it gave an address; the older prefix is still written by some versions.
	metalLBPoolAnnotation          = "metallb.io/ip-allocated-from-pool"
	metalLBPoolAnnotationDeprecate = "metallb.universe.tf/ip-allocated-from-pool"
	// ciliumKubeProxyReplacement is the cilium-config key that says whether Cilium
	// replaces kube-proxy (it then applies the source ranges in eBPF).
	ciliumKubeProxyReplacement = "kube-proxy-replacement"
)

// enforcementInputs is what the API tells about the path to the LoadBalancer address.
type enforcementInputs struct {
	// Service is the LoadBalancer Service in the namespace; "" when there is none.
	Service string
	// IngressIP is its first ingress address; "" when none is assigned yet.
	IngressIP string
	// IPMode is the ingress ipMode: "VIP" (nodes capture the address: kube-proxy or its
	// replacement filters) or "Proxy" (the load balancer proxies: it must filter).
	// Unset means VIP.
	IPMode string
	// LoadBalancerClass is the Service's spec.loadBalancerClass; "" when unset.
	LoadBalancerClass string
	// KubeProxyConfig is kube-system/kube-proxy's config.conf; KubeProxyFound says
	// whether that ConfigMap exists (kubeadm and kind write it).
	KubeProxyConfig string
	KubeProxyFound  bool
	// CiliumReplacement is kube-proxy-replacement from kube-system/cilium-config; ""
	// when Cilium is not configured there.
	CiliumReplacement string
	// Providers are the distinct providerID schemes of the nodes ("kind", "k3s").
	Providers []string
	// Unread lists what could not be read (RBAC), each with why.
	Unread []string
	// MetalLBPool is the pool MetalLB took the address from (its annotation, or the
	// IPAddressPool that holds the address); "" when none does.
	MetalLBPool string
}

// enforcement names the layer that applies loadBalancerSourceRanges, as far as the
// API tells, and says what it could not tell.
func (k *Kube) enforcement(ctx context.Context) (string, error) {
	in, err := k.enforcementInputs(ctx)
	if err != nil {
		return "", fmt.Errorf("kube facts: %w", err)
	}
	return describeEnforcement(in), nil
}

// forbidden reports whether an API error only means that we may not read the object;
// that is a limit of the kubeconfig, noted in the fact, not a failure.
func forbidden(err error) bool {
	return apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err)
}

func (k *Kube) enforcementInputs(ctx context.Context) (enforcementInputs, error) {
	var in enforcementInputs
	svcs, err := k.cs.CoreV1().Services(project.Namespace).List(ctx, metav1.ListOptions{})
	switch {
	case forbidden(err):
		in.Unread = append(in.Unread, "Services in "+project.Namespace+" (forbidden)")
	case err != nil:
		return in, fmt.Errorf("list Services in %s: %w", project.Namespace, err)
	default:
		var lb *corev1.Service
		// The same choice as Endpoints: the first LoadBalancer by name.
		sort.Slice(svcs.Items, func(i, j int) bool { return svcs.Items[i].Name < svcs.Items[j].Name })
		for i := range svcs.Items {
			if svcs.Items[i].Spec.Type == corev1.ServiceTypeLoadBalancer {
				lb = &svcs.Items[i]
				break
			}
		}
		if lb != nil {
			in.Service = lb.Name
			if lb.Spec.LoadBalancerClass != nil {
				in.LoadBalancerClass = *lb.Spec.LoadBalancerClass
			}
			for _, ing := range lb.Status.LoadBalancer.Ingress {
				if ing.IP == "" {
					continue
				}
				in.IngressIP = ing.IP
				if ing.IPMode != nil {
					in.IPMode = string(*ing.IPMode)
				}
				break
			}
			in.MetalLBPool = lb.Annotations[metalLBPoolAnnotation]
			if in.MetalLBPool == "" {
				in.MetalLBPool = lb.Annotations[metalLBPoolAnnotationDeprecate]
			}
		}
	}

	cm, err := k.cs.CoreV1().ConfigMaps("kube-system").Get(ctx, "kube-proxy", metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case forbidden(err):
		in.Unread = append(in.Unread, "kube-system/kube-proxy ConfigMap (forbidden)")
	case err != nil:
		return in, fmt.Errorf("read kube-proxy config: %w", err)
	default:
		in.KubeProxyFound, in.KubeProxyConfig = true, cm.Data["config.conf"]
	}

	cilium, err := k.cs.CoreV1().ConfigMaps("kube-system").Get(ctx, "cilium-config", metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case forbidden(err):
		in.Unread = append(in.Unread, "kube-system/cilium-config ConfigMap (forbidden)")
	case err != nil:
		return in, fmt.Errorf("read cilium config: %w", err)
	default:
		in.CiliumReplacement = cilium.Data[ciliumKubeProxyReplacement]
	}

	nodes, err := k.cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	switch {
	case forbidden(err):
		in.Unread = append(in.Unread, "Nodes (forbidden)")
	case err != nil:
		return in, fmt.Errorf("list Nodes: %w", err)
	default:
		seen := map[string]bool{}
		for _, n := range nodes.Items {
			if scheme, _, ok := strings.Cut(n.Spec.ProviderID, "://"); ok && !seen[scheme] {
				seen[scheme] = true
				in.Providers = append(in.Providers, scheme)
			}
		}
		sort.Strings(in.Providers)
	}

	// Older MetalLB versions write no annotation: find the pool that holds the address.
	if in.MetalLBPool == "" && in.IngressIP != "" && k.dyn != nil {
		pools, err := k.dyn.Resource(IPAddressPoolResource).List(ctx, metav1.ListOptions{})
		switch {
		case apierrors.IsNotFound(err):
			// No MetalLB CRDs: not MetalLB.
		case forbidden(err):
			in.Unread = append(in.Unread, "MetalLB IPAddressPools (forbidden)")
		case err != nil:
			return in, fmt.Errorf("list MetalLB IPAddressPools: %w", err)
		default:
			ip, perr := netip.ParseAddr(in.IngressIP)
			for _, p := range pools.Items {
				var pool metalLBPool
				if err := runtime.DefaultUnstructuredConverter.FromUnstructured(p.Object, &pool); err != nil {
					return in, fmt.Errorf("decode MetalLB IPAddressPool %s: %w", p.GetName(), err)
				}
				for _, entry := range pool.Spec.Addresses {
					if perr == nil && poolHolds(entry, ip) {
						in.MetalLBPool = p.GetName()
					}
				}
			}
		}
	}
	return in, nil
}

// metalLBPool is the part of a MetalLB IPAddressPool (metallb.io/v1beta1) read here;
// MetalLB's Go types would pull in its controller's module.
type metalLBPool struct {
	Spec struct {
		Addresses []string `json:"addresses"`
	} `json:"spec"`
}

// poolHolds reports whether a MetalLB pool entry (a CIDR or "first-last") holds ip.
func poolHolds(entry string, ip netip.Addr) bool {
	entry = strings.TrimSpace(entry)
	if first, last, ok := strings.Cut(entry, "-"); ok {
		lo, err1 := netip.ParseAddr(strings.TrimSpace(first))
		hi, err2 := netip.ParseAddr(strings.TrimSpace(last))
		return err1 == nil && err2 == nil && lo.Compare(ip) <= 0 && ip.Compare(hi) <= 0
	}
	p, err := netip.ParsePrefix(entry)
	return err == nil && p.Contains(ip)
}

// kubeProxyMode reads mode from kube-proxy's config.conf; "" means the default.
func kubeProxyMode(config string) string {
	mode := ""
	for _, line := range strings.Split(config, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "mode:"); ok {
			mode = strings.Trim(strings.TrimSpace(v), `"'`)
		}
	}
	return mode
}

// describeEnforcement turns the inputs into the report's one line: the layer first,
// then how the address was assigned, then what could not be told.
func describeEnforcement(in enforcementInputs) string {
	has := func(scheme string) bool {
		for _, p := range in.Providers {
			if p == scheme {
				return true
			}
		}
		return false
	}
	var layer string
	var notes []string
	switch {
	case in.Service == "" && len(in.Unread) == 0:
		layer = "unknown: no LoadBalancer Service in " + project.Namespace
	case in.Service != "" && in.IngressIP == "":
		layer = fmt.Sprintf("unknown: LoadBalancer Service %s has no address yet", in.Service)
	case in.IPMode == string(corev1.LoadBalancerIPModeProxy) && has("kind"):
		// ipMode Proxy: kube-proxy leaves the address to the load balancer, whose Envoy
		// matches the source prefixes (cloud-provider-kind v0.3.0 and later).
		layer = "cloud-provider-kind's Envoy (ingress ipMode Proxy; nodes kind://)"
	case in.IPMode == string(corev1.LoadBalancerIPModeProxy):
		layer = "unknown: the external load balancer proxies (ingress ipMode Proxy), and its provider could not be told" + providersNote(in.Providers)
	case in.CiliumReplacement == "true" || in.CiliumReplacement == "strict":
		layer = "Cilium's kube-proxy replacement (eBPF; cilium-config kube-proxy-replacement " + in.CiliumReplacement + ")"
	case in.KubeProxyFound:
		mode := kubeProxyMode(in.KubeProxyConfig)
		if mode == "" {
			mode = "default (iptables)"
		}
		layer = "kube-proxy, mode " + mode
	case has("k3s"):
		layer = "kube-proxy embedded in k3s (nodes k3s://); its mode is in the k3s config, not the API: could not tell it"
	default:
		layer = "unknown: no kube-system/kube-proxy ConfigMap (kube-proxy not deployed by kubeadm/kind, or replaced): could not tell kube-proxy's mode or whether it runs"
	}
	if in.IngressIP != "" {
		switch {
		case in.MetalLBPool != "":
			notes = append(notes, fmt.Sprintf("address %s from MetalLB pool %s (MetalLB assigns and announces, it does not filter)", in.IngressIP, in.MetalLBPool))
		case has("kind") && in.IPMode == string(corev1.LoadBalancerIPModeProxy):
			notes = append(notes, fmt.Sprintf("address %s from cloud-provider-kind", in.IngressIP))
		default:
			notes = append(notes, fmt.Sprintf("could not tell what assigned address %s (no MetalLB annotation or pool holds it)", in.IngressIP))
		}
	}
	if in.LoadBalancerClass != "" {
		notes = append(notes, "loadBalancerClass "+in.LoadBalancerClass)
	}
	if len(in.Unread) > 0 {
		notes = append(notes, "could not read "+strings.Join(in.Unread, ", "))
	}
	if len(notes) == 0 {
		return layer
	}
	return layer + "; " + strings.Join(notes, "; ")
}

func providersNote(providers []string) string {
	if len(providers) == 0 {
		return " (nodes carry no providerID)"
	}
	return " (nodes " + strings.Join(providers, "://, ") + "://)"
}
