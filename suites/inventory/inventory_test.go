package inventory

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/redis-shared/conformance/suites/internal/harness"
	"github.com/redis-shared/conformance/tools/project"
	"github.com/redis-shared/conformance/tools/target"
)

// suite is what every assessment reaches through its context.
type suite struct {
	opts harness.Options
	// run and kube are nil unless the target is kube.
	run  *harness.Run
	kube *target.Kube
}

type suiteKey struct{}

func from(ctx context.Context) *suite {
	s, ok := ctx.Value(suiteKey{}).(*suite)
	if !ok {
		panic("inventory: context carries no suite (TestMain sets it)")
	}
	return s
}

// onlyKube skips a feature on every target but kube: these checks read Kubernetes
// objects, which only a cluster has.
func onlyKube(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	t.Helper()
	if got := from(ctx).opts.Target; got != harness.TargetKube {
		t.Skipf("the inventory checks read Kubernetes objects and run only on the kube target; this run is against %s", got)
	}
	return ctx
}

// inventory reads the cluster once per assessment, so each sees the current state.
func inventory(ctx context.Context, t *testing.T) (*harness.Run, target.Inventory) {
	t.Helper()
	s := from(ctx)
	inv, err := s.kube.Inventory(ctx)
	require.NoError(t, err, "read the deployment's objects")
	return s.run, inv
}

func TestNamespace(t *testing.T) {
	ns := features.New("dedicated redis namespace").
		WithLabel("target", "kube").
		WithLabel("req", "FR-001").
		Setup(onlyKube).
		Assess("namespace redis exists, is Active and holds the release", assessNamespace).
		Feature()
	testenv.Test(t, ns)
}

func assessNamespace(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r, inv := inventory(ctx, t)
	require.True(t, inv.Namespace.Exists, "namespace %s does not exist", project.Namespace)
	assert.Equal(t, "Active", inv.Namespace.Phase, "phase of namespace %s", project.Namespace)
	assert.NotEmpty(t, inv.StatefulSets, "namespace %s holds no StatefulSet", project.Namespace)
	r.Note(t, "namespace %s is %s with %d StatefulSets and %d Redis pods", inv.Namespace.Name, inv.Namespace.Phase, len(inv.StatefulSets), len(inv.Pods))
	return ctx
}

func TestInstances(t *testing.T) {
	two := features.New("exactly two Redis instances").
		WithLabel("target", "kube").
		WithLabel("req", "FR-002").
		Setup(onlyKube).
		Assess("the master and replicas StatefulSets want one pod each", assessStatefulSets).
		Assess("exactly two Redis pods are Ready, one master and one replica", assessTwoReadyPods).
		Feature()
	testenv.Test(t, two)
}

func assessStatefulSets(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r, inv := inventory(ctx, t)
	want := map[string]int32{project.MasterService: 1, project.ReplicasService: 1}
	got := map[string]int32{}
	for _, s := range inv.StatefulSets {
		if s.Release == project.Release {
			got[s.Name] = s.Replicas
			r.Note(t, "StatefulSet %s: %d replicas wanted, %d Ready", s.Name, s.Replicas, s.Ready)
		}
	}
	assert.Equal(t, want, got, "StatefulSets of release %s and their replicas", project.Release)
	return ctx
}

func assessTwoReadyPods(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r, inv := inventory(ctx, t)
	ready := map[string]int{}
	var names []string
	for _, p := range inv.Pods {
		if p.Ready {
			ready[p.Component]++
			names = append(names, p.Name)
		}
	}
	r.Note(t, "Ready Redis pods: %d (%s) of %d", len(names), strings.Join(names, ", "), len(inv.Pods))
	assert.Equal(t, 2, len(names), "Ready Redis pods in %s", project.Namespace)
	assert.Equal(t, map[string]int{"master": 1, "replica": 1}, ready, "Ready Redis pods by component")
	return ctx
}

func TestInClusterServices(t *testing.T) {
	svc := features.New("ClusterIP Services for the master and the replicas").
		WithLabel("target", "kube").
		WithLabel("req", "FR-003").
		Setup(onlyKube).
		Assess("redis-shared-master and redis-shared-replicas are ClusterIP Services with an address", assessClusterIPServices).
		Feature()
	testenv.Test(t, svc)
}

