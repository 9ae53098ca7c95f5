package target

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/redis-shared/conformance/tools/kubeconn"
	"github.com/redis-shared/conformance/tools/loadgen"
	"github.com/redis-shared/conformance/tools/project"
	"github.com/redis-shared/conformance/tools/waitfor"
)

// The deployment as the kube target looks for it (FR-001, FR-017a, tofu/).
const (
	// LocalPathProvisioner is what the spec's local-path-provisioner registers as.
	LocalPathProvisioner = "rancher.io/local-path"
)

// kubeCallTimeout bounds each API call.
const kubeCallTimeout = 20 * time.Second

// podBackTimeout bounds the wait for a deleted pod's replacement and the deployment's
// health after it.
const podBackTimeout = 2 * time.Minute

// ErrKubeDataPlane is what the kube target answers for a data-plane client from a
// vantage point it does not know.
var ErrKubeDataPlane = errors.New("kube target: no data-plane client from that vantage point (it serves lan and outside; the probe pod stands for cluster)")

// Resources of the Prometheus operator the chart renders objects of.
var (
	ServiceMonitorResource = schema.GroupVersionResource{Group: "monitoring.coreos.com", Version: "v1", Resource: "servicemonitors"}
	PrometheusRuleResource = schema.GroupVersionResource{Group: "monitoring.coreos.com", Version: "v1", Resource: "prometheusrules"}
)

// Kube is the target for a real cluster reached through a kubeconfig. It reads the
// inventory (objects and their status), measures from an in-cluster probe pod
// (kubeprobe.go), connects from this machine as a LAN host or through a named outside
// proxy (kubevantage.go), and deletes or scales pods for faults.
type Kube struct {
	cs   kubernetes.Interface
	dyn  dynamic.Interface
	cfg  *rest.Config
	opts KubeOptions
	// probe is the in-cluster probe pod (kubeprobe.go).
	probe probeHolder
	// host is the network the LAN and outside vantage points dial from
	// (kubevantage.go); nil is this machine's.
	host hostNetwork
	// Host is the API server's address, for the report.
	Host string
}

// KubeOptions configure the kube target.
type KubeOptions struct {
	// Kubeconfig is the kubeconfig's path; "" uses $KUBECONFIG or ~/.kube/config.
	Kubeconfig string
	// Context is the kubeconfig context to use; "" is its current context.
	Context string
	// LANVia names a LAN vantage point reached through a SOCKS5 proxy on a LAN host
	// (e.g. `ssh -D` to one); "" means this machine, when it sits on the LAN.
	LANVia string
	// ProbeBinary is the static probe binary streamed into the in-cluster probe pod.
	ProbeBinary string
	// OutsideVia names the outside vantage point (a SOCKS5 proxy on a host outside the
	// LAN); "" means none, and checks that need one skip with that reason.
	OutsideVia string
	// ProbeDir is where the probe binary is streamed in the probe pod; "" is /tmp.
	ProbeDir string
	// PrometheusURL is the cluster's Prometheus as the probe pod reaches it (e.g.
	// http://prometheus-operated.monitoring.svc:9090); "" means none, and the
	// monitoring checks from the probe pod skip with that reason.
	PrometheusURL string
}

