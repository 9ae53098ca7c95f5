package policy_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/redis-shared/conformance/tools/policy"
	"github.com/redis-shared/conformance/tools/render"
	"github.com/redis-shared/conformance/tools/values"
)

// realChartEnv names a local copy of the Bitnami redis chart (23.x, with charts/common).
// The chart is not part of the repository; DESIGN.md §7 says how to get one.
const realChartEnv = "POLICY_REAL_CHART"

// The gate passes on the real chart's rendering of the project's values, and every
// values-only breakage still fails its requirements there.
func TestRealChartRendering(t *testing.T) {
	chart := os.Getenv(realChartEnv)
	if chart == "" {
		t.Skipf("%s is not set: point it at a local bitnami/redis 23.x chart folder to check the gate against its real rendering", realChartEnv)
	}
	root := projectRoot(t)
	g := newGate(t)
	check := func(t *testing.T, layering string, overlay map[string]any) policy.Run {
		files, err := values.ProjectFiles(root, layering)
		require.NoError(t, err)
		if overlay != nil {
			raw, err := yaml.Marshal(overlay)
			require.NoError(t, err)
			extra := filepath.Join(t.TempDir(), "overlay.yaml")
			require.NoError(t, os.WriteFile(extra, raw, 0o644))
			files = append(files, extra)
		}
		out := filepath.Join(t.TempDir(), "rendered.yaml")
		var stderr bytes.Buffer
		args := []string{"-chart", chart, "-root", root, "-layering", layering, "-o", out}
		if len(files) > 2 {
			args = append(args, "-values", files[2])
		}
		require.Equal(t, render.ExitOK, render.Main(context.Background(), args, &bytes.Buffer{}, &stderr), stderr.String())
		in, err := policy.LoadInput(policy.Sources{ValuesFiles: files, Rendered: out, TofuDir: filepath.Join(root, "tofu"), Layering: layering})
		require.NoError(t, err)
		run, err := g.Evaluate(context.Background(), in)
		require.NoError(t, err)
		return run
	}
	for _, layering := range []string{values.LayeringHomelab, values.LayeringKind} {
		t.Run(layering, func(t *testing.T) {
			run := check(t, layering, nil)
			assert.Empty(t, violations(run))
		})
	}
	for _, b := range loadBreakages(t) {
		if len(b.Patch) > 0 {
			continue // patches address the hand-written rendering, not the chart's
		}
		t.Run(b.Name, func(t *testing.T) {
			run := check(t, values.LayeringHomelab, b.Values)
			for _, id := range b.Expect {
				assert.Contains(t, run.Failed(), id, "violations: %v", violations(run))
			}
		})
	}
}