func assessClusterIPServices(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r, inv := inventory(ctx, t)
	for _, name := range []string{project.MasterService, project.ReplicasService} {
		s, ok := inv.Service(name)
		if !assert.True(t, ok, "Service %s/%s does not exist", project.Namespace, name) {
			continue
		}
		assert.Equal(t, "ClusterIP", s.Type, "type of Service %s", name)
		assert.True(t, s.ClusterIP != "" && s.ClusterIP != "None", "Service %s has no cluster IP (%q)", name, s.ClusterIP)
		r.Note(t, "Service %s: %s %s", name, s.Type, s.ClusterIP)
	}
	return ctx
}

func TestLoadBalancer(t *testing.T) {
	pool := features.New("LoadBalancer address from the MetalLB pool").
		WithLabel("target", "kube").
		WithLabel("req", "FR-004").
		Setup(onlyKube).
		Assess("the LAN Service has an ingress IP inside the catalog's pool", assessIngressInPool).
		Feature()
	lanOnly := features.New("LoadBalancer limited to the LAN").
		WithLabel("target", "kube").
		WithLabel("req", "FR-005").
		Setup(onlyKube).
		Assess("source ranges lie inside the LAN CIDR", assessSourceRanges).
		Assess("no NodePort bypasses the source ranges", assessNoNodePorts).
		Feature()
	testenv.Test(t, pool, lanOnly)
}

// lanService returns the one LoadBalancer Service of the namespace.
func lanService(t *testing.T, inv target.Inventory) target.ServiceFact {
	t.Helper()
	lbs := inv.LoadBalancers()
	require.Len(t, lbs, 1, "LoadBalancer Services in %s", project.Namespace)
	return lbs[0]
}

func assessIngressInPool(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r, inv := inventory(ctx, t)
	lb := lanService(t, inv)
	first, err := netip.ParseAddr(r.Bound(t, "FR-004", "pool_first").Text())
	require.NoError(t, err, "catalog pool_first")
	last, err := netip.ParseAddr(r.Bound(t, "FR-004", "pool_last").Text())
	require.NoError(t, err, "catalog pool_last")
	require.NotEmpty(t, lb.IngressIPs, "Service %s has no LoadBalancer ingress IP (is MetalLB running?)", lb.Name)
	for _, raw := range lb.IngressIPs {
		ip, err := netip.ParseAddr(raw)
		require.NoError(t, err, "ingress IP %q", raw)
		assert.True(t, ip.Compare(first) >= 0 && ip.Compare(last) <= 0, "ingress IP %s of %s outside the pool %s-%s", ip, lb.Name, first, last)
	}
	r.Note(t, "Service %s has ingress %s; pool %s-%s", lb.Name, strings.Join(lb.IngressIPs, ", "), first, last)
	return ctx
}

func assessSourceRanges(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r, inv := inventory(ctx, t)
	lb := lanService(t, inv)
	lan, err := netip.ParsePrefix(r.Bound(t, "FR-005", "lan_cidr").Text())
	require.NoError(t, err, "catalog lan_cidr")
	require.NotEmpty(t, lb.SourceRanges, "Service %s has no loadBalancerSourceRanges: every source may connect", lb.Name)
	for _, raw := range lb.SourceRanges {
		p, err := netip.ParsePrefix(strings.TrimSpace(raw))
		if !assert.NoError(t, err, "source range %q of %s", raw, lb.Name) {
			continue
		}
		assert.True(t, p.Bits() >= lan.Bits() && lan.Contains(p.Addr()), "source range %s of %s is not inside the LAN %s", p, lb.Name, lan)
	}
	r.Note(t, "Service %s source ranges %s; LAN %s", lb.Name, strings.Join(lb.SourceRanges, ", "), lan)
	return ctx
}

