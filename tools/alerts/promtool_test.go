package alerts

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/redis-shared/conformance/tools/project"
	"github.com/redis-shared/conformance/tools/values"
)

// promtoolTestFile is the promtool unit test file that `make test-alerts` runs.
const promtoolTestFile = "helm-values/tests/alerts_test.yml"

// promtoolDeadline bounds one `promtool test rules` run (about 2 s here).
const promtoolDeadline = 60 * time.Second

func writeFile(path, text string) error {
	return os.WriteFile(path, []byte(text), 0o644)
}

// unitTests is the part of a promtool test file this test reads and rewrites.
type unitTests struct {
	RuleFiles          []string       `json:"rule_files"`
	EvaluationInterval string         `json:"evaluation_interval,omitempty"`
	Tests              []unitTestCase `json:"tests"`
}

type unitTestCase struct {
	Name          string           `json:"name"`
	Interval      string           `json:"interval,omitempty"`
	InputSeries   []map[string]any `json:"input_series"`
	AlertRuleTest []alertRuleTest  `json:"alert_rule_test,omitempty"`
	PromqlExprTst []map[string]any `json:"promql_expr_test,omitempty"`
}

type alertRuleTest struct {
	EvalTime  string           `json:"eval_time"`
	Alertname string           `json:"alertname"`
	ExpAlerts []map[string]any `json:"exp_alerts"`
}

func readUnitTests(t *testing.T) unitTests {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(projectRoot(t), promtoolTestFile))
	require.NoError(t, err)
	var tests unitTests
	require.NoError(t, yaml.UnmarshalStrict(raw, &tests))
	return tests
}

// runPromtool writes rules and the project's unit tests (pointed at those rules) into a
// fresh folder and runs `promtool test rules`; it returns promtool's error and output.
func runPromtool(t *testing.T, promtool string, rules File) (string, error) {
	t.Helper()
	dir := t.TempDir()
	rulesRaw, err := yaml.Marshal(rules)
	require.NoError(t, err)
	rulesPath := filepath.Join(dir, "rules.yml")
	require.NoError(t, os.WriteFile(rulesPath, rulesRaw, 0o644))

	tests := readUnitTests(t)
	tests.RuleFiles = []string{rulesPath}
	testsRaw, err := yaml.Marshal(tests)
	require.NoError(t, err)
	testsPath := filepath.Join(dir, "alerts_test.yml")
	require.NoError(t, os.WriteFile(testsPath, testsRaw, 0o644))

	ctx, cancel := context.WithTimeout(context.Background(), promtoolDeadline)
	defer cancel()
	out, err := exec.CommandContext(ctx, promtool, "test", "rules", testsPath).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("promtool test rules: no result within %s", promtoolDeadline)
	}
	return string(out), err
}

func lookPromtool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not on PATH (Debian package prometheus; `make deps` installs it): cannot run the alert unit tests")
	}
	return path
}

func projectRuleFile(t *testing.T) File {
	t.Helper()
	rules, err := Rules(loadLayering(t, values.LayeringHomelab))
	require.NoError(t, err)
	return File{Groups: []Group{{Name: project.Release, Rules: rules}}}
}

// Every alert needs a case where it fires and one where it must stay quiet, and the
// tests may name only alerts that exist.
func TestUnitTestsCoverEveryAlertBothWays(t *testing.T) {
	fires := map[string]int{}
	quiet := map[string]int{}
	for _, tc := range readUnitTests(t).Tests {
		for _, art := range tc.AlertRuleTest {
			if len(art.ExpAlerts) > 0 {
				fires[art.Alertname]++
			} else {
				quiet[art.Alertname]++
			}
		}
	}
	known := map[string]bool{}
	for _, r := range projectRuleFile(t).Groups[0].Rules {
		if r.Alert == "" {
			continue
		}
		known[r.Alert] = true
		assert.Positive(t, fires[r.Alert], "%s: no case where it fires", r.Alert)
		assert.Positive(t, quiet[r.Alert], "%s: no case where it stays quiet", r.Alert)
	}
	for name := range fires {
		assert.True(t, known[name], "tests expect alert %s, which no rule defines", name)
	}
	for name := range quiet {
		assert.True(t, known[name], "tests name alert %s, which no rule defines", name)
	}
}

func TestPromtoolPassesOnProjectRules(t *testing.T) {
	promtool := lookPromtool(t)
	out, err := runPromtool(t, promtool, projectRuleFile(t))
	require.NoError(t, err, out)
}

// The unit tests must be able to fail: a rule that never fires breaks its fires-cases,
// one that always fires breaks its quiet-cases.
func TestPromtoolFailsOnBrokenRules(t *testing.T) {
	promtool := lookPromtool(t)
	mutations := []struct {
		name string
		expr string
	}{
		{"never fires", "vector(0) > 1"},
		{"always fires", "vector(1)"},
	}
	base := projectRuleFile(t)
	for i, rule := range base.Groups[0].Rules {
		if rule.Alert == "" {
			continue
		}
		for _, m := range mutations {
			t.Run(rule.Alert+"/"+m.name, func(t *testing.T) {
				t.Parallel()
				broken := File{Groups: []Group{{Name: project.Release, Rules: append([]Rule(nil), base.Groups[0].Rules...)}}}
				broken.Groups[0].Rules[i].Expr = m.expr
				out, err := runPromtool(t, promtool, broken)
				require.Error(t, err, "promtool passed with %s replaced by %q:\n%s", rule.Alert, m.expr, out)
				assert.Contains(t, out, "FAILED")
			})
		}
	}
}
