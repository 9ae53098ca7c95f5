package sandbox

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/redis-shared/conformance/tools/alerts"
	"github.com/redis-shared/conformance/tools/project"
	"github.com/redis-shared/conformance/tools/values"
)

// Chart defaults (Bitnami redis 23.x values.yaml) for the keys the sandbox reads, used
// when the project's values leave a key out: the chart would fall back to them too.
const (
	chartDefaultArchitecture      = "replication"
	chartDefaultReplicaCount      = 3
	chartDefaultScrapeInterval    = "30s"
	chartDefaultCommonConfig      = "appendonly yes\nsave \"\"\n"
	chartDefaultProbeInitialDelay = 20
	chartDefaultProbePeriod       = 5
	chartDefaultProbeTimeout      = 5
	chartDefaultProbeFailures     = 5
	defaultLANServicePort         = 6379
	maxReplicas                   = 20
)

var chartDefaultDisableCommands = []string{"FLUSHDB", "FLUSHALL"}

// Config is what the sandbox takes from the merged helm-values.
type Config struct {
	AuthEnabled bool
	Master      RoleConfig
	// Replica holds the replica role's settings; Replicas is how many run.
	Replica  RoleConfig
	Replicas int
	Metrics  MetricsConfig
	LAN      LANService
	// NotEmulated are the keys of the merged values the sandbox does not act on.
	NotEmulated []string
}

// RoleConfig is one role's (master or replica) redis and pod settings.
type RoleConfig struct {
	Persistence bool
	// ChartConfig is the redis.conf text the chart hands the role: commonConfiguration,
	// the disabled commands and the role's own configuration, in that order.
	ChartConfig string
	// Effective is ChartConfig parsed (later lines win), for reading single directives.
	Effective map[string]string
	Liveness  Probe
	// Resources are the container's limits, enforced with a cgroup.
	Resources Resources
}

// Probe is a kubelet liveness probe.
type Probe struct {
	Enabled          bool
	InitialDelay     time.Duration
	Period           time.Duration
	Timeout          time.Duration
	FailureThreshold int
}

// MetricsConfig covers the exporter sidecar, the ServiceMonitor and the PrometheusRule.
type MetricsConfig struct {
	Enabled        bool
	ServiceMonitor bool
	// Interval and ScrapeTimeout are Prometheus duration strings as the values hold them.
	Interval      string
	ScrapeTimeout string
	// RuleFile is a Prometheus rule file, nil when no PrometheusRule is rendered.
	RuleFile []byte
	// Resources are the exporter container's limits.
	Resources Resources
	// PinnedPassword names the Secret the exporters take REDIS_PASSWORD from when
	// metrics.extraEnvVars points them at one other than auth.existingSecret: a
	// rotation of the auth Secret never reaches them.
	PinnedPassword string
}

// LANService is the project-owned LoadBalancer Service for LAN clients.
type LANService struct {
	Enabled        bool
	Name           string
	LoadBalancerIP netip.Addr
	SourceRanges   []netip.Prefix
	Port           int
}

// ConfigFromValues reads the sandbox configuration out of merged helm-values.
func ConfigFromValues(v values.Tree) (Config, error) {
	var cfg Config
	var err error
	r := reader{tree: v}

	cfg.AuthEnabled = r.boolean("auth.enabled", true)
	architecture := r.str("architecture", chartDefaultArchitecture)
	switch architecture {
	case "replication":
		cfg.Replicas = r.integer("replica.replicaCount", chartDefaultReplicaCount)
	case "standalone":
		cfg.Replicas = 0
	default:
		r.fail(fmt.Errorf("architecture: %q is neither replication nor standalone", architecture))
	}
	if cfg.Replicas < 0 || cfg.Replicas > maxReplicas {
		r.fail(fmt.Errorf("replica.replicaCount: %d is outside 0..%d", cfg.Replicas, maxReplicas))
	}
	if sentinel := r.boolean("sentinel.enabled", false); sentinel {
		r.fail(errors.New("sentinel.enabled: the sandbox emulates the master/replica services only, not Sentinel"))
	}

	common := chartDefaultCommonConfig
	if _, lookupErr := v.Lookup("commonConfiguration"); lookupErr == nil {
		common = r.str("commonConfiguration", "")
	}
	cfg.Master = r.role("master", common)
	cfg.Replica = r.role("replica", common)

	cfg.Metrics.Enabled = r.boolean("metrics.enabled", false)
	cfg.Metrics.ServiceMonitor = r.boolean("metrics.serviceMonitor.enabled", false)
	cfg.Metrics.Interval = r.str("metrics.serviceMonitor.interval", chartDefaultScrapeInterval)
	cfg.Metrics.ScrapeTimeout = r.str("metrics.serviceMonitor.scrapeTimeout", "")
	if cfg.Metrics.Interval == "" {
		cfg.Metrics.Interval = chartDefaultScrapeInterval
	}
	if _, perr := parsePromDuration(cfg.Metrics.Interval); perr != nil {
		r.fail(fmt.Errorf("metrics.serviceMonitor.interval: %w", perr))
	}
	if cfg.Metrics.ScrapeTimeout != "" {
		if _, perr := parsePromDuration(cfg.Metrics.ScrapeTimeout); perr != nil {
			r.fail(fmt.Errorf("metrics.serviceMonitor.scrapeTimeout: %w", perr))
		}
	}
	if r.err == nil {
		if cfg.Metrics.RuleFile, err = ruleFile(v); err != nil {
			r.fail(err)
		}
	}

	cfg.Metrics.Resources = r.resources("metrics")
	cfg.Metrics.PinnedPassword = r.pinnedExporterSecret()
	cfg.LAN = r.lanService()
	cfg.NotEmulated = NotEmulated(v)
	if r.err != nil {
		return Config{}, r.err
	}
	return cfg, nil
}