// OpenKube connects to the cluster of the kubeconfig and checks that the API server
// answers.
func OpenKube(ctx context.Context, opts KubeOptions) (*Kube, error) {
	if opts.OutsideVia != "" {
		// A mistyped proxy address is bad input, not a reason to skip (kubevantage.go).
		if err := ParseOutsideVia(opts.OutsideVia); err != nil {
			return nil, fmt.Errorf("open kube target: %w", err)
		}
	}
	if opts.LANVia != "" {
		if err := ParseLANVia(opts.LANVia); err != nil {
			return nil, fmt.Errorf("open kube target: %w", err)
		}
	}
	if opts.PrometheusURL != "" {
		// A mistyped URL is bad input too (kubeprobe_checks.go).
		if err := checkPrometheusURL(opts.PrometheusURL); err != nil {
			return nil, fmt.Errorf("open kube target: %w", err)
		}
	}
	// kubeconn: kubeconfig files must be regular and bounded, and every request ends
	// within kubeCallTimeout even when an exec credential plugin never returns.
	cfg, err := kubeconn.Load(opts.Kubeconfig, opts.Context, kubeCallTimeout)
	if err != nil {
		return nil, fmt.Errorf("open kube target: %w", err)
	}
	// Each assessment reads the inventory afresh (a dozen GETs and LISTs): client-go's
	// default 5 requests/s would make a suite run take tens of seconds.
	cfg.QPS, cfg.Burst = 50, 100
	cs, dyn, err := kubeconn.Clients(cfg)
	if err != nil {
		return nil, fmt.Errorf("open kube target: %w", err)
	}
	k := NewKube(cs, dyn)
	k.Host, k.cfg, k.opts = cfg.Host, cfg, opts
	vctx, cancel := context.WithTimeout(ctx, kubeCallTimeout)
	defer cancel()
	if _, err := cs.Discovery().RESTClient().Get().AbsPath("/version").DoRaw(vctx); err != nil {
		return nil, fmt.Errorf("open kube target: API server %s: %w", cfg.Host, err)
	}
	return k, nil
}

// NewKube builds the target on given clients (tests pass fakes).
func NewKube(cs kubernetes.Interface, dyn dynamic.Interface) *Kube {
	return &Kube{cs: cs, dyn: dyn}
}

// Name is "kube".
func (k *Kube) Name() string { return "kube" }

// Close deletes the probe pod, if one was made.
func (k *Kube) Close() error { return k.closeProbe() }

// Digest is the SHA-256 of a password. It prints as a placeholder so that no
// evidence, log or failure message carries it (a hash of a weak password leaks it).
type Digest struct {
	sum [sha256.Size]byte
	set bool
}

// String hides the value.
func (d Digest) String() string {
	if !d.set {
		return "<none>"
	}
	return "<sha256 hidden>"
}

// GoString hides the value from %#v too.
func (d Digest) GoString() string { return d.String() }

// Equal reports whether both digests are set and equal.
func (d Digest) Equal(o Digest) bool { return d.set && o.set && d.sum == o.sum }

// Inventory is what the cluster holds of the deployment, read in one pass. It only
// collects; the suites judge it against the catalog.
type Inventory struct {
	Namespace       NamespaceFact
	StatefulSets    []StatefulSetFact
	Pods            []PodFact
	Services        []ServiceFact
	Secrets         []SecretFact
	PVCs            []PVCFact
	ServiceMonitors []MonitorFact
	PrometheusRules []MonitorFact
	// MonitoringError says why the Prometheus operator objects could not be listed
	// (e.g. its CRDs are not installed); empty when they could.
	MonitoringError string
	// OldRedis lists the workloads in beersystem that run a Redis image (its own
	// Redis, which the migration decommissions).
	OldRedis []string
}

// NamespaceFact is the deployment's namespace.
type NamespaceFact struct {
	Name   string
	Exists bool
	Phase  string
}

// StatefulSetFact is one StatefulSet of the release.
type StatefulSetFact struct {
	Name      string
	Component string
	Release   string
	Replicas  int32
	Ready     int32
}

// PodFact is one Redis pod of the release.
type PodFact struct {
	Name       string
	Component  string
	Phase      string
	Ready      bool
	Restarts   int32
	Containers []ContainerFact
	// Claims are the PVCs the pod mounts.
	Claims []string
}

// ContainerFact is a container of a Redis pod.
type ContainerFact struct {
	Name      string
	Image     string
	Requests  map[string]string
	Limits    map[string]string
	Liveness  *ProbeFact
	Readiness *ProbeFact
}

// ProbeFact describes a probe.
type ProbeFact struct {
	Handler          string
	PeriodSeconds    int32
	FailureThreshold int32
}

