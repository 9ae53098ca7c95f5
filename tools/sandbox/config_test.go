package sandbox

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/redis-shared/conformance/tools/project"
	"github.com/redis-shared/conformance/tools/values"
)

func parseValues(t *testing.T, doc string) values.Tree {
	t.Helper()
	tree, err := values.Parse([]byte(doc))
	require.NoError(t, err)
	return tree
}

func TestConfigFromValuesFallsBackToChartDefaults(t *testing.T) {
	cfg, err := ConfigFromValues(values.Tree{})
	require.NoError(t, err)
	assert.True(t, cfg.AuthEnabled)
	assert.Equal(t, chartDefaultReplicaCount, cfg.Replicas)
	assert.True(t, cfg.Master.Persistence)
	assert.Equal(t, "yes", cfg.Master.Effective["appendonly"])
	assert.Equal(t, "", cfg.Master.Effective["save"])
	assert.Contains(t, cfg.Master.ChartConfig, "rename-command FLUSHALL \"\"\n")
	assert.False(t, cfg.Metrics.Enabled)
	assert.Equal(t, "30s", cfg.Metrics.Interval)
	assert.Nil(t, cfg.Metrics.RuleFile)
	assert.False(t, cfg.LAN.Enabled)
}

func TestConfigFromValuesReadsWhatTheChartReads(t *testing.T) {
	cfg, err := ConfigFromValues(parseValues(t, `
auth: {enabled: false}
commonConfiguration: |-
  appendonly no
  maxmemory 100mb
replica:
  replicaCount: 2
  persistence: {enabled: false}
  disableCommands: []
  configuration: "maxmemory 50mb"
  livenessProbe: {periodSeconds: 2, failureThreshold: 3, timeoutSeconds: 1, initialDelaySeconds: 0}
metrics:
  enabled: true
  serviceMonitor: {enabled: true, interval: 5s}
lanService: {enabled: true, name: lan, loadBalancerIP: 192.168.4.201, sourceRanges: [192.168.4.7/24, 10.0.0.0/8], port: 6380}
`))
	require.NoError(t, err)
	assert.False(t, cfg.AuthEnabled)
	assert.Equal(t, 2, cfg.Replicas)
	assert.True(t, cfg.Master.Persistence)
	assert.False(t, cfg.Replica.Persistence)
	assert.Equal(t, "100mb", cfg.Master.Effective["maxmemory"])
	assert.Equal(t, "50mb", cfg.Replica.Effective["maxmemory"], "the role's configuration comes after the common lines")
	assert.NotContains(t, cfg.Replica.ChartConfig, "rename-command")
	assert.Equal(t, "5s", cfg.Metrics.Interval)
	assert.Equal(t, netip.MustParseAddr("192.168.4.201"), cfg.LAN.LoadBalancerIP)
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("192.168.4.0/24"), netip.MustParsePrefix("10.0.0.0/8")}, cfg.LAN.SourceRanges)
	assert.Equal(t, 6380, cfg.LAN.Port)
}