// reader collects the first error so ConfigFromValues reads like the values it maps.
type reader struct {
	tree values.Tree
	err  error
}

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *reader) boolean(path string, def bool) bool {
	b, err := r.tree.Bool(path, def)
	r.fail(err)
	return b
}

func (r *reader) integer(path string, def int) int {
	n, err := r.tree.Int(path, def)
	r.fail(err)
	return n
}

func (r *reader) str(path, def string) string {
	s, err := r.tree.String(path, def)
	r.fail(err)
	return s
}

func (r *reader) strings(path string, def []string) []string {
	if _, err := r.tree.Lookup(path); errors.Is(err, values.ErrNotFound) {
		return def
	}
	list, err := r.tree.Strings(path)
	r.fail(err)
	return list
}

func (r *reader) role(role, common string) RoleConfig {
	rc := RoleConfig{
		Persistence: r.boolean(role+".persistence.enabled", true),
		Liveness: Probe{
			Enabled:          r.boolean(role+".livenessProbe.enabled", true),
			InitialDelay:     time.Duration(r.integer(role+".livenessProbe.initialDelaySeconds", chartDefaultProbeInitialDelay)) * time.Second,
			Period:           time.Duration(r.integer(role+".livenessProbe.periodSeconds", chartDefaultProbePeriod)) * time.Second,
			Timeout:          time.Duration(r.integer(role+".livenessProbe.timeoutSeconds", chartDefaultProbeTimeout)) * time.Second,
			FailureThreshold: r.integer(role+".livenessProbe.failureThreshold", chartDefaultProbeFailures),
		},
		Resources: r.resources(role),
	}
	if rc.Liveness.Enabled && (rc.Liveness.Period <= 0 || rc.Liveness.Timeout <= 0 || rc.Liveness.FailureThreshold <= 0 || rc.Liveness.InitialDelay < 0) {
		r.fail(fmt.Errorf("%s.livenessProbe: periodSeconds, timeoutSeconds and failureThreshold must be positive", role))
	}
	var conf strings.Builder
	conf.WriteString("# commonConfiguration\n")
	conf.WriteString(strings.TrimSpace(common) + "\n")
	disabled := r.strings(role+".disableCommands", chartDefaultDisableCommands)
	if len(disabled) > 0 {
		conf.WriteString("# " + role + ".disableCommands\n")
	}
	for _, cmd := range disabled {
		fmt.Fprintf(&conf, "rename-command %s \"\"\n", cmd)
	}
	own := r.str(role+".configuration", "")
	if strings.TrimSpace(own) != "" {
		conf.WriteString("# " + role + ".configuration\n")
		conf.WriteString(strings.TrimSpace(own) + "\n")
	}
	rc.ChartConfig = conf.String()
	rc.Effective = values.RedisConfig(rc.ChartConfig)
	return rc
}

func (r *reader) lanService() LANService {
	lan := LANService{
		Enabled: r.boolean("lanService.enabled", false),
		Name:    r.str("lanService.name", project.Release+"-lan"),
		Port:    r.integer("lanService.port", defaultLANServicePort),
	}
	if !lan.Enabled {
		return lan
	}
	if lan.Port <= 0 || lan.Port > 65535 {
		r.fail(fmt.Errorf("lanService.port: %d is not a TCP port", lan.Port))
	}
	ipText := r.str("lanService.loadBalancerIP", "")
	ip, err := netip.ParseAddr(ipText)
	if err != nil || !ip.Is4() {
		r.fail(fmt.Errorf("lanService.loadBalancerIP: %q is not an IPv4 address", ipText))
	}
	lan.LoadBalancerIP = ip
	for i, text := range r.strings("lanService.sourceRanges", nil) {
		prefix, err := netip.ParsePrefix(text)
		if err != nil || !prefix.Addr().Is4() {
			r.fail(fmt.Errorf("lanService.sourceRanges[%d]: %q is not an IPv4 CIDR (the sandbox is IPv4 only)", i, text))
			continue
		}
		lan.SourceRanges = append(lan.SourceRanges, prefix.Masked())
	}
	return lan
}

// parsePromDuration accepts the Prometheus duration forms a ServiceMonitor uses.
func parsePromDuration(text string) (time.Duration, error) {
	d, err := time.ParseDuration(text)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration such as 10s or 1m", text)
	}
	return d, nil
}

// ruleFile is the Prometheus rule file the chart's PrometheusRule would hand the
// operator, rendered by tools/alerts the way the chart renders it; nil when the chart
// renders no PrometheusRule.
func ruleFile(v values.Tree) ([]byte, error) {
	for _, path := range []string{"metrics.enabled", "metrics.prometheusRule.enabled"} {
		enabled, err := v.Bool(path, false)
		if err != nil {
			return nil, err
		}
		if !enabled {
			return nil, nil
		}
	}
	return alerts.RuleFile(v)
}

// pinnedExporterSecret returns the Secret named by a metrics.extraEnvVars entry
// REDIS_PASSWORD (valueFrom.secretKeyRef) when it is not auth.existingSecret.
func (r *reader) pinnedExporterSecret() string {
	raw, err := r.tree.Lookup("metrics.extraEnvVars")
	if err != nil {
		return ""
	}
	list, ok := raw.([]any)
	if !ok {
		return ""
	}
	authSecret := r.str("auth.existingSecret", "")
	for _, item := range list {
		env, ok := item.(map[string]any)
		if !ok || env["name"] != "REDIS_PASSWORD" {
			continue
		}
		from, _ := env["valueFrom"].(map[string]any)
		ref, _ := from["secretKeyRef"].(map[string]any)
		if name, _ := ref["name"].(string); name != "" && name != authSecret {
			return name
		}
	}
	return ""
}
