package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redis-shared/conformance/tools/project"
	"github.com/redis-shared/conformance/tools/values"
)

// DashboardFile is the Grafana dashboard tofu ships as a ConfigMap.
const dashboardFile = "helm-values/dashboards/redis-shared.json"

// scrapeDeadline bounds starting two redis-servers and two exporters and scraping them.
const scrapeDeadline = 30 * time.Second

// exportedNames returns the names a real exporter exports: from a live scrape when
// redis-server and the exporter are installed (scrape is then non-nil), else from the
// fixture (and says so).
func exportedNames(t *testing.T) (names []string, source string, scrape *ExporterScrape) {
	t.Helper()
	bin, err := FindExporterBinaries()
	if err != nil {
		t.Logf("no live exporter (%v): checking against %s instead", err, MetricNamesFixture)
		return fixtureNames(t), MetricNamesFixture, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), scrapeDeadline)
	defer cancel()
	live, err := ScrapeExporters(ctx, bin, t.TempDir(), homelabConfig(t))
	require.NoError(t, err)
	t.Logf("live scrape: %d names from redis_exporter %s against redis-server %s", len(live.Names), live.ExporterVersion, live.RedisVersion)
	return live.Names, "live redis_exporter " + live.ExporterVersion, &live
}

func homelabConfig(t *testing.T) map[string]string {
	t.Helper()
	cfg, err := homelabRedisConfig(projectRoot(t))
	require.NoError(t, err)
	return cfg
}

func fixtureNames(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(projectRoot(t), MetricNamesFixture))
	require.NoError(t, err)
	defer f.Close()
	names, err := ReadMetricNames(f)
	require.NoError(t, err)
	require.NotEmpty(t, names)
	return names
}

func knownSet(names []string, rules File) map[string]bool {
	known := map[string]bool{}
	for _, list := range [][]string{names, PrometheusOwnNames, RecordedNames(rules)} {
		for _, n := range list {
			known[n] = true
		}
	}
	return known
}

func projectDashboard(t *testing.T) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(projectRoot(t), dashboardFile))
	require.NoError(t, err)
	return raw
}

// withPanel returns the dashboard with one more panel querying expr.
func withPanel(t *testing.T, raw []byte, title, expr string) []byte {
	t.Helper()
	var d map[string]any
	require.NoError(t, json.Unmarshal(raw, &d))
	panels, _ := d["panels"].([]any)
	d["panels"] = append(panels, map[string]any{
		"title":   title,
		"type":    "timeseries",
		"targets": []any{map[string]any{"refId": "A", "expr": expr}},
	})
	out, err := json.Marshal(d)
	require.NoError(t, err)
	return out
}

// Every PromQL expression of the dashboard and of the alert rules (both layerings)
// selects only metrics the exporter really exports, Prometheus's own `up`, or a
// recorded series. A panel on a name the exporter lacks fails the test.
func TestDashboardAndRulesUseExportedMetrics(t *testing.T) {
	names, source, scrape := exportedNames(t)
	t.Run("fixture matches the live exporter", func(t *testing.T) {
		checkFixture(t, scrape)
	})
	dash := projectDashboard(t)
	rules := projectRuleFile(t)

	tests := []struct {
		name      string
		dashboard []byte
		want      []string // problems expected, empty for none
	}{
		{name: "project dashboard and rules", dashboard: dash},
		{
			name:      "panel on a made-up metric",
			dashboard: withPanel(t, dash, "Bogus", `rate(redis_bogus_total{service="redis-shared-metrics"}[1m])`),
			want:      []string{`panel "Bogus" target A: metric redis_bogus_total is not exported`},
		},
		{
			// Newer exporters have it, the one the check runs against may not.
			name:      "panel on a metric older exporters lack",
			dashboard: withPanel(t, dash, "Ops", `redis_instantaneous_ops_per_sec`),
			want:      []string{`panel "Ops" target A: metric redis_instantaneous_ops_per_sec is not exported`},
		},
		{
			name:      "panel selecting by __name__",
			dashboard: withPanel(t, dash, "By name", `{__name__="redis_nope", service="redis-shared-metrics"}`),
			want:      []string{`panel "By name" target A: metric redis_nope is not exported`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dashQueries, err := DashboardQueries(tc.dashboard)
			require.NoError(t, err)
			require.NotEmpty(t, dashQueries)
			kindRules, err := Rules(loadLayering(t, values.LayeringKind))
			require.NoError(t, err)
			queries := append(dashQueries, RuleQueries(rules)...)
			queries = append(queries, RuleQueries(File{Groups: []Group{{Name: project.Release, Rules: kindRules}}})...)
			problems, err := UnknownMetrics(queries, knownSet(names, rules))
			require.NoError(t, err)
			if len(tc.want) == 0 {
				assert.Empty(t, problems, "checked against %s", source)
			} else {
				assert.Equal(t, tc.want, problems, "checked against %s", source)
			}
		})
	}
}

