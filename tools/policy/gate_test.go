package policy_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redis-shared/conformance/tools/catalog"
	"github.com/redis-shared/conformance/tools/checks"
	"github.com/redis-shared/conformance/tools/policy"
	"github.com/redis-shared/conformance/tools/values"
)

func newGate(t testing.TB) *policy.Gate {
	t.Helper()
	g, err := policy.NewGate(context.Background(), filepath.Join(projectRoot(t), "policies"), catalog.MustLoad())
	require.NoError(t, err)
	return g
}

func violations(run policy.Run) []string {
	var out []string
	for _, r := range run.Rules {
		for _, v := range r.Violations {
			out = append(out, r.Package+": "+v.Message)
		}
	}
	return out
}

func TestGoodFixturePassesEveryRule(t *testing.T) {
	run, err := newGate(t).Evaluate(context.Background(), goodInput(t))
	require.NoError(t, err)
	assert.Empty(t, violations(run))
	assert.True(t, run.Passed())
	assert.Equal(t, policy.ResultSchemaVersion, run.SchemaVersion)
}

// Each bad fixture changes one thing in the good input; exactly the requirements it
// names must fail.
func TestEachBreakageFailsExactlyItsRequirements(t *testing.T) {
	g := newGate(t)
	good := goodInput(t)
	for _, b := range loadBreakages(t) {
		t.Run(b.Name, func(t *testing.T) {
			in, err := b.apply(good)
			require.NoError(t, err)
			run, err := g.Evaluate(context.Background(), in)
			require.NoError(t, err)
			assert.Equal(t, b.Expect, run.Failed(), "violations: %v", violations(run))
		})
	}
}

// Every rule has at least one bad fixture (named <rule>-<what>.yaml), and every
// requirement the gate claims is broken by some fixture.
func TestEveryRuleAndRequirementHasABadFixture(t *testing.T) {
	breakages := loadBreakages(t)
	broken := map[string]bool{}
	for _, b := range breakages {
		for _, id := range b.Expect {
			broken[id] = true
		}
	}
	for _, r := range newGate(t).Rules() {
		rule := strings.TrimPrefix(r.Package, "redis.")
		assert.True(t, slices.ContainsFunc(breakages, func(b breakage) bool { return strings.HasPrefix(b.Name, rule+"-") }), "rule %s has no bad fixture", r.Package)
		for _, id := range r.Requirements {
			assert.True(t, broken[id], "no bad fixture breaks %s", id)
		}
	}
}

// The gate's rules are the checks tools/checks discovers, with ids from the catalog,
// and every statically checkable requirement has one.
func TestRulesMatchTheCheckInventoryAndCatalog(t *testing.T) {
	root := projectRoot(t)
	discovered, err := checks.DiscoverPolicies(root, filepath.Join(root, "policies"))
	require.NoError(t, err)
	cat := catalog.MustLoad()
	covered := map[string]bool{}
	var rules []string
	for _, r := range newGate(t).Rules() {
		rules = append(rules, "policy:"+r.Package)
		assert.NotEmpty(t, r.Description, r.Package)
		assert.Contains(t, []string{"critical", "high", "medium", "low"}, r.Severity, r.Package)
		for _, id := range r.Requirements {
			_, ok := cat.Get(id)
			assert.True(t, ok, "%s names %s, which is not in the catalog", r.Package, id)
			covered[id] = true
		}
	}
	var ids []string
	for _, c := range discovered {
		ids = append(ids, c.ID)
	}
	assert.Equal(t, ids, rules)
	// Live-only and cutover requirements have no static check.
	notStatic := []string{"SC-001", "SC-003", "SC-006", "FR-015", "FR-016", "FR-018"}
	for _, id := range cat.IDs() {
		if !slices.Contains(notStatic, id) {
			assert.True(t, covered[id], "%s has no policy", id)
		}
	}
}

// The project's own helm-values, rendered by the pinned chart, and tofu/ pass the gate
// in both layerings, and every rule names what it judged.
func TestProjectValuesAndTofuPass(t *testing.T) {
	root := projectRoot(t)
	g := newGate(t)
	for _, layering := range []string{values.LayeringHomelab, values.LayeringKind} {
		t.Run(layering, func(t *testing.T) {
			in, err := policy.LoadProjectInput(context.Background(), policy.ProjectSources{Root: root, Layering: layering, TofuDir: filepath.Join(root, "tofu")})
			require.NoError(t, err)
			run, err := g.Evaluate(context.Background(), in)
			require.NoError(t, err)
			assert.Empty(t, violations(run))
			assert.True(t, run.Passed())
			require.NotNil(t, run.Chart)
			assert.Equal(t, "redis", run.Chart.Name)
			assert.Equal(t, "23.1.1", run.Chart.Version)
			assert.True(t, run.Chart.Pinned)
			for _, r := range run.Rules {
				assert.NotEmpty(t, r.Evidence, r.Package)
			}
		})
	}
}