// ServiceFact is one Service in the namespace.
type ServiceFact struct {
	Name         string
	Type         string
	ClusterIP    string
	Release      string
	IngressIPs   []string
	SourceRanges []string
	// AllocateNodePorts is nil when the field is unset (Kubernetes then allocates).
	AllocateNodePorts *bool
	NodePorts         []int32
	// ReadyEndpoints counts ready endpoint addresses over its EndpointSlices.
	ReadyEndpoints int
	// ReadyPods names the pods behind the ready endpoints.
	ReadyPods []string
}

// SecretFact is the auth Secret in one namespace.
type SecretFact struct {
	Namespace string
	Exists    bool
	HasKey    bool
	Password  Digest
}

// PVCFact is one PVC in the namespace.
type PVCFact struct {
	Name         string
	Phase        string
	StorageClass string
	// Provisioner of the StorageClass; empty when the class does not exist.
	Provisioner string
	Volume      string
}

// MonitorFact is a ServiceMonitor or PrometheusRule.
type MonitorFact struct {
	Name    string
	Release string
	// Count is the number of endpoints (ServiceMonitor) or rules (PrometheusRule).
	Count int
}

// Service returns the named Service.
func (inv Inventory) Service(name string) (ServiceFact, bool) {
	for _, s := range inv.Services {
		if s.Name == name {
			return s, true
		}
	}
	return ServiceFact{}, false
}

// Secret returns the auth Secret fact of a namespace.
func (inv Inventory) Secret(ns string) SecretFact {
	for _, s := range inv.Secrets {
		if s.Namespace == ns {
			return s
		}
	}
	return SecretFact{Namespace: ns}
}

// LoadBalancers returns the Services of type LoadBalancer.
func (inv Inventory) LoadBalancers() []ServiceFact {
	var out []ServiceFact
	for _, s := range inv.Services {
		if s.Type == string(corev1.ServiceTypeLoadBalancer) {
			out = append(out, s)
		}
	}
	return out
}

// Inventory reads the deployment's objects. A missing object is a fact, not an
// error; an error means the cluster could not be read.
func (k *Kube) Inventory(ctx context.Context) (Inventory, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*kubeCallTimeout)
	defer cancel()
	var inv Inventory
	ns := project.Namespace
	inv.Namespace = NamespaceFact{Name: ns}
	nsObj, err := k.cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return inv, nil
	case err != nil:
		return inv, fmt.Errorf("read namespace %s: %w", ns, err)
	}
	inv.Namespace.Exists, inv.Namespace.Phase = true, string(nsObj.Status.Phase)

	release := "app.kubernetes.io/instance=" + project.Release
	sets, err := k.cs.AppsV1().StatefulSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return inv, fmt.Errorf("list StatefulSets in %s: %w", ns, err)
	}
	for _, s := range sets.Items {
		inv.StatefulSets = append(inv.StatefulSets, statefulSetFact(s))
	}
	pods, err := k.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: release + ",app.kubernetes.io/name=redis"})
	if err != nil {
		return inv, fmt.Errorf("list pods in %s: %w", ns, err)
	}
	for _, p := range pods.Items {
		inv.Pods = append(inv.Pods, podFact(p))
	}
	sort.Slice(inv.Pods, func(i, j int) bool { return inv.Pods[i].Name < inv.Pods[j].Name })
	if inv.Services, err = k.services(ctx, ns); err != nil {
		return inv, err
	}
	for _, secretNS := range []string{ns, project.App} {
		fact, err := k.secret(ctx, secretNS)
		if err != nil {
			return inv, err
		}
		inv.Secrets = append(inv.Secrets, fact)
	}
	if inv.PVCs, err = k.pvcs(ctx, ns); err != nil {
		return inv, err
	}
	inv.ServiceMonitors, err = k.monitors(ctx, ServiceMonitorResource, ns, "endpoints")
	if err == nil {
		inv.PrometheusRules, err = k.monitors(ctx, PrometheusRuleResource, ns, "groups")
	}
	if err != nil {
		inv.MonitoringError = err.Error()
	}
	if inv.OldRedis, err = k.oldRedis(ctx); err != nil {
		return inv, err
	}
	return inv, nil
}