func assessNoNodePorts(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r, inv := inventory(ctx, t)
	lb := lanService(t, inv)
	// kube-proxy applies the source ranges to the LB IP only: a NodePort is open to all.
	if assert.NotNil(t, lb.AllocateNodePorts, "Service %s leaves allocateLoadBalancerNodePorts unset (Kubernetes then allocates NodePorts)", lb.Name) {
		assert.False(t, *lb.AllocateNodePorts, "Service %s allocates NodePorts", lb.Name)
	}
	for _, s := range inv.Services {
		assert.Empty(t, s.NodePorts, "Service %s has NodePorts, which bypass loadBalancerSourceRanges", s.Name)
	}
	r.Note(t, "no NodePort on any of %d Services in %s; %s has allocateLoadBalancerNodePorts false", len(inv.Services), project.Namespace, lb.Name)
	return ctx
}

func TestPersistence(t *testing.T) {
	pvc := features.New("data volumes Bound on local-path").
		WithLabel("target", "kube").
		WithLabel("req", "FR-007").
		Setup(onlyKube).
		Assess("every Redis pod mounts a PVC Bound through local-path-provisioner", assessVolumesBound).
		Feature()
	testenv.Test(t, pvc)
}

func assessVolumesBound(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r, inv := inventory(ctx, t)
	require.NotEmpty(t, inv.Pods, "no Redis pod in %s", project.Namespace)
	claims := map[string]target.PVCFact{}
	for _, c := range inv.PVCs {
		claims[c.Name] = c
	}
	for _, p := range inv.Pods {
		if !assert.NotEmpty(t, p.Claims, "pod %s mounts no PVC: its data is lost with the pod", p.Name) {
			continue
		}
		for _, name := range p.Claims {
			c, ok := claims[name]
			if !assert.True(t, ok, "PVC %s of pod %s does not exist", name, p.Name) {
				continue
			}
			assert.Equal(t, "Bound", c.Phase, "phase of PVC %s", name)
			assert.Equal(t, target.LocalPathProvisioner, c.Provisioner, "provisioner of StorageClass %q of PVC %s", c.StorageClass, name)
			r.Note(t, "pod %s: PVC %s %s to %s, StorageClass %s (%s)", p.Name, name, c.Phase, c.Volume, c.StorageClass, c.Provisioner)
		}
	}
	return ctx
}

func TestMonitoring(t *testing.T) {
	exporter := features.New("metrics exporter beside both instances").
		WithLabel("target", "kube").
		WithLabel("req", "FR-008").
		Setup(onlyKube).
		Assess("every Redis pod runs the exporter and the metrics Service has both as endpoints", assessExporters).
		Feature()
	operator := features.New("ServiceMonitor and PrometheusRule present").
		WithLabel("target", "kube").
		WithLabel("req", "FR-009").
		Setup(onlyKube).
		Assess("the release has a ServiceMonitor with endpoints and a PrometheusRule with rules", assessMonitors).
		Feature()
	testenv.Test(t, exporter, operator)
}

func assessExporters(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r, inv := inventory(ctx, t)
	require.NotEmpty(t, inv.Pods, "no Redis pod in %s", project.Namespace)
	for _, p := range inv.Pods {
		assert.True(t, slices.ContainsFunc(p.Containers, func(c target.ContainerFact) bool { return c.Name == "metrics" }),
			"pod %s runs no metrics container", p.Name)
	}
	metrics, ok := inv.Service(project.Release + "-metrics")
	require.True(t, ok, "Service %s-metrics does not exist", project.Release)
	assert.Equal(t, len(inv.Pods), metrics.ReadyEndpoints, "ready endpoints of %s (one per Redis pod)", metrics.Name)
	r.Note(t, "%d Redis pods run the exporter; %s has %d ready endpoints (%s)", len(inv.Pods), metrics.Name, metrics.ReadyEndpoints, strings.Join(metrics.ReadyPods, ", "))
	return ctx
}

