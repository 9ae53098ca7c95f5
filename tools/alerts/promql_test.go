package alerts

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMetricNames(t *testing.T) {
	tests := []struct {
		name string
		expr string
		want []string
	}{
		{"bare name", "redis_up", []string{"redis_up"}},
		{"selector", `redis_up{service="a", role=~"m.*"} == 0`, []string{"redis_up"}},
		{"matcher value looks like a metric", `redis_up{pod="redis_fake_total"}`, []string{"redis_up"}},
		{"escaped quote in matcher", `redis_up{pod="a\"}b"}`, []string{"redis_up"}},
		{"range and function", `rate(redis_commands_total[1m])`, []string{"redis_commands_total"}},
		{"subquery and offset", `max_over_time(redis_up[5m:30s] offset 1h)`, []string{"redis_up"}},
		{"aggregation clause before", `sum by (pod, cmd) (rate(redis_commands_total[1m]))`, []string{"redis_commands_total"}},
		{"aggregation clause after", `sum(rate(redis_commands_total[1m])) without (cmd)`, []string{"redis_commands_total"}},
		{"vector matching", `a - on (instance) group_right (slave_ip) b`, []string{"a", "b"}},
		{"set operators and bool", `a > bool 1 and b unless c or d`, []string{"a", "b", "c", "d"}},
		{"numbers and durations", `a > 1e3 and b < 0x1F and c < .5 and d > 1.5e-3`, []string{"a", "b", "c", "d"}},
		{"string arguments", `label_replace(a, "dst", "$1", "src", "(redis_x)")`, []string{"a"}},
		{"__name__ matcher", `{__name__="redis_up", job="x"}`, []string{"redis_up"}},
		{"quoted name (Prometheus 3)", `{"redis_up", job="x"}`, []string{"redis_up"}},
		{"grafana variables", `rate(a{instance=~"$instance"}[$__rate_interval]) * $scale + ${factor}`, []string{"a"}},
		{"colons in recorded names", `job:redis_ops:rate1m > 0`, []string{"job:redis_ops:rate1m"}},
		{"comment", "a # b is a comment\n+ c", []string{"a", "c"}},
		{"keywords in capitals", `A AND B`, []string{"A", "B"}},
		{"no metric", `vector(1) > bool 0`, []string{}},
		{"inf and nan", `a > Inf or b != NaN`, []string{"a", "b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MetricNames(tc.expr)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestMetricNamesRejectsMalformed(t *testing.T) {
	for _, expr := range []string{
		`redis_up{pod="a`,
		`redis_up{pod="a"`,
		`rate(redis_up[1m`,
		`redis_up{pod}`,
		`redis_up{pod=~}`,
		`redis_up{(}`,
		`"unterminated`,
		`sum by (pod`,
	} {
		t.Run(expr, func(t *testing.T) {
			_, err := MetricNames(expr)
			assert.Error(t, err)
		})
	}
}

func TestDashboardQueries(t *testing.T) {
	raw := []byte(`{
	  "panels": [
	    {"title": "Up", "targets": [{"refId": "A", "expr": "redis_up"}, {"refId": "B", "expr": " "}]},
	    {"title": "Row", "type": "row", "panels": [
	      {"title": "Inner", "targets": [{"refId": "A", "expr": "redis_uptime_in_seconds"}]}
	    ]}
	  ],
	  "templating": {"list": [
	    {"name": "datasource", "type": "datasource", "query": "prometheus"},
	    {"name": "instance", "type": "query", "query": {"query": "label_values(redis_up{service=\"s\"}, instance)"}},
	    {"name": "old", "type": "query", "query": "query_result(topk(1, redis_connected_clients))"},
	    {"name": "labels", "type": "query", "query": "label_values(pod)"},
	    {"name": "names", "type": "query", "query": "metrics(redis_.*)"}
	  ]}
	}`)
	got, err := DashboardQueries(raw)
	require.NoError(t, err)
	assert.Equal(t, []Query{
		{Source: `panel "Up" target A`, Expr: "redis_up"},
		{Source: `panel "Inner" target A`, Expr: "redis_uptime_in_seconds"},
		{Source: "variable instance", Expr: `redis_up{service="s"}`},
		{Source: "variable old", Expr: "topk(1, redis_connected_clients)"},
	}, got)

	_, err = DashboardQueries([]byte(`{"panels": [`))
	require.ErrorContains(t, err, "parse dashboard JSON")
}

// MetricNames reads expressions from outside (dashboards, values files): it must
// never panic or hang, whatever it is given.
func FuzzMetricNames(f *testing.F) {
	for _, seed := range []string{
		`sum by (pod) (rate(redis_commands_total{service="a"}[1m]))`,
		`{__name__="x"} offset 5m`,
		`a{b="\"}"}`,
		`${x`,
		`1e+`,
		"`raw",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		names, err := MetricNames(expr)
		if err == nil {
			for _, n := range names {
				if n == "" {
					t.Fatalf("empty metric name from %q", expr)
				}
			}
		}
	})
}