func statefulSetFact(s appsv1.StatefulSet) StatefulSetFact {
	f := StatefulSetFact{
		Name: s.Name, Component: s.Labels["app.kubernetes.io/component"], Release: s.Labels["app.kubernetes.io/instance"],
		Replicas: 1, Ready: s.Status.ReadyReplicas,
	}
	if s.Spec.Replicas != nil {
		f.Replicas = *s.Spec.Replicas
	}
	return f
}

func podFact(p corev1.Pod) PodFact {
	f := PodFact{Name: p.Name, Component: p.Labels["app.kubernetes.io/component"], Phase: string(p.Status.Phase)}
	if p.DeletionTimestamp != nil {
		f.Phase = "Terminating"
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue && p.DeletionTimestamp == nil {
			f.Ready = true
		}
	}
	for _, cs := range p.Status.ContainerStatuses {
		f.Restarts += cs.RestartCount
	}
	for _, c := range p.Spec.Containers {
		f.Containers = append(f.Containers, ContainerFact{
			Name: c.Name, Image: c.Image,
			Requests: quantities(c.Resources.Requests), Limits: quantities(c.Resources.Limits),
			Liveness: probeFact(c.LivenessProbe), Readiness: probeFact(c.ReadinessProbe),
		})
	}
	for _, v := range p.Spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			f.Claims = append(f.Claims, v.PersistentVolumeClaim.ClaimName)
		}
	}
	return f
}

func quantities(rl corev1.ResourceList) map[string]string {
	out := map[string]string{}
	for name, q := range rl {
		out[string(name)] = q.String()
	}
	return out
}

func probeFact(p *corev1.Probe) *ProbeFact {
	if p == nil {
		return nil
	}
	handler := "unknown"
	switch {
	case p.Exec != nil:
		handler = "exec"
	case p.TCPSocket != nil:
		handler = "tcpSocket"
	case p.HTTPGet != nil:
		handler = "httpGet"
	case p.GRPC != nil:
		handler = "grpc"
	}
	return &ProbeFact{Handler: handler, PeriodSeconds: p.PeriodSeconds, FailureThreshold: p.FailureThreshold}
}

func (k *Kube) services(ctx context.Context, ns string) ([]ServiceFact, error) {
	svcs, err := k.cs.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list Services in %s: %w", ns, err)
	}
	slices, err := k.cs.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list EndpointSlices in %s: %w", ns, err)
	}
	var out []ServiceFact
	for _, s := range svcs.Items {
		f := ServiceFact{
			Name: s.Name, Type: string(s.Spec.Type), ClusterIP: s.Spec.ClusterIP,
			Release: s.Labels["app.kubernetes.io/instance"], SourceRanges: s.Spec.LoadBalancerSourceRanges,
			AllocateNodePorts: s.Spec.AllocateLoadBalancerNodePorts,
		}
		for _, in := range s.Status.LoadBalancer.Ingress {
			if in.IP != "" {
				f.IngressIPs = append(f.IngressIPs, in.IP)
			}
		}
		for _, p := range s.Spec.Ports {
			if p.NodePort != 0 {
				f.NodePorts = append(f.NodePorts, p.NodePort)
			}
		}
		f.ReadyEndpoints, f.ReadyPods = readyEndpoints(slices.Items, s.Name)
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func readyEndpoints(slices []discoveryv1.EndpointSlice, service string) (int, []string) {
	n := 0
	var pods []string
	for _, sl := range slices {
		if sl.Labels[discoveryv1.LabelServiceName] != service {
			continue
		}
		for _, ep := range sl.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			n += len(ep.Addresses)
			if ep.TargetRef != nil && ep.TargetRef.Kind == "Pod" {
				pods = append(pods, ep.TargetRef.Name)
			}
		}
	}
	sort.Strings(pods)
	return n, pods
}