// Input the gate cannot judge is an error, never a pass.
func TestMalformedInputIsAnError(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
		return path
	}
	root := projectRoot(t)
	goodDir := filepath.Join(root, "fixtures", "policy", "good")
	goodValues := filepath.Join(goodDir, "values.yaml")
	goodTofu := filepath.Join(goodDir, "tofu")
	cases := []struct {
		name    string
		sources policy.Sources
		wantErr string
	}{
		{"values not a mapping", policy.Sources{ValuesFiles: []string{write("list.yaml", "- a\n- b\n")}, TofuDir: goodTofu}, "want a mapping"},
		{"values empty", policy.Sources{ValuesFiles: []string{write("empty.yaml", "")}, TofuDir: goodTofu}, "empty"},
		{"values unreadable YAML", policy.Sources{ValuesFiles: []string{write("bad.yaml", "a: [b\n")}, TofuDir: goodTofu}, "parse YAML"},
		{"values file missing", policy.Sources{ValuesFiles: []string{filepath.Join(dir, "nope.yaml")}, TofuDir: goodTofu}, "no such file"},
		{"rendered without objects", policy.Sources{ValuesFiles: []string{goodValues}, Rendered: write("r0.yaml", "---\n# nothing\n---\n"), TofuDir: goodTofu}, "no Kubernetes objects"},
		{"rendered object without kind", policy.Sources{ValuesFiles: []string{goodValues}, Rendered: write("r1.yaml", "apiVersion: v1\nmetadata: {name: x}\n"), TofuDir: goodTofu}, "missing kind"},
		{"rendered scalar document", policy.Sources{ValuesFiles: []string{goodValues}, Rendered: write("r2.yaml", "just text\n"), TofuDir: goodTofu}, "want a Kubernetes object"},
		{"rendered broken YAML", policy.Sources{ValuesFiles: []string{goodValues}, Rendered: write("r3.yaml", "kind: [\n"), TofuDir: goodTofu}, "document 1"},
		{"tofu dir without .tf", policy.Sources{ValuesFiles: []string{goodValues}, TofuDir: filepath.Join(dir, "emptytofu")}, "no .tf files"},
		{"tofu syntax error", policy.Sources{ValuesFiles: []string{goodValues}, TofuDir: filepath.Dir(write("tf/main.tf", "resource \"a\" {\n"))}, "parse tofu file"},
		{"plan not JSON", policy.Sources{ValuesFiles: []string{goodValues}, TofuDir: goodTofu, Plan: write("plan.json", "{")}, "parse JSON"},
		{"plan is a state", policy.Sources{ValuesFiles: []string{goodValues}, TofuDir: goodTofu, Plan: write("state.json", `{"format_version":"1.0","values":{}}`)}, "no planned_values"},
	}
	g := newGate(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, os.MkdirAll(filepath.Join(dir, "emptytofu"), 0o755))
			in, err := policy.LoadInput(tc.sources)
			if err == nil {
				_, err = g.Evaluate(context.Background(), in)
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
			var inputErr *policy.InputError
			assert.ErrorAs(t, err, &inputErr)
		})
	}
}

// A rule whose inputs were not given is not-run, never pass, and the gate does not pass.
func TestMissingInputIsNotRun(t *testing.T) {
	root := projectRoot(t)
	goodDir := filepath.Join(root, "fixtures", "policy", "good")
	in, err := policy.LoadInput(policy.Sources{ValuesFiles: []string{filepath.Join(goodDir, "values.yaml")}, TofuDir: filepath.Join(goodDir, "tofu")})
	require.NoError(t, err)
	run, err := newGate(t).Evaluate(context.Background(), in)
	require.NoError(t, err)
	assert.False(t, run.Passed())
	byPackage := map[string]policy.Rule{}
	for _, r := range run.Rules {
		byPackage[r.Package] = r
	}
	assert.Equal(t, policy.StatusNotRun, byPackage["redis.lan_only"].Status)
	assert.Equal(t, "needs input manifests, which was not given", byPackage["redis.lan_only"].Reason)
	assert.Empty(t, byPackage["redis.lan_only"].Evidence)
}

// A built-in error inside a rule (here: a value of the wrong type) fails closed.
func TestEvaluationErrorIsAnError(t *testing.T) {
	in := goodInput(t)
	in.Values = values.Merge(values.Tree(in.Values), values.Tree{"master": map[string]any{"livenessProbe": map[string]any{"periodSeconds": "five"}}})
	_, err := newGate(t).Evaluate(context.Background(), in)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "redis.probes")
}

func TestPolicyDirErrors(t *testing.T) {
	ctx := context.Background()
	cat := catalog.MustLoad()
	dir := t.TempDir()
	_, err := policy.NewGate(ctx, dir, cat)
	assert.ErrorContains(t, err, "no .rego files")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "lib.rego"), []byte("package lib.x\n\nx := 1\n"), 0o644))
	_, err = policy.NewGate(ctx, dir, cat)
	assert.ErrorContains(t, err, "no rule has METADATA custom.requirements")

	rule := "# METADATA\n# title: t\n# custom:\n#   requirements: [FR-001]\n#   severity: high\npackage redis.r\n\ndeny contains \"plain string\" if true\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "r.rego"), []byte(rule), 0o644))
	g, err := policy.NewGate(ctx, dir, cat)
	require.NoError(t, err)
	_, err = g.Evaluate(ctx, policy.Input{Values: map[string]any{"a": 1}})
	assert.ErrorContains(t, err, "want an object with msg")
}
