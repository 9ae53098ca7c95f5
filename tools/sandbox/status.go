package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/redis-shared/conformance/tools/loadgen"
)

// Report is the health of a running sandbox.
type Report struct {
	ID         string           `json:"id"`
	Supervisor bool             `json:"supervisorAlive"`
	Instances  []InstanceHealth `json:"instances"`
	Prometheus *PromHealth      `json:"prometheus,omitempty"`
	// OldRedis is the old beersystem Redis (PING with its own password).
	OldRedis *InstanceHealth `json:"oldRedis,omitempty"`
}

// InstanceHealth is one instance's view from the cluster network.
type InstanceHealth struct {
	Name     string   `json:"name"`
	Addr     string   `json:"addr"`
	Pid      int      `json:"pid"`
	Restarts int      `json:"restarts"`
	Role     string   `json:"role,omitempty"`     // as INFO replication reports it
	Link     string   `json:"link,omitempty"`     // master_link_status of a replica
	Exporter string   `json:"exporter,omitempty"` // redis_up as the exporter reports it
	Problems []string `json:"problems,omitempty"`
}

// PromHealth is Prometheus' readiness, its targets and its rules.
type PromHealth struct {
	Ready    bool              `json:"ready"`
	Targets  map[string]string `json:"targets"` // pod -> health (up, down, unknown)
	Rules    int               `json:"rules"`
	Problems []string          `json:"problems,omitempty"`
}

// Healthy says whether nothing in the report is wrong.
func (r Report) Healthy() bool {
	if !r.Supervisor {
		return false
	}
	for _, inst := range r.Instances {
		if len(inst.Problems) > 0 {
			return false
		}
	}
	if r.OldRedis != nil && len(r.OldRedis.Problems) > 0 {
		return false
	}
	return r.Prometheus == nil || len(r.Prometheus.Problems) == 0
}

// Problems lists everything wrong, one line each.
func (r Report) Problems() []string {
	var out []string
	if !r.Supervisor {
		out = append(out, "supervisor: not running")
	}
	for _, inst := range r.Instances {
		for _, p := range inst.Problems {
			out = append(out, inst.Name+": "+p)
		}
	}
	if r.Prometheus != nil {
		for _, p := range r.Prometheus.Problems {
			out = append(out, "prometheus: "+p)
		}
	}
	if r.OldRedis != nil {
		for _, p := range r.OldRedis.Problems {
			out = append(out, r.OldRedis.Name+": "+p)
		}
	}
	return out
}

// CheckOptions says how much Check looks at.
type CheckOptions struct {
	// Targets requires every Prometheus target to be up (they are scraped once per
	// interval, so right after `up` they may still be unknown).
	Targets bool
	// SkipLink does not require replicas' master_link_status to be up: a fresh
	// replica answers PING (and is Ready in Kubernetes) before its first full sync,
	// which Redis delays by repl-diskless-sync-delay (5 s by default).
	SkipLink bool
	// Scraped requires every target to have been scraped and be up, with no grace
	// for a first scrape still pending (with Targets).
	Scraped bool
}

// Check looks at every instance (PING, role, replication link), every exporter and
// Prometheus, from the cluster vantage point.
func (s *State) Check(ctx context.Context, opts CheckOptions) Report {
	report := Report{ID: s.ID, Supervisor: processAlive(s.Supervisor.Pid)}
	password, err := s.Password()
	dial := s.Dialer(VantageCluster)
	httpClient := s.HTTPClient(VantageCluster)
	for _, inst := range s.Instances {
		h := InstanceHealth{Name: inst.Name, Addr: inst.Addr, Pid: inst.Redis.Pid, Restarts: inst.Redis.Restarts}
		switch {
		case err != nil:
			h.Problems = append(h.Problems, err.Error())
		case inst.Redis.Held:
			h.Problems = append(h.Problems, "held down by a Stop fault")
		default:
			h.Problems = append(h.Problems, checkInstance(ctx, dial, inst, password, opts, &h)...)
		}
		if inst.ExporterAddr != "" {
			h.Exporter, err = exporterRedisUp(ctx, httpClient, inst.ExporterAddr)
			if err != nil {
				h.Problems = append(h.Problems, fmt.Sprintf("exporter: %v", err))
			} else if h.Exporter != "1" {
				h.Problems = append(h.Problems, fmt.Sprintf("exporter: redis_up is %s", h.Exporter))
			}
		}
		report.Instances = append(report.Instances, h)
	}
	if s.Prometheus != nil {
		report.Prometheus = s.checkPrometheus(ctx, httpClient, opts)
	}
	if s.OldRedis != nil {
		report.OldRedis = s.checkOldRedis(ctx)
	}
	return report
}

func checkInstance(ctx context.Context, dial loadgen.DialFunc, inst Instance, password string, opts CheckOptions, h *InstanceHealth) []string {
	role, link, err := replicationInfo(ctx, dial, inst.Addr, password)
	if err != nil {
		return []string{fmt.Sprintf("INFO replication: %v", err)}
	}
	h.Role, h.Link = role, link
	var problems []string
	if h.Role != inst.Role && !(inst.Role == "replica" && h.Role == "slave") {
		problems = append(problems, fmt.Sprintf("role is %q, want %q", h.Role, inst.Role))
	}
	if inst.Role == "replica" && h.Link != "up" && !opts.SkipLink {
		problems = append(problems, fmt.Sprintf("replication link is %q", h.Link))
	}
	return problems
}