// The dashboard shows what issue 3 asks for, for every instance.
func TestDashboardCoversTheRequiredViews(t *testing.T) {
	queries, err := DashboardQueries(projectDashboard(t))
	require.NoError(t, err)
	var all strings.Builder
	for _, q := range queries {
		all.WriteString(q.Expr + "\n")
		if strings.HasPrefix(q.Source, "panel") {
			assert.Contains(t, q.Expr, `service="redis-shared-metrics"`, "%s: not scoped to redis-shared", q.Source)
			assert.Contains(t, q.Expr, `instance=~"$instance"`, "%s: ignores the instance variable", q.Source)
		}
	}
	for view, metric := range map[string]string{
		"uptime":             "redis_uptime_in_seconds",
		"memory":             "redis_memory_used_bytes",
		"maxmemory":          "redis_memory_max_bytes",
		"clients":            "redis_connected_clients",
		"ops/s":              "rate(redis_commands_processed_total",
		"hit rate":           "redis_keyspace_misses_total",
		"replication link":   "redis_master_link_up",
		"replication lag":    "redis_connected_slave_offset_bytes",
		"command latency":    "rate(redis_commands_duration_seconds_total",
		"latency per call":   "rate(redis_commands_total",
		"instance available": "redis_up",
	} {
		assert.Contains(t, all.String(), metric, "no panel shows %s", view)
	}

	var d struct {
		Refresh    string `json:"refresh"`
		Templating struct {
			List []struct {
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	require.NoError(t, json.Unmarshal(projectDashboard(t), &d))
	hasDatasource := false
	for _, v := range d.Templating.List {
		if v.Type == "datasource" && v.Query == "prometheus" {
			hasDatasource = true
		}
	}
	assert.True(t, hasDatasource, "no templated Prometheus datasource")
	refresh, err := time.ParseDuration(d.Refresh)
	require.NoError(t, err)
	assert.LessOrEqual(t, refresh, 15*time.Second, "SC-005: dashboard refresh")
}

// checkFixture: the fixture must be what the installed exporter really exports;
// regenerate it with `make exporter-metric-names` when the exporter changes.
func checkFixture(t *testing.T, scrape *ExporterScrape) {
	if scrape == nil {
		t.Skip("no live exporter to compare the fixture with")
	}
	raw, err := os.ReadFile(filepath.Join(projectRoot(t), MetricNamesFixture))
	require.NoError(t, err)
	if !bytes.Contains(raw, []byte("redis_exporter "+scrape.ExporterVersion+",")) {
		t.Skipf("fixture comes from another exporter version than the installed %s; not comparing", scrape.ExporterVersion)
	}
	var want bytes.Buffer
	require.NoError(t, WriteMetricNames(&want, *scrape))
	assert.Equal(t, want.String(), string(raw), "fixture is stale: run make exporter-metric-names")
}

func TestReadMetricNamesRejectsSamples(t *testing.T) {
	_, err := ReadMetricNames(strings.NewReader("# header\nredis_up\nredis_up{a=\"b\"} 1\n"))
	require.ErrorContains(t, err, "line 3")
}

func TestParseExposition(t *testing.T) {
	body := "# HELP redis_up up\n# TYPE redis_up gauge\nredis_up 1\n" +
		`redis_exporter_build_info{build_date="x",commit_sha="y",golang_version="go1.19.8",version="1.45.0-2+b4"} 1` + "\n" +
		`redis_commands_total{cmd="get"} 3` + "\n"
	names, version := parseExposition(body)
	assert.Equal(t, map[string]bool{"redis_up": true, "redis_exporter_build_info": true, "redis_commands_total": true}, names)
	assert.Equal(t, "1.45.0-2+b4", version)
}
