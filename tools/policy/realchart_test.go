package policy_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/redis-shared/conformance/tools/policy"
	"github.com/redis-shared/conformance/tools/values"
)

// judgeOverlay runs the gate the way `conform policy --values overlay` does: the
// project's layering plus the overlay, rendered by the pinned chart on this run.
func judgeOverlay(t *testing.T, g *policy.Gate, layering string, overlay map[string]any) policy.Run {
	t.Helper()
	root := projectRoot(t)
	var overlays []string
	if overlay != nil {
		raw, err := yaml.Marshal(overlay)
		require.NoError(t, err)
		extra := filepath.Join(t.TempDir(), "overlay.yaml")
		require.NoError(t, os.WriteFile(extra, raw, 0o644))
		overlays = append(overlays, extra)
	}
	in, err := policy.LoadProjectInput(context.Background(), policy.ProjectSources{Root: root, Layering: layering, Overlays: overlays, TofuDir: filepath.Join(root, "tofu")})
	require.NoError(t, err)
	run, err := g.Evaluate(context.Background(), in)
	require.NoError(t, err)
	return run
}

// Every values-only bad fixture still fails its requirements on the real rendering.
func TestValuesBreakagesFailOnTheRealChart(t *testing.T) {
	g := newGate(t)
	for _, b := range loadBreakages(t) {
		if len(b.Patch) > 0 {
			continue // patches address the hand-written rendering, not the chart's
		}
		t.Run(b.Name, func(t *testing.T) {
			run := judgeOverlay(t, g, values.LayeringHomelab, b.Values)
			for _, id := range b.Expect {
				assert.Contains(t, run.Failed(), id, "violations: %v", violations(run))
			}
		})
	}
}

// chartCase is one fixtures/policy/chart/<rule>-<what>.yaml: an overlay judged on the
// pinned chart's rendering, with exactly the requirements that must fail.
type chartCase struct {
	Name   string
	Why    string         `json:"why"`
	Expect []string       `json:"expect"`
	Values map[string]any `json:"values"`
	// Evidence are texts some violation message must contain.
	Evidence []string `json:"evidence"`
}

// Overlays whose harm shows in what the chart renders (extraDeploy, string booleans,
// the chart's master Service as a LoadBalancer, literal passwords in extraEnvVars,
// invalid ports) fail exactly the requirements they weaken.
func TestChartOverlaysFailTheRightRequirements(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(projectRoot(t), "fixtures", "policy", "chart", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	g := newGate(t)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		var c chartCase
		require.NoError(t, yaml.UnmarshalStrict(raw, &c), f)
		c.Name = strings.TrimSuffix(filepath.Base(f), ".yaml")
		require.NotEmpty(t, c.Expect, f)
		t.Run(c.Name, func(t *testing.T) {
			run := judgeOverlay(t, g, values.LayeringHomelab, c.Values)
			assert.ElementsMatch(t, c.Expect, run.Failed(), "violations: %v", violations(run))
			all := strings.Join(violations(run), "\n")
			for _, text := range c.Evidence {
				assert.Contains(t, all, text)
			}
		})
	}
}
