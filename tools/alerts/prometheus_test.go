package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/redis-shared/conformance/tools/project"
	"github.com/redis-shared/conformance/tools/values"
)

// labDeadline bounds the whole real-Prometheus test: lab, Prometheus, first rates.
const labDeadline = 90 * time.Second

// Panels that show one role only; every other panel must show both instances.
var masterOnlyPanels = map[string]bool{"Replication lag": true}

type promResponse struct {
	Status string          `json:"status"`
	Error  string          `json:"error"`
	Data   json.RawMessage `json:"data"`
}

type promSample struct {
	Metric map[string]string `json:"metric"`
}

func promGet(ctx context.Context, base, path string, query url.Values) (json.RawMessage, error) {
	u := base + path
	if query != nil {
		u += "?" + query.Encode()
	}
	body, err := httpGet(ctx, u)
	if err != nil {
		return nil, err
	}
	var resp promResponse
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	if resp.Status != "success" {
		return nil, fmt.Errorf("GET %s: %s", path, resp.Error)
	}
	return resp.Data, nil
}

func promQuery(ctx context.Context, base, expr string) ([]promSample, error) {
	data, err := promGet(ctx, base, "/api/v1/query", url.Values{"query": {expr}})
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", expr, err)
	}
	var vec struct {
		ResultType string       `json:"resultType"`
		Result     []promSample `json:"result"`
	}
	if err := json.Unmarshal(data, &vec); err != nil {
		return nil, fmt.Errorf("query %s: %w", expr, err)
	}
	return vec.Result, nil
}

// With real redis-servers, exporters and Prometheus: the rules load and stay quiet on
// a healthy pair, and every dashboard query returns series, for both instances.
func TestDashboardAndRulesOnRealPrometheus(t *testing.T) {
	bin, err := FindExporterBinaries()
	if err != nil {
		t.Skipf("no live exporter: %v", err)
	}
	prometheus, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus not on PATH (Debian package prometheus): cannot evaluate the dashboard and rules")
	}
	ctx, cancel := context.WithTimeout(context.Background(), labDeadline)
	defer cancel()
	dir := t.TempDir()
	lab, err := StartLab(ctx, bin, dir, homelabConfig(t))
	require.NoError(t, err)
	t.Cleanup(lab.Close)

	rules, err := RuleFile(loadLayering(t, values.LayeringHomelab))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "rules.yml"), rules, 0o644))
	// Targets labelled like the Prometheus Operator labels the chart's ServiceMonitor's.
	target := func(exporter, pod string) map[string]any {
		return map[string]any{
			"targets": []string{exporter},
			"labels":  map[string]string{"service": "redis-shared-metrics", "namespace": project.Namespace, "pod": pod, "container": "metrics", "endpoint": "http-metrics"},
		}
	}
	config, err := yaml.Marshal(map[string]any{
		"global":     map[string]any{"scrape_interval": "1s", "evaluation_interval": "1s"},
		"rule_files": []string{"rules.yml"},
		"scrape_configs": []any{map[string]any{
			"job_name":       "redis-shared-metrics",
			"static_configs": []any{target(lab.MasterExporter, "redis-shared-master-0"), target(lab.ReplicaExporter, "redis-shared-replicas-0")},
		}},
	})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "prometheus.yml"), config, 0o644))
	ports, err := freePorts(1)
	require.NoError(t, err)
	base := "http://" + addr(ports[0])
	require.NoError(t, lab.Start("prometheus", prometheus,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+addr(ports[0])))

	// rate() needs two samples of each instance.
	require.NoError(t, waitFor(ctx, "rates of both instances", func() error {
		got, err := promQuery(ctx, base, `rate(redis_commands_processed_total{service="redis-shared-metrics"}[1m])`)
		if err != nil {
			return err
		}
		if len(got) != 2 {
			return fmt.Errorf("%d series", len(got))
		}
		return nil
	}), "see %s", filepath.Join(dir, "prometheus.log"))

	t.Run("rules load and stay quiet on a healthy pair", func(t *testing.T) {
		data, err := promGet(ctx, base, "/api/v1/rules", nil)
		require.NoError(t, err)
		var loaded struct {
			Groups []struct {
				Rules []struct {
					Name      string `json:"name"`
					Health    string `json:"health"`
					LastError string `json:"lastError"`
				} `json:"rules"`
			} `json:"groups"`
		}
		require.NoError(t, json.Unmarshal(data, &loaded))
		var names []string
		for _, g := range loaded.Groups {
			for _, r := range g.Rules {
				names = append(names, r.Name)
				assert.Equal(t, "ok", r.Health, "%s: %s", r.Name, r.LastError)
			}
		}
		assert.Equal(t, wantAlerts, names)

		data, err = promGet(ctx, base, "/api/v1/alerts", nil)
		require.NoError(t, err)
		var active struct {
			Alerts []struct {
				Labels map[string]string `json:"labels"`
				State  string            `json:"state"`
			} `json:"alerts"`
		}
		require.NoError(t, json.Unmarshal(data, &active))
		assert.Empty(t, active.Alerts, "alerts active on a healthy master and replica")
	})

	t.Run("every dashboard query returns both instances", func(t *testing.T) {
		queries, err := DashboardQueries(projectDashboard(t))
		require.NoError(t, err)
		podsPerPanel := map[string]map[string]bool{}
		for _, q := range queries {
			expr := strings.ReplaceAll(q.Expr, "$instance", ".+")
			got, err := promQuery(ctx, base, expr)
			require.NoError(t, err, q.Source)
			assert.NotEmpty(t, got, "%s: no series for %s", q.Source, expr)
			panel := q.Source
			if i := strings.LastIndex(panel, " target "); i > 0 {
				panel = panel[:i]
			}
			if podsPerPanel[panel] == nil {
				podsPerPanel[panel] = map[string]bool{}
			}
			for _, s := range got {
				podsPerPanel[panel][s.Metric["pod"]] = true
			}
		}
		for panel, pods := range podsPerPanel {
			if !strings.HasPrefix(panel, "panel ") {
				continue
			}
			title := strings.Trim(strings.TrimPrefix(panel, "panel "), `"`)
			if masterOnlyPanels[title] {
				assert.True(t, pods["redis-shared-master-0"], "%s: no master series", panel)
				continue
			}
			assert.True(t, pods["redis-shared-master-0"] && pods["redis-shared-replicas-0"], "%s: shows %v, want both instances", panel, pods)
		}
	})
}
