package sandbox

import (
	"fmt"
	"net/netip"
	"regexp"

	"github.com/redis-shared/conformance/tools/project"
)

// Address plan. Every address lives only inside the sandbox's own namespaces, which
// have no link to the host's interfaces and no default route.
var (
	podCIDR     = netip.MustParsePrefix("10.244.0.0/24")
	nodePodIP   = netip.MustParseAddr("10.244.0.1")
	prometheus4 = netip.MustParseAddr("10.244.0.5")
	masterIP    = netip.MustParseAddr("10.244.0.10")
	firstRepIP  = netip.MustParseAddr("10.244.0.20")
	clientIP    = netip.MustParseAddr("10.244.0.100")
	// beersystem's own Redis before the cutover, and the pod the stand-in app runs in:
	// above the replicas' range (firstRepIP + maxReplicas).
	oldRedisIP = netip.MustParseAddr("10.244.0.60")
	appIP      = netip.MustParseAddr("10.244.0.70")

	lanCIDR   = netip.MustParsePrefix("192.168.4.0/24")
	nodeLANIP = netip.MustParseAddr("192.168.4.1")
	lanHostIP = netip.MustParseAddr("192.168.4.10")

	outsideCIDR   = netip.MustParsePrefix("203.0.113.0/24")
	nodeOutsideIP = netip.MustParseAddr("203.0.113.1")
	outsideHostIP = netip.MustParseAddr("203.0.113.10")
)

const (
	namePrefix     = "rsc-"
	redisPort      = 6379
	exporterPort   = 9121
	prometheusPort = 9090
	bridgeName     = "cbr0"
	lanLinkName    = "lan0"
	outsideLink    = "ext0"
	podLinkName    = "eth0"

	// oldRedisService is the DNS name of beersystem's own Redis (project.OldRedis
	// is its pod namespace's short name; the stand-in app's is project.App).
	oldRedisService = project.OldRedis + "." + project.App + ".svc." + project.ClusterDomain
	appPort         = 8080
)

// MasterService is the cluster DNS name of the master Service (FR-017); State.Services
// maps it to the address the sandbox serves it on.
const MasterService = project.Release + "-master." + project.Namespace + ".svc.cluster.local"

// Vantage points a client can dial from.
const (
	VantageCluster = "cluster"
	VantageLAN     = "lan"
	VantageOutside = "outside"
)

// idPattern matches the namespaces of any sandbox: rsc-<6 hex>-<role>.
var idPattern = regexp.MustCompile(`^rsc-([0-9a-f]{6})-[a-z0-9-]+$`)

// pod is one network namespace on the cluster bridge.
type pod struct {
	name   string // short name: master, replica-0, prometheus, client
	ip     netip.Addr
	veth   string // node-side interface name
	netns  string
	isPod  bool
	podRef string // Kubernetes pod name the namespace stands for
}

// topology is every namespace of one sandbox and how they connect.
type topology struct {
	id       string
	node     string
	lan      string
	outside  string
	pods     []pod
	lbIP     netip.Addr // invalid when the LAN service is off
	lbPort   int
	ranges   []netip.Prefix
	lbTarget netip.Addr
}

func netnsName(id, role string) string { return namePrefix + id + "-" + role }

func newTopology(id string, cfg Config) (topology, error) {
	t := topology{
		id:      id,
		node:    netnsName(id, "node"),
		lan:     netnsName(id, "lan"),
		outside: netnsName(id, "outside"),
	}
	add := func(name, veth, podRef string, ip netip.Addr) {
		t.pods = append(t.pods, pod{name: name, ip: ip, veth: veth, netns: netnsName(id, name), isPod: true, podRef: podRef})
	}
	add("master", "vmaster", project.Release+"-master-0", masterIP)
	ip := firstRepIP
	for i := range cfg.Replicas {
		add(fmt.Sprintf("replica-%d", i), fmt.Sprintf("vrep%d", i), fmt.Sprintf("%s-replicas-%d", project.Release, i), ip)
		ip = ip.Next()
	}
	if cfg.Metrics.Enabled {
		add("prometheus", "vprom", "prometheus-0", prometheus4)
	}
	add("client", "vclient", "conformance-client", clientIP)
	add(project.OldRedis, "vbsredis", project.OldRedis+"-0", oldRedisIP)
	add(project.App, "vbeer", project.App+"-0", appIP)

	if cfg.LAN.Enabled {
		lb := cfg.LAN.LoadBalancerIP
		for _, taken := range []netip.Addr{nodeLANIP, lanHostIP, nodeOutsideIP, outsideHostIP} {
			if lb == taken {
				return topology{}, fmt.Errorf("lanService.loadBalancerIP %s collides with the sandbox's own address plan", lb)
			}
		}
		if podCIDR.Contains(lb) {
			return topology{}, fmt.Errorf("lanService.loadBalancerIP %s lies in the pod network %s", lb, podCIDR)
		}
		t.lbIP = lb
		t.lbPort = cfg.LAN.Port
		t.ranges = cfg.LAN.SourceRanges
		t.lbTarget = masterIP
	}
	return t, nil
}

// namespaces lists every namespace name, node first so it exists before its peers.
func (t topology) namespaces() []string {
	names := []string{t.node, t.lan, t.outside}
	for _, p := range t.pods {
		names = append(names, p.netns)
	}
	return names
}

func (t topology) pod(name string) (pod, bool) {
	for _, p := range t.pods {
		if p.name == name {
			return p, true
		}
	}
	return pod{}, false
}