// exporterRedisUp returns the exporter's redis_up value.
func exporterRedisUp(ctx context.Context, client *http.Client, addr string) (string, error) {
	code, body, err := httpGet(ctx, client, "http://"+addr+"/metrics")
	if err != nil {
		return "", err
	}
	if code != http.StatusOK {
		return "", fmt.Errorf("GET /metrics: HTTP %d", code)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "redis_up "); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("no redis_up in /metrics")
}

func (s *State) checkPrometheus(ctx context.Context, client *http.Client, opts CheckOptions) *PromHealth {
	h := &PromHealth{Targets: map[string]string{}}
	code, _, err := httpGet(ctx, client, s.Prometheus.URL+"/-/ready")
	h.Ready = err == nil && code == http.StatusOK
	if !h.Ready {
		h.Problems = append(h.Problems, fmt.Sprintf("not ready (HTTP %d, %v)", code, err))
		return h
	}
	targets, err := s.PrometheusTargets(ctx)
	if err != nil {
		h.Problems = append(h.Problems, err.Error())
	}
	for _, t := range targets {
		h.Targets[t.Labels["pod"]] = t.Health
	}
	if opts.Targets {
		for _, pod := range s.Prometheus.Targets {
			health, ok := h.Targets[pod]
			if !ok {
				health = "missing"
			}
			// Prometheus takes up to one interval (and its 5 s discovery throttle)
			// before a new target has been scraped.
			if health != "up" && (opts.Scraped || !((health == "unknown" || health == "missing") && s.firstScrapePending())) {
				h.Problems = append(h.Problems, fmt.Sprintf("target %s is %s", pod, health))
			}
		}
	}
	rules, err := s.PrometheusRules(ctx)
	if err != nil {
		h.Problems = append(h.Problems, err.Error())
	}
	h.Rules = len(rules)
	return h
}

// PromTarget is one active Prometheus target.
type PromTarget struct {
	Labels    map[string]string `json:"labels"`
	Health    string            `json:"health"`
	LastError string            `json:"lastError"`
}

// PromRule is one loaded rule.
type PromRule struct {
	Name   string `json:"name"`
	Type   string `json:"type"`  // alerting or recording
	State  string `json:"state"` // inactive, pending, firing (alerting rules)
	Health string `json:"health"`
}

// PrometheusTargets returns Prometheus' active targets.
func (s *State) PrometheusTargets(ctx context.Context) ([]PromTarget, error) {
	var data struct {
		ActiveTargets []PromTarget `json:"activeTargets"`
	}
	if err := s.promAPI(ctx, "/api/v1/targets?state=active", &data); err != nil {
		return nil, err
	}
	return data.ActiveTargets, nil
}

// PrometheusRules returns every rule Prometheus has loaded.
func (s *State) PrometheusRules(ctx context.Context) ([]PromRule, error) {
	var data struct {
		Groups []struct {
			Rules []PromRule `json:"rules"`
		} `json:"groups"`
	}
	if err := s.promAPI(ctx, "/api/v1/rules", &data); err != nil {
		return nil, err
	}
	var out []PromRule
	for _, g := range data.Groups {
		out = append(out, g.Rules...)
	}
	return out, nil
}

func (s *State) promAPI(ctx context.Context, path string, into any) error {
	if s.Prometheus == nil {
		return fmt.Errorf("sandbox %s runs no Prometheus (metrics.enabled is false)", s.ID)
	}
	code, body, err := httpGet(ctx, s.HTTPClient(s.Prometheus.Vantage), s.Prometheus.URL+path)
	if err != nil {
		return fmt.Errorf("prometheus %s: %w", path, err)
	}
	if code != http.StatusOK {
		return fmt.Errorf("prometheus %s: HTTP %d", path, code)
	}
	var envelope struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &envelope); err != nil {
		return fmt.Errorf("prometheus %s: %w", path, err)
	}
	if envelope.Status != "success" {
		return fmt.Errorf("prometheus %s: status %q", path, envelope.Status)
	}
	if err := json.Unmarshal(envelope.Data, into); err != nil {
		return fmt.Errorf("prometheus %s: %w", path, err)
	}
	return nil
}

// processAlive says whether pid exists (and is not a zombie we could still signal).
func processAlive(pid int) bool {
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state letter follows the parenthesised command name; Z is a zombie.
	i := strings.LastIndexByte(string(stat), ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}

// firstScrapePending says whether Prometheus started less than two scrape intervals
// ago, so a target may rightly not have been scraped yet.
func (s *State) firstScrapePending() bool {
	interval, err := parsePromDuration(s.Prometheus.ScrapeInterval)
	if err != nil {
		return false
	}
	return time.Since(s.Prometheus.Process.StartedAt) < 2*interval+5*time.Second
}