func (k *Kube) secret(ctx context.Context, ns string) (SecretFact, error) {
	f := SecretFact{Namespace: ns}
	s, err := k.cs.CoreV1().Secrets(ns).Get(ctx, project.AuthSecret, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return f, nil
	case err != nil:
		return f, fmt.Errorf("read Secret %s/%s: %w", ns, project.AuthSecret, err)
	}
	f.Exists = true
	if pw, ok := s.Data[project.AuthPasswordKey]; ok {
		f.HasKey = true
		f.Password = Digest{sum: sha256.Sum256(pw), set: true}
	}
	return f, nil
}

func (k *Kube) pvcs(ctx context.Context, ns string) ([]PVCFact, error) {
	claims, err := k.cs.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list PVCs in %s: %w", ns, err)
	}
	var out []PVCFact
	for _, c := range claims.Items {
		f := PVCFact{Name: c.Name, Phase: string(c.Status.Phase), Volume: c.Spec.VolumeName}
		if c.Spec.StorageClassName != nil {
			f.StorageClass = *c.Spec.StorageClassName
		}
		if f.StorageClass != "" {
			sc, err := k.cs.StorageV1().StorageClasses().Get(ctx, f.StorageClass, metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(err):
			case err != nil:
				return nil, fmt.Errorf("read StorageClass %s: %w", f.StorageClass, err)
			default:
				f.Provisioner = sc.Provisioner
			}
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// monitorSpec is the part of a ServiceMonitor or PrometheusRule
// (monitoring.coreos.com/v1) the inventory counts; the operator's Go types would pull
// in its module for two lists.
type monitorSpec struct {
	Spec struct {
		Endpoints []json.RawMessage `json:"endpoints"`
		Groups    []struct {
			Rules []json.RawMessage `json:"rules"`
		} `json:"groups"`
	} `json:"spec"`
}

// monitors lists Prometheus operator objects; countField is the spec list counted
// (a PrometheusRule's groups are summed by their rules).
func (k *Kube) monitors(ctx context.Context, gvr schema.GroupVersionResource, ns, countField string) ([]MonitorFact, error) {
	if k.dyn == nil {
		return nil, fmt.Errorf("list %s: the kube target has no dynamic client", gvr.Resource)
	}
	list, err := k.dyn.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list %s in %s: %w", gvr.Resource, ns, err)
	}
	var out []MonitorFact
	for _, item := range list.Items {
		f := MonitorFact{Name: item.GetName(), Release: item.GetLabels()["app.kubernetes.io/instance"]}
		var spec monitorSpec
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(item.Object, &spec); err != nil {
			return nil, fmt.Errorf("decode %s %s/%s: %w", gvr.Resource, ns, item.GetName(), err)
		}
		if countField == "groups" {
			for _, g := range spec.Spec.Groups {
				f.Count += len(g.Rules)
			}
		} else {
			f.Count = len(spec.Spec.Endpoints)
		}
		out = append(out, f)
	}
	return out, nil
}

// oldRedis finds beersystem workloads that run a Redis image.
func (k *Kube) oldRedis(ctx context.Context) ([]string, error) {
	var found []string
	deps, err := k.cs.AppsV1().Deployments(project.App).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list Deployments in %s: %w", project.App, err)
	}
	for _, d := range deps.Items {
		if runsRedis(d.Spec.Template.Spec) {
			found = append(found, "Deployment "+project.App+"/"+d.Name)
		}
	}
	sets, err := k.cs.AppsV1().StatefulSets(project.App).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list StatefulSets in %s: %w", project.App, err)
	}
	for _, s := range sets.Items {
		if runsRedis(s.Spec.Template.Spec) {
			found = append(found, "StatefulSet "+project.App+"/"+s.Name)
		}
	}
	return found, nil
}