func TestConfigFromValuesRejectsBadValues(t *testing.T) {
	tests := []struct {
		name, doc, wantErr string
	}{
		{"replica count not a number", `replica: {replicaCount: two}`, "replica.replicaCount"},
		{"too many replicas", `replica: {replicaCount: 50}`, "replica.replicaCount"},
		{"unknown architecture", `architecture: cluster`, "architecture"},
		{"sentinel", `sentinel: {enabled: true}`, "sentinel.enabled"},
		{"lb ip not an address", `lanService: {enabled: true, loadBalancerIP: lan, sourceRanges: []}`, "lanService.loadBalancerIP"},
		{"lb ip IPv6", `lanService: {enabled: true, loadBalancerIP: "fd00::1"}`, "lanService.loadBalancerIP"},
		{"source range not a CIDR", `lanService: {enabled: true, loadBalancerIP: 192.168.4.200, sourceRanges: [lan]}`, "lanService.sourceRanges[0]"},
		{"port out of range", `lanService: {enabled: true, loadBalancerIP: 192.168.4.200, port: 70000}`, "lanService.port"},
		{"zero probe period", `master: {livenessProbe: {periodSeconds: 0}}`, "master.livenessProbe"},
		{"bad scrape interval", `metrics: {serviceMonitor: {interval: often}}`, "metrics.serviceMonitor.interval"},
		{"persistence not a bool", `master: {persistence: {enabled: "yes"}}`, "master.persistence.enabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ConfigFromValues(parseValues(t, tt.doc))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestConfigFromProjectValues(t *testing.T) {
	root, err := project.Root()
	require.NoError(t, err)
	tree, err := values.LoadLayered(root, values.LayeringHomelab)
	require.NoError(t, err)
	cfg, err := ConfigFromValues(tree)
	require.NoError(t, err)
	// The project's choices the sandbox must carry over (DESIGN.md section 3).
	assert.True(t, cfg.AuthEnabled)
	assert.Equal(t, 1, cfg.Replicas)
	assert.True(t, cfg.LAN.Enabled)
	assert.True(t, cfg.Metrics.Enabled && cfg.Metrics.ServiceMonitor)
	require.NotNil(t, cfg.Metrics.RuleFile)
	var rules struct {
		Groups []struct {
			Rules []map[string]any `json:"rules"`
		} `json:"groups"`
	}
	require.NoError(t, yaml.Unmarshal(cfg.Metrics.RuleFile, &rules))
	require.NotEmpty(t, rules.Groups)
	assert.NotEmpty(t, rules.Groups[0].Rules)
	assert.NotContains(t, string(cfg.Metrics.RuleFile), `{{"`, "chart templating must be rendered away")
}

func TestRedisConfPutsArgumentsLast(t *testing.T) {
	role := RoleConfig{ChartConfig: "appendonly yes\nrequirepass from-values\n"}
	conf := redisConf(role, true, netip.MustParseAddr("10.244.0.20"), "/data", "s3cret")
	lines := strings.Split(strings.TrimSpace(conf), "\n")
	assert.Equal(t, "replica-announce-ip 10.244.0.20", lines[len(lines)-1])
	assert.Equal(t, "replicaof 10.244.0.10 6379", lines[len(lines)-2])
	assert.Equal(t, "masterauth s3cret", lines[len(lines)-3])
	assert.Equal(t, "requirepass s3cret", lines[len(lines)-4], "the generated secret wins over a value, as the chart's argument does")
	assert.Less(t, strings.Index(conf, "appendonly yes"), strings.Index(conf, "dir /data"))

	noAuth := redisConf(role, false, masterIP, "/data", "")
	assert.NotContains(t, noAuth, "masterauth")
	assert.NotContains(t, noAuth, "replicaof")
}

func TestPrometheusConfig(t *testing.T) {
	targets := []scrapeTarget{{addr: "10.244.0.10:9121", pod: "redis-shared-master-0"}}
	tests := []struct {
		name         string
		metrics      MetricsConfig
		rules        bool
		wantTimeout  string
		wantScrapes  bool
		wantRuleFile bool
	}{
		{"short interval caps the timeout", MetricsConfig{Interval: "5s", ServiceMonitor: true}, true, "5s", true, true},
		{"explicit timeout", MetricsConfig{Interval: "15s", ScrapeTimeout: "10s", ServiceMonitor: true}, false, "10s", true, false},
		{"no ServiceMonitor, no scrape job", MetricsConfig{Interval: "30s"}, false, "10s", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := prometheusConfig(tt.metrics, targets, tt.rules)
			require.NoError(t, err)
			var cfg struct {
				Global        map[string]string `json:"global"`
				RuleFiles     []string          `json:"rule_files"`
				ScrapeConfigs []struct {
					JobName       string `json:"job_name"`
					StaticConfigs []struct {
						Targets []string          `json:"targets"`
						Labels  map[string]string `json:"labels"`
					} `json:"static_configs"`
				} `json:"scrape_configs"`
			}
			require.NoError(t, yaml.Unmarshal(raw, &cfg))
			assert.Equal(t, tt.metrics.Interval, cfg.Global["scrape_interval"])
			assert.Equal(t, tt.wantTimeout, cfg.Global["scrape_timeout"])
			assert.Equal(t, tt.wantRuleFile, len(cfg.RuleFiles) == 1)
			if !tt.wantScrapes {
				assert.Empty(t, cfg.ScrapeConfigs)
				return
			}
			require.Len(t, cfg.ScrapeConfigs, 1)
			assert.Equal(t, "redis-shared-metrics", cfg.ScrapeConfigs[0].JobName)
			static := cfg.ScrapeConfigs[0].StaticConfigs[0]
			assert.Equal(t, []string{"10.244.0.10:9121"}, static.Targets)
			assert.Equal(t, "redis-shared-master-0", static.Labels["pod"])
			assert.Equal(t, "redis", static.Labels["namespace"])
			assert.Equal(t, "redis-shared-metrics", static.Labels["service"])
		})
	}
}

func TestNewTopology(t *testing.T) {
	cfg := Config{Replicas: 2, Metrics: MetricsConfig{Enabled: true}, LAN: LANService{
		Enabled: true, LoadBalancerIP: netip.MustParseAddr("192.168.4.200"), Port: 6379,
		SourceRanges: []netip.Prefix{lanCIDR},
	}}
	topo, err := newTopology("abc123", cfg)
	require.NoError(t, err)
	assert.Equal(t, []string{
		"rsc-abc123-node", "rsc-abc123-lan", "rsc-abc123-outside", "rsc-abc123-master",
		"rsc-abc123-replica-0", "rsc-abc123-replica-1", "rsc-abc123-prometheus", "rsc-abc123-client",
		"rsc-abc123-beersystem-redis", "rsc-abc123-beersystem",
	}, topo.namespaces())
	for _, name := range topo.namespaces() {
		assert.Regexp(t, idPattern, name)
	}
	replica, ok := topo.pod("replica-1")
	require.True(t, ok)
	assert.Equal(t, "10.244.0.21", replica.ip.String())
	assert.Equal(t, "redis-shared-replicas-1", replica.podRef)
	assert.Equal(t, masterIP, topo.lbTarget)
	oldRedis, ok := topo.pod("beersystem-redis")
	require.True(t, ok)
	assert.Equal(t, "beersystem-redis-0", oldRedis.podRef)

	// The most replicas the values allow stay clear of the beersystem pods' addresses.
	cfg.Replicas = maxReplicas
	topo, err = newTopology("abc123", cfg)
	require.NoError(t, err)
	seen := map[netip.Addr]string{}
	for _, p := range topo.pods {
		assert.Empty(t, seen[p.ip], "%s and %s share %s", seen[p.ip], p.name, p.ip)
		seen[p.ip] = p.name
	}
	cfg.Replicas = 2

	for _, clash := range []string{"192.168.4.10", "203.0.113.1", "10.244.0.7"} {
		cfg.LAN.LoadBalancerIP = netip.MustParseAddr(clash)
		_, err := newTopology("abc123", cfg)
		assert.Error(t, err, clash)
	}
}

func TestRemoveStateDirLeavesForeignFiles(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"state.json", "redis-password", "mine.txt"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600))
	}
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "instances", "master", "data"), 0o700))
	require.NoError(t, removeStateDir(dir))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, "mine.txt", entries[0].Name())
}
