package policy

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/redis-shared/conformance/tools/catalog"
)

// InputError is bad or missing input (exit 2): the gate cannot judge it, so it never
// reports a pass.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// Gate is the compiled policy set, ready to evaluate inputs.
type Gate struct {
	rules   []RuleInfo
	queries []rego.PreparedEvalQuery
	// evidence[i] queries rule i's optional `evidence` set: what it judged.
	evidence []rego.PreparedEvalQuery
}

// NewGate loads and compiles the policies under dir with the catalog as data.catalog.
func NewGate(ctx context.Context, dir string, cat *catalog.Catalog) (*Gate, error) {
	modules, err := LoadModules(dir, false)
	if err != nil {
		return nil, err
	}
	rules, err := Rules(modules)
	if err != nil {
		return nil, fmt.Errorf("policies in %s: %w", dir, err)
	}
	if len(rules) == 0 {
		return nil, fmt.Errorf("policies in %s: no rule has METADATA custom.requirements", dir)
	}
	compiler, err := Compile(modules)
	if err != nil {
		return nil, fmt.Errorf("policies in %s: %w", dir, err)
	}
	catData, err := CatalogData(cat)
	if err != nil {
		return nil, err
	}
	store := inmem.NewFromObject(map[string]any{"catalog": catData})
	g := &Gate{rules: rules}
	for _, r := range rules {
		query, err := rego.New(
			rego.Query("data."+r.Package+".deny"),
			rego.Compiler(compiler),
			rego.Store(store),
			// A built-in that fails (bad CIDR, bad YAML) is an error, not an undefined
			// result that could turn into a silent pass.
			rego.StrictBuiltinErrors(true),
		).PrepareForEval(ctx)
		if err != nil {
			return nil, fmt.Errorf("prepare rule %s: %w", r.Package, err)
		}
		g.queries = append(g.queries, query)
		evidence, err := rego.New(
			rego.Query("data."+r.Package+".evidence"),
			rego.Compiler(compiler),
			rego.Store(store),
			rego.StrictBuiltinErrors(true),
		).PrepareForEval(ctx)
		if err != nil {
			return nil, fmt.Errorf("prepare rule %s evidence: %w", r.Package, err)
		}
		g.evidence = append(g.evidence, evidence)
	}
	return g, nil
}

// Rules lists the gate's rules in package order.
func (g *Gate) Rules() []RuleInfo { return append([]RuleInfo(nil), g.rules...) }

// Evaluate runs every rule over the input. A rule an input section of which was not
// given is not-run, never pass; so is a rule that defines `evidence` and found nothing
// to judge. Malformed results and evaluation errors are errors.
func (g *Gate) Evaluate(ctx context.Context, in Input) (Run, error) {
	value, err := ast.InterfaceToValue(in.Document())
	if err != nil {
		return Run{}, &InputError{Err: fmt.Errorf("input document: %w", err)}
	}
	run := Run{SchemaVersion: ResultSchemaVersion, Inputs: append([]string{}, in.Sources...), Chart: in.Chart, Rules: make([]Rule, 0, len(g.rules))}
	for i, r := range g.rules {
		start := time.Now()
		rule := Rule{
			Package:      r.Package,
			Title:        r.Title,
			Requirements: append([]string(nil), r.Requirements...),
			Severity:     r.Severity,
		}
		var missing []string
		for _, section := range r.Inputs {
			if !in.has(section) {
				missing = append(missing, section)
			}
		}
		if len(missing) > 0 {
			rule.Status = StatusNotRun
			rule.Reason = fmt.Sprintf("needs input %s, which was not given", strings.Join(missing, " and "))
			run.Rules = append(run.Rules, rule)
			continue
		}
		rs, err := g.queries[i].Eval(ctx, rego.EvalParsedInput(value))
		if err != nil {
			return Run{}, &InputError{Err: fmt.Errorf("rule %s: %w", r.Package, err)}
		}
		violations, err := decodeDeny(rs)
		if err != nil {
			return Run{}, fmt.Errorf("rule %s: %w", r.Package, err)
		}
		ers, err := g.evidence[i].Eval(ctx, rego.EvalParsedInput(value))
		if err != nil {
			return Run{}, &InputError{Err: fmt.Errorf("rule %s evidence: %w", r.Package, err)}
		}
		evidence, defined, err := decodeEvidence(ers)
		if err != nil {
			return Run{}, fmt.Errorf("rule %s: %w", r.Package, err)
		}
		rule.Violations = violations
		switch {
		case len(violations) > 0:
			rule.Status = StatusFail
		case defined && len(evidence) == 0:
			rule.Status = StatusNotRun
			rule.Reason = "found nothing to judge in the given inputs"
		default:
			rule.Status = StatusPass
		}
		if defined {
			rule.Evidence = evidence
		} else {
			rule.Evidence = []string{"read " + in.describe(r.Inputs)}
		}
		rule.DurationMS = float64(time.Since(start).Microseconds()) / 1000
		run.Rules = append(run.Rules, rule)
	}
	return run, nil
}

// decodeEvidence reads a rule's evidence set; defined is false when the rule has none.
func decodeEvidence(rs rego.ResultSet) ([]string, bool, error) {
	if len(rs) == 0 {
		return nil, false, nil
	}
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		return nil, false, errors.New("evidence: unexpected result shape")
	}
	set, ok := rs[0].Expressions[0].Value.([]any)
	if !ok {
		return nil, false, fmt.Errorf("evidence is %T, want a set of strings", rs[0].Expressions[0].Value)
	}
	out := make([]string, 0, len(set))
	for _, item := range set {
		text, ok := item.(string)
		if !ok || text == "" {
			return nil, false, fmt.Errorf("evidence member %v is not a non-empty string", item)
		}
		out = append(out, text)
	}
	sort.Strings(out)
	return out, true, nil
}

// decodeDeny reads the deny set: each member an object with a string msg and optional
// object and field.
func decodeDeny(rs rego.ResultSet) ([]Violation, error) {
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		return nil, errors.New("deny is undefined: every rule must define `deny contains ...`")
	}
	set, ok := rs[0].Expressions[0].Value.([]any)
	if !ok {
		return nil, fmt.Errorf("deny is %T, want a set", rs[0].Expressions[0].Value)
	}
	out := make([]Violation, 0, len(set))
	for _, item := range set {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("deny member %v is %T, want an object with msg", item, item)
		}
		msg, ok := m["msg"].(string)
		if !ok || msg == "" {
			return nil, fmt.Errorf("deny member %v has no msg", item)
		}
		object, _ := m["object"].(string)
		field, _ := m["field"].(string)
		out = append(out, Violation{Object: object, Field: field, Message: msg})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Message < out[j].Message })
	return out, nil
}

// Failed lists the requirement ids of failing rules, sorted and unique.
func (r Run) Failed() []string {
	seen := map[string]bool{}
	for _, rule := range r.Rules {
		if rule.Status == StatusFail {
			for _, id := range rule.Requirements {
				seen[id] = true
			}
		}
	}
	ids := make([]string, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Passed reports whether every rule passed (a not-run rule did not).
func (r Run) Passed() bool {
	for _, rule := range r.Rules {
		if rule.Status != StatusPass {
			return false
		}
	}
	return true
}