// runsRedis: a container of a Redis image that serves (declares port 6379, or keeps
// the image's own entrypoint); a client that only borrows the image for redis-cli
// overrides the command and declares no port.
func runsRedis(spec corev1.PodSpec) bool {
	for _, c := range spec.Containers {
		image := c.Image
		if i := strings.LastIndex(image, "/"); i >= 0 {
			image = image[i+1:]
		}
		name, _, _ := strings.Cut(image, ":")
		if name != "redis" && name != "redis-stack-server" && name != "valkey" {
			continue
		}
		if len(c.Command) == 0 {
			return true
		}
		for _, p := range c.Ports {
			if p.ContainerPort == project.RedisPort {
				return true
			}
		}
	}
	return false
}

// Endpoints gives the in-cluster addresses from the Services and pods.
func (k *Kube) Endpoints(ctx context.Context) (Endpoints, error) {
	inv, err := k.Inventory(ctx)
	if err != nil {
		return Endpoints{}, err
	}
	port := strconv.Itoa(project.RedisPort)
	ep := Endpoints{Master: net.JoinHostPort(project.MasterDNSName, port)}
	if _, ok := inv.Service(project.ReplicasService); ok {
		ep.Replicas = net.JoinHostPort(project.ReplicasService+"."+project.Namespace+".svc."+project.ClusterDomain, port)
	}
	replicas := 0
	for _, p := range inv.Pods {
		inst := Instance{Pod: p.Name, Addr: net.JoinHostPort(p.Name+"."+project.Release+"-headless."+project.Namespace+".svc."+project.ClusterDomain, port)}
		switch p.Component {
		case RoleMaster:
			inst.Name, inst.Role = RoleMaster, RoleMaster
			ep.Instances = append([]Instance{inst}, ep.Instances...)
		case "replica":
			inst.Name, inst.Role = fmt.Sprintf("replica-%d", replicas), RoleReplica
			replicas++
			ep.Instances = append(ep.Instances, inst)
		}
	}
	if lbs := inv.LoadBalancers(); len(lbs) > 0 && len(lbs[0].IngressIPs) > 0 {
		ep.LoadBalancer = net.JoinHostPort(lbs[0].IngressIPs[0], port)
		ep.SourceRanges = lbs[0].SourceRanges
	}
	return ep, nil
}

// Dial opens a TCP connection from the vantage point: LAN and outside in
// kubevantage.go.
func (k *Kube) Dial(ctx context.Context, from Vantage, addr string) (net.Conn, error) {
	if from == LAN || from == Outside {
		return k.dialFrom(ctx, from, addr)
	}
	return nil, unsupportedVantage(from)
}

// Client returns a go-redis client from the vantage point: LAN and outside in
// kubevantage.go.
func (k *Kube) Client(from Vantage, addr string, creds Credentials) (*redis.Client, error) {
	if from == LAN || from == Outside {
		return k.clientFrom(from, addr, creds)
	}
	return nil, unsupportedVantage(from)
}

// LoadDialer returns a load-generator dialer from the vantage point: LAN and outside
// in kubevantage.go.
func (k *Kube) LoadDialer(from Vantage, addr string, conns int) (loadgen.Dialer, error) {
	if from == LAN || from == Outside {
		return k.loadDialerFrom(from, addr, conns)
	}
	return nil, unsupportedVantage(from)
}

// Prometheus is the cluster's Prometheus, queried from the probe pod (kubeprobe_checks.go),
// so the monitoring checks read it from a vantage point that reaches cluster Services.
func (k *Kube) Prometheus() (*Prometheus, error) {
	prom, err := k.ProbePrometheus()
	if _, unsupported := IsUnsupported(err); unsupported {
		// Unsupported (checks skip with the reason) and still ErrNoPrometheus.
		return nil, errors.Join(err, ErrNoPrometheus)
	}
	return prom, err
}

