// Package alerts turns the PrometheusRule part of the merged helm-values into a plain
// Prometheus rule file, rendered the way the Bitnami chart renders it, so promtool, the
// sandbox's Prometheus and the metric-name test all judge the rules the cluster gets.
package alerts

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/template"

	"sigs.k8s.io/yaml"

	"github.com/redis-shared/conformance/tools/project"
	"github.com/redis-shared/conformance/tools/values"
)

// Values paths this package reads.
const (
	pathMetricsEnabled = "metrics.enabled"
	pathRuleEnabled    = "metrics.prometheusRule.enabled"
	pathRules          = "metrics.prometheusRule.rules"
)

// Rule is one Prometheus alerting or recording rule.
type Rule struct {
	Alert         string            `json:"alert,omitempty"`
	Record        string            `json:"record,omitempty"`
	Expr          string            `json:"expr"`
	For           string            `json:"for,omitempty"`
	KeepFiringFor string            `json:"keep_firing_for,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

// Name is the alert or record name.
func (r Rule) Name() string {
	if r.Alert != "" {
		return r.Alert
	}
	return r.Record
}

// Group is a Prometheus rule group.
type Group struct {
	Name  string `json:"name"`
	Rules []Rule `json:"rules"`
}

// File is a Prometheus rule file.
type File struct {
	Groups []Group `json:"groups"`
}

// Rules renders metrics.prometheusRule.rules like the chart's prometheusrule.yaml does:
// toYaml of the list, then tpl with the values as context. Only the template subset the
// values need is supported (literals, .Values and .Release fields); anything else is an
// error naming the path, never a silently different rule.
func Rules(v values.Tree) ([]Rule, error) {
	for _, path := range []string{pathMetricsEnabled, pathRuleEnabled} {
		enabled, err := v.Bool(path, false)
		if err != nil {
			return nil, err
		}
		if !enabled {
			return nil, fmt.Errorf("%s is not true: the chart renders no PrometheusRule", path)
		}
	}
	raw, err := v.Lookup(pathRules)
	if errors.Is(err, values.ErrNotFound) {
		return nil, fmt.Errorf("%s: missing", pathRules)
	}
	if err != nil {
		return nil, err
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("%s: is %T, want a list of rules", pathRules, raw)
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("%s: empty", pathRules)
	}

	// toYaml: the same marshaller Helm uses, so long lines wrap where the chart's do.
	text, err := yaml.Marshal(list)
	if err != nil {
		return nil, fmt.Errorf("%s: encode: %w", pathRules, err)
	}
	rendered, err := tpl(pathRules, string(text), v)
	if err != nil {
		return nil, err
	}
	var rules []Rule
	if err := yaml.UnmarshalStrict([]byte(rendered), &rules); err != nil {
		return nil, fmt.Errorf("%s: after tpl: %w", pathRules, err)
	}
	seen := map[string]bool{}
	for i, r := range rules {
		where := fmt.Sprintf("%s[%d]", pathRules, i)
		switch {
		case r.Alert == "" && r.Record == "":
			return nil, fmt.Errorf("%s: has neither alert nor record", where)
		case r.Alert != "" && r.Record != "":
			return nil, fmt.Errorf("%s: has both alert %q and record %q", where, r.Alert, r.Record)
		case strings.TrimSpace(r.Expr) == "":
			return nil, fmt.Errorf("%s (%s): empty expr", where, r.Name())
		case r.Alert != "" && seen[r.Alert]:
			return nil, fmt.Errorf("%s: alert %q appears twice", where, r.Alert)
		}
		if r.Alert != "" {
			seen[r.Alert] = true
		}
	}
	return rules, nil
}

// tpl executes text as a Go template with the context Helm's tpl would offer for the
// fields the values use. Missing keys are errors rather than empty strings.
func tpl(path, text string, v values.Tree) (string, error) {
	t, err := template.New(path).Option("missingkey=error").Parse(text)
	if err != nil {
		return "", fmt.Errorf("%s: tpl: %w", path, err)
	}
	ctx := map[string]any{
		"Values":  map[string]any(v),
		"Release": map[string]any{"Name": project.Release, "Namespace": project.Namespace, "Service": "Helm"},
	}
	var out bytes.Buffer
	if err := t.Execute(&out, ctx); err != nil {
		return "", fmt.Errorf("%s: tpl: %w", path, err)
	}
	return out.String(), nil
}

// RuleFile builds the Prometheus rule file for the merged values.
func RuleFile(v values.Tree) ([]byte, error) {
	rules, err := Rules(v)
	if err != nil {
		return nil, err
	}
	out, err := yaml.Marshal(File{Groups: []Group{{Name: project.Release, Rules: rules}}})
	if err != nil {
		return nil, fmt.Errorf("encode rule file: %w", err)
	}
	return out, nil
}

// ParseFile reads a Prometheus rule file.
func ParseFile(raw []byte) (File, error) {
	var f File
	if err := yaml.UnmarshalStrict(raw, &f); err != nil {
		return File{}, fmt.Errorf("parse rule file: %w", err)
	}
	return f, nil
}

// WriteRuleFile loads the project's values for a layering (helm-values/base.yaml plus
// the overlay) with extraValues on top, and writes their rule file to out.
func WriteRuleFile(root, layering string, extraValues []string, out io.Writer) error {
	tree, err := values.LoadLayered(root, layering, extraValues...)
	if err != nil {
		return err
	}
	file, err := RuleFile(tree)
	if err != nil {
		return err
	}
	if _, err := out.Write(file); err != nil {
		return fmt.Errorf("write rule file: %w", err)
	}
	return nil
}
