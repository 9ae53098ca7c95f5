package alerts

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Query is one PromQL expression and where it comes from.
type Query struct {
	Source string
	Expr   string
}

type dashboardPanel struct {
	Title   string           `json:"title"`
	Targets []dashboardQuery `json:"targets"`
	Panels  []dashboardPanel `json:"panels"` // collapsed rows hold their panels
}

type dashboardQuery struct {
	RefID string `json:"refId"`
	Expr  string `json:"expr"`
}

type dashboardVariable struct {
	Name  string          `json:"name"`
	Type  string          `json:"type"`
	Query json.RawMessage `json:"query"`
}

type dashboard struct {
	Title      string           `json:"title"`
	Panels     []dashboardPanel `json:"panels"`
	Templating struct {
		List []dashboardVariable `json:"list"`
	} `json:"templating"`
}

// Grafana's Prometheus variable functions whose first argument is a PromQL selector.
var variableFuncPattern = regexp.MustCompile(`^\s*(label_values|query_result)\s*\((.*)\)\s*$`)

// DashboardQueries returns every PromQL expression of a Grafana dashboard: panel
// targets (rows included) and query variables.
func DashboardQueries(raw []byte) ([]Query, error) {
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("parse dashboard JSON: %w", err)
	}
	var out []Query
	var walk func(panels []dashboardPanel)
	walk = func(panels []dashboardPanel) {
		for _, p := range panels {
			for _, t := range p.Targets {
				if strings.TrimSpace(t.Expr) != "" {
					out = append(out, Query{Source: fmt.Sprintf("panel %q target %s", p.Title, t.RefID), Expr: t.Expr})
				}
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		text, err := variableQueryText(v.Query)
		if err != nil {
			return nil, fmt.Errorf("variable %s: %w", v.Name, err)
		}
		m := variableFuncPattern.FindStringSubmatch(text)
		if m == nil {
			continue // label_names(), metrics(regex) and plain text select no metric
		}
		expr := m[2]
		if m[1] == "label_values" {
			// label_values(selector, label); label_values(label) selects no metric.
			i := strings.LastIndex(expr, ",")
			if i < 0 {
				continue
			}
			expr = expr[:i]
		}
		out = append(out, Query{Source: fmt.Sprintf("variable %s", v.Name), Expr: expr})
	}
	return out, nil
}

// variableQueryText reads a variable's query, a string or {"query": "..."}.
func variableQueryText(raw json.RawMessage) (string, error) {
	if len(raw) == 0 {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var obj struct {
		Query string `json:"query"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return "", fmt.Errorf("query is neither a string nor an object with a query: %w", err)
	}
	return obj.Query, nil
}

// RuleQueries returns the expressions of a rule file.
func RuleQueries(f File) []Query {
	var out []Query
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			out = append(out, Query{Source: fmt.Sprintf("rule %s", r.Name()), Expr: r.Expr})
		}
	}
	return out
}

// RecordedNames are the series names a rule file creates itself.
func RecordedNames(f File) []string {
	var out []string
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				out = append(out, r.Record)
			}
		}
	}
	return out
}

// PrometheusOwnNames are series Prometheus adds to every target; rules may use them.
var PrometheusOwnNames = []string{"up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling", "scrape_series_added"}

// UnknownMetrics lists, per query, the metric names that are not in known. Each
// problem is one line naming the source and the metric.
func UnknownMetrics(queries []Query, known map[string]bool) ([]string, error) {
	var problems []string
	for _, q := range queries {
		names, err := MetricNames(q.Expr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", q.Source, err)
		}
		if len(names) == 0 {
			problems = append(problems, fmt.Sprintf("%s: selects no metric at all", q.Source))
		}
		for _, n := range names {
			if !known[n] {
				problems = append(problems, fmt.Sprintf("%s: metric %s is not exported", q.Source, n))
			}
		}
	}
	sort.Strings(problems)
	return problems, nil
}