// Facts reads versions from the release's labels and the layer that enforces the
// source ranges from what the API shows (kubeenforcement.go).
func (k *Kube) Facts(ctx context.Context) (Facts, error) {
	ctx, cancel := context.WithTimeout(ctx, kubeCallTimeout)
	defer cancel()
	var f Facts
	sets, err := k.cs.AppsV1().StatefulSets(project.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=" + project.Release})
	if err != nil {
		return f, fmt.Errorf("kube facts: %w", err)
	}
	for _, s := range sets.Items {
		if v := s.Labels["app.kubernetes.io/version"]; v != "" {
			f.RedisVersion = v
		}
		if c := s.Labels["helm.sh/chart"]; c != "" {
			f.ChartVersion = c
		}
	}
	f.Enforcement, err = k.enforcement(ctx)
	return f, err
}

// Leaks reports whether data contains the password of the redis Secret.
func (k *Kube) Leaks(data []byte) bool {
	ctx, cancel := context.WithTimeout(context.Background(), kubeCallTimeout)
	defer cancel()
	s, err := k.cs.CoreV1().Secrets(project.Namespace).Get(ctx, project.AuthSecret, metav1.GetOptions{})
	if err != nil {
		return false
	}
	pw := s.Data[project.AuthPasswordKey]
	return len(pw) > 0 && bytes.Contains(data, pw)
}

// instancePod maps a target instance name to its pod and StatefulSet.
func (k *Kube) instancePod(ctx context.Context, name string) (string, string, error) {
	ep, err := k.Endpoints(ctx)
	if err != nil {
		return "", "", err
	}
	inst, err := ep.Instance(name)
	if err != nil {
		return "", "", err
	}
	set := project.MasterService
	if inst.Role == RoleReplica {
		set = project.ReplicasService
	}
	return inst.Pod, set, nil
}

// Kill deletes the instance's pod with grace period 0; the StatefulSet recreates it.
func (k *Kube) Kill(ctx context.Context, instance string) (Revert, error) {
	pod, _, err := k.instancePod(ctx, instance)
	if err != nil {
		return nil, fmt.Errorf("kill %s: %w", instance, err)
	}
	pods := k.cs.CoreV1().Pods(project.Namespace)
	old, err := pods.Get(ctx, pod, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("kill %s: read pod %s: %w", instance, pod, err)
	}
	grace := int64(0)
	if err := pods.Delete(ctx, pod, metav1.DeleteOptions{GracePeriodSeconds: &grace}); err != nil {
		return nil, fmt.Errorf("kill %s: delete pod %s: %w", instance, pod, err)
	}
	return func(ctx context.Context) error {
		// The StatefulSet's status can still say Ready before it saw the deletion:
		// wait for the new pod (same name, new UID) to be Ready first.
		began := time.Now()
		replaced := func(ctx context.Context) (bool, error) {
			p, err := pods.Get(ctx, pod, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return false, nil
			}
			return err == nil && p.UID != old.UID && podFact(*p).Ready, err
		}
		if err := waitfor.Until(ctx, "a new Ready pod "+pod, podBackTimeout, 250*time.Millisecond, replaced); err != nil {
			return err
		}
		return k.WaitHealthy(ctx, podBackTimeout-time.Since(began))
	}, nil
}

// Hang is in liveness.go (FR-010 by the liveness probe).

// Stop scales the instance's StatefulSet to 0 and waits (bounded) until its pod is
// gone; Revert scales it back and waits.
func (k *Kube) Stop(ctx context.Context, instance string) (Revert, error) {
	pod, set, err := k.instancePod(ctx, instance)
	if err != nil {
		return nil, fmt.Errorf("stop %s: %w", instance, err)
	}
	before, err := k.Scale(ctx, set, 0)
	if err != nil {
		return nil, fmt.Errorf("stop %s: %w", instance, err)
	}
	revert := func(ctx context.Context) error {
		if _, err := k.Scale(ctx, set, before); err != nil {
			return fmt.Errorf("start %s again: %w", instance, err)
		}
		return k.WaitHealthy(ctx, podBackTimeout)
	}
	gone := func(ctx context.Context) (bool, error) {
		_, err := k.cs.CoreV1().Pods(project.Namespace).Get(ctx, pod, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	}
	if err := waitfor.Until(ctx, "pod "+pod+" gone", podBackTimeout, 250*time.Millisecond, gone); err != nil {
		return nil, errors.Join(fmt.Errorf("stop %s: %w", instance, err), revert(context.WithoutCancel(ctx)))
	}
	return revert, nil
}

// Scale sets a StatefulSet's replicas and returns the previous count.
func (k *Kube) Scale(ctx context.Context, statefulSet string, replicas int32) (int32, error) {
	sets := k.cs.AppsV1().StatefulSets(project.Namespace)
	scale, err := sets.GetScale(ctx, statefulSet, metav1.GetOptions{})
	if err != nil {
		return 0, fmt.Errorf("read scale of %s: %w", statefulSet, err)
	}
	before := scale.Spec.Replicas
	scale.Spec.Replicas = replicas
	if _, err := sets.UpdateScale(ctx, statefulSet, scale, metav1.UpdateOptions{}); err != nil {
		return before, fmt.Errorf("scale %s to %d: %w", statefulSet, replicas, err)
	}
	return before, nil
}

// Restarts reads the container restart count of the instance's pod. Pid is the
// pod's UID hash (a new pod means a new process); Started is when its redis
// container started.
func (k *Kube) Restarts(ctx context.Context, instance string) (Restart, error) {
	podName, _, err := k.instancePod(ctx, instance)
	if err != nil {
		return Restart{}, fmt.Errorf("restarts of %s: %w", instance, err)
	}
	pod, err := k.cs.CoreV1().Pods(project.Namespace).Get(ctx, podName, metav1.GetOptions{})
	if err != nil {
		return Restart{}, fmt.Errorf("restarts of %s: %w", instance, err)
	}
	var r Restart
	sum := sha256.Sum256([]byte(pod.UID))
	r.Pid = int(sum[0])<<16 | int(sum[1])<<8 | int(sum[2])
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name != "redis" {
			continue
		}
		r.Count = int(cs.RestartCount)
		if cs.State.Running != nil {
			r.Started = cs.State.Running.StartedAt.Time
		}
	}
	return r, nil
}

// WaitHealthy waits until both StatefulSets have every replica Ready. Roles and the
// replication link are not visible to the API (they need a Redis client).
func (k *Kube) WaitHealthy(ctx context.Context, timeout time.Duration) error {
	state := "not looked at yet"
	healthy := func(ctx context.Context) (bool, error) {
		var err error
		state, err = k.unhealthy(ctx)
		return err == nil && state == "", err
	}
	if err := waitfor.Until(ctx, "the deployment", timeout, 500*time.Millisecond, healthy); err != nil {
		return fmt.Errorf("%w (last seen: %s)", err, state)
	}
	return nil
}

func (k *Kube) unhealthy(ctx context.Context) (string, error) {
	cctx, cancel := context.WithTimeout(ctx, kubeCallTimeout)
	defer cancel()
	for _, name := range []string{project.MasterService, project.ReplicasService} {
		s, err := k.cs.AppsV1().StatefulSets(project.Namespace).Get(cctx, name, metav1.GetOptions{})
		if err != nil {
			return "", fmt.Errorf("read StatefulSet %s: %w", name, err)
		}
		f := statefulSetFact(*s)
		if f.Ready < f.Replicas || s.Status.ObservedGeneration < s.Generation {
			return fmt.Sprintf("StatefulSet %s has %d of %d replicas Ready", name, f.Ready, f.Replicas), nil
		}
	}
	return "", nil
}

// The kube target is a Target.
var _ Target = (*Kube)(nil)