func assessMonitors(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r, inv := inventory(ctx, t)
	require.Empty(t, inv.MonitoringError, "Prometheus operator objects")
	var monitors, rules []string
	for _, m := range inv.ServiceMonitors {
		if m.Release == project.Release && m.Count > 0 {
			monitors = append(monitors, m.Name)
		}
	}
	ruleCount := 0
	for _, m := range inv.PrometheusRules {
		if m.Release == project.Release && m.Count > 0 {
			rules = append(rules, m.Name)
			ruleCount += m.Count
		}
	}
	assert.NotEmpty(t, monitors, "no ServiceMonitor of release %s with endpoints in %s", project.Release, project.Namespace)
	assert.NotEmpty(t, rules, "no PrometheusRule of release %s with rules in %s", project.Release, project.Namespace)
	r.Note(t, "ServiceMonitors %s; PrometheusRules %s with %d rules", strings.Join(monitors, ", "), strings.Join(rules, ", "), ruleCount)
	return ctx
}

func TestHealthChecks(t *testing.T) {
	probes := features.New("liveness and readiness probes on the running pods").
		WithLabel("target", "kube").
		WithLabel("req", "FR-010").
		Setup(onlyKube).
		Assess("every redis container has a liveness and a readiness probe", assessProbes).
		Feature()
	testenv.Test(t, probes)
}

// redisContainer returns a pod's redis container.
func redisContainer(t *testing.T, p target.PodFact) (target.ContainerFact, bool) {
	t.Helper()
	for _, c := range p.Containers {
		if c.Name == "redis" {
			return c, true
		}
	}
	t.Errorf("pod %s has no container named redis", p.Name)
	return target.ContainerFact{}, false
}

func assessProbes(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r, inv := inventory(ctx, t)
	require.NotEmpty(t, inv.Pods, "no Redis pod in %s", project.Namespace)
	for _, p := range inv.Pods {
		c, ok := redisContainer(t, p)
		if !ok {
			continue
		}
		if assert.NotNil(t, c.Liveness, "pod %s: redis has no liveness probe, so a hung Redis is never restarted", p.Name) {
			r.Note(t, "pod %s: liveness %s every %d s, restart after %d failures", p.Name, c.Liveness.Handler, c.Liveness.PeriodSeconds, c.Liveness.FailureThreshold)
		}
		assert.NotNil(t, c.Readiness, "pod %s: redis has no readiness probe", p.Name)
	}
	return ctx
}

func TestCredentials(t *testing.T) {
	inRedis := features.New("auth Secret in redis").
		WithLabel("target", "kube").
		WithLabel("req", "FR-012").
		Setup(onlyKube).
		Assess("Secret redis-shared-auth in redis holds redis-password", assessSecretInRedis).
		Feature()
	replicated := features.New("auth Secret replicated to beersystem").
		WithLabel("target", "kube").
		WithLabel("req", "FR-012a").
		Setup(onlyKube).
		Assess("Secret redis-shared-auth in beersystem holds the same password", assessSecretReplicated).
		Feature()
	testenv.Test(t, inRedis, replicated)
}

func assessSecretInRedis(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r, inv := inventory(ctx, t)
	s := inv.Secret(project.Namespace)
	require.True(t, s.Exists, "Secret %s/%s does not exist", project.Namespace, project.AuthSecret)
	assert.True(t, s.HasKey, "Secret %s/%s has no key %s", project.Namespace, project.AuthSecret, project.AuthPasswordKey)
	r.Note(t, "Secret %s/%s holds %s", project.Namespace, project.AuthSecret, project.AuthPasswordKey)
	return ctx
}

func assessSecretReplicated(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r, inv := inventory(ctx, t)
	// Evidence for the decommissioning (FR-018), which has no check of its own yet.
	if len(inv.OldRedis) > 0 {
		r.Note(t, "old beersystem Redis still present: %s", strings.Join(inv.OldRedis, ", "))
	} else {
		r.Note(t, "old beersystem Redis gone: no Redis workload in %s", project.App)
	}
	own, copied := inv.Secret(project.Namespace), inv.Secret(project.App)
	require.True(t, copied.Exists, "Secret %s/%s does not exist", project.App, project.AuthSecret)
	require.True(t, copied.HasKey, "Secret %s/%s has no key %s", project.App, project.AuthSecret, project.AuthPasswordKey)
	// Compared by SHA-256 inside the target: neither the password nor its hash is printed.
	assert.True(t, own.Password.Equal(copied.Password), "the password in %s/%s differs from the one in %s (compared by SHA-256)", project.App, project.AuthSecret, project.Namespace)
	r.Note(t, "Secret %s/%s holds the same password as %s (SHA-256 compared)", project.App, project.AuthSecret, project.Namespace)
	return ctx
}

func TestResources(t *testing.T) {
	limits := features.New("CPU and memory requests and limits on the running pods").
		WithLabel("target", "kube").
		WithLabel("req", "FR-013").
		Setup(onlyKube).
		Assess("every container of every Redis pod has cpu and memory requests and limits", assessResources).
		Feature()
	testenv.Test(t, limits)
}

func assessResources(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r, inv := inventory(ctx, t)
	require.NotEmpty(t, inv.Pods, "no Redis pod in %s", project.Namespace)
	for _, p := range inv.Pods {
		for _, c := range p.Containers {
			for _, res := range []string{"cpu", "memory"} {
				assert.NotEmpty(t, c.Requests[res], "pod %s container %s has no %s request", p.Name, c.Name, res)
				assert.NotEmpty(t, c.Limits[res], "pod %s container %s has no %s limit", p.Name, c.Name, res)
			}
			r.Note(t, "pod %s container %s: requests cpu %s memory %s, limits cpu %s memory %s", p.Name, c.Name,
				c.Requests["cpu"], c.Requests["memory"], c.Limits["cpu"], c.Limits["memory"])
		}
	}
	return ctx
}

func TestBeersystemAccess(t *testing.T) {
	dns := features.New("master Service behind its cross-namespace DNS name").
		WithLabel("target", "kube").
		WithLabel("req", "FR-017").
		Setup(onlyKube).
		Assess("redis-shared-master.redis.svc.cluster.local names a Service in redis with the master pod Ready behind it", assessMasterDNSName).
		Feature()
	testenv.Test(t, dns)
}

func assessMasterDNSName(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r, inv := inventory(ctx, t)
	// Cluster DNS maps <service>.<namespace>.svc.<domain> to the Service's ClusterIP.
	name := project.MasterDNSName
	svcName, rest, _ := strings.Cut(name, ".")
	ns, _, _ := strings.Cut(rest, ".")
	require.Equal(t, project.Namespace, ns, "namespace part of %s", name)
	s, ok := inv.Service(svcName)
	require.True(t, ok, "no Service %s in %s: %s does not resolve", svcName, ns, name)
	assert.True(t, s.ClusterIP != "" && s.ClusterIP != "None", "Service %s has no cluster IP for %s to resolve to", svcName, name)
	masters := 0
	for _, p := range s.ReadyPods {
		if strings.HasPrefix(p, project.MasterService+"-") {
			masters++
		}
	}
	assert.Equal(t, 1, masters, "Ready master pods behind %s (have %v)", name, s.ReadyPods)
	r.Note(t, "%s resolves to Service %s/%s %s with ready endpoints %s", name, ns, svcName, s.ClusterIP, strings.Join(s.ReadyPods, ", "))
	return ctx
}

func TestRelease(t *testing.T) {
	release := features.New("Helm release named redis-shared").
		WithLabel("target", "kube").
		WithLabel("req", "FR-017a").
		Setup(onlyKube).
		Assess("the StatefulSets and Services carry release redis-shared and its names", assessReleaseName).
		Feature()
	testenv.Test(t, release)
}

func assessReleaseName(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r, inv := inventory(ctx, t)
	for _, name := range []string{project.MasterService, project.ReplicasService} {
		s, ok := inv.Service(name)
		if assert.True(t, ok, "Service %s does not exist", name) {
			assert.Equal(t, project.Release, s.Release, "release label of Service %s", name)
		}
	}
	require.NotEmpty(t, inv.StatefulSets, "no StatefulSet in %s", project.Namespace)
	for _, s := range inv.StatefulSets {
		assert.Equal(t, project.Release, s.Release, "release label of StatefulSet %s", s.Name)
	}
	r.Note(t, "release %s: Services %s and %s, %d StatefulSets", project.Release, project.MasterService, project.ReplicasService, len(inv.StatefulSets))
	return ctx
}
