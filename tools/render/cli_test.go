package render

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redis-shared/conformance/tools/exitcode"
)

// projectRoot builds a throwaway repository root: the fixture chart's folder path
// resolved from the real root, and helm-values written by the test.
func projectRoot(t *testing.T, base, overlay string) string {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "helm-values")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "base.yaml"), []byte(base), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "homelab.yaml"), []byte(overlay), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "kind.yaml"), []byte(overlay), 0o644))
	return root
}

func TestMainExitCodes(t *testing.T) {
	root := projectRoot(t, "auth: {existingSecret: redis-shared-auth}\n", "replica: {replicaCount: 1}\n")
	badValues := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(badValues, []byte("- not\n- a mapping\n"), 0o644))
	brokenChartValues := filepath.Join(t.TempDir(), "preset.yaml")
	require.NoError(t, os.WriteFile(brokenChartValues, []byte("master: {resourcesPreset: huge}\n"), 0o644))

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{name: "fixture chart", args: []string{"-chart", fixtureChart, "-root", root}, wantCode: exitcode.OK, wantStderr: "objects from"},
		{name: "missing chart", args: []string{"-chart", filepath.Join(root, "nope"), "-root", root}, wantCode: exitcode.CouldNotRun, wantStderr: "render: chart "},
		{name: "unknown layering", args: []string{"-chart", fixtureChart, "-root", root, "-layering", "prod"}, wantCode: exitcode.CouldNotRun, wantStderr: `unknown values layering "prod"`},
		{name: "values file that is not a mapping", args: []string{"-chart", fixtureChart, "-root", root, "-values", badValues}, wantCode: exitcode.CouldNotRun, wantStderr: "want a mapping"},
		{name: "missing values file", args: []string{"-chart", fixtureChart, "-root", root, "-values", filepath.Join(root, "missing.yaml")}, wantCode: exitcode.CouldNotRun, wantStderr: "read values file"},
		{name: "values the chart refuses", args: []string{"-chart", fixtureChart, "-root", root, "-values", brokenChartValues}, wantCode: exitcode.CouldNotRun, wantStderr: `resourcesPreset "huge"`},
		{name: "unknown flag", args: []string{"-colour"}, wantCode: exitcode.CouldNotRun, wantStderr: "flag provided but not defined"},
		{name: "stray argument", args: []string{"-chart", fixtureChart, "extra"}, wantCode: exitcode.CouldNotRun, wantStderr: `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Main(context.Background(), tt.args, &stdout, &stderr)
			assert.Equal(t, tt.wantCode, code, stderr.String())
			assert.Contains(t, stderr.String(), tt.wantStderr)
			if code == exitcode.CouldNotRun && tt.name != "unknown flag" {
				assert.Equal(t, 1, strings.Count(stderr.String(), "\n"), "one-line error: %q", stderr.String())
			}
		})
	}
}

func TestMainWithoutChartRendersThePinnedChart(t *testing.T) {
	root, err := filepath.Abs(repoRoot)
	require.NoError(t, err)
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), []string{"-root", root}, &stdout, &stderr)
	require.Equal(t, exitcode.OK, code, stderr.String())
	assert.Contains(t, stderr.String(), "bin/chart/redis-23.1.1-")
	assert.Contains(t, stdout.String(), "helm.sh/chart: redis-23.1.1")

	stdout.Reset()
	require.Equal(t, exitcode.OK, Main(context.Background(), []string{"-root", root, "-assemble"}, &stdout, &stderr), stderr.String())
	assert.Contains(t, stdout.String(), "chart: redis@23.1.1 (github.com/bitnami/charts@")
}

func TestMainWithoutPinIsOneLine(t *testing.T) {
	root := projectRoot(t, "auth: {existingSecret: redis-shared-auth}\n", "")
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), []string{"-root", root}, &stdout, &stderr)
	assert.Equal(t, exitcode.CouldNotRun, code)
	assert.Contains(t, stderr.String(), "render: pinned chart: read chart pin")
	assert.Equal(t, 1, strings.Count(stderr.String(), "\n"))
}

func TestMainWritesOutputFileAndListsObjects(t *testing.T) {
	root := projectRoot(t, "auth: {existingSecret: redis-shared-auth}\n", "replica: {replicaCount: 1}\n")
	extra := filepath.Join(t.TempDir(), "extra.yaml")
	require.NoError(t, os.WriteFile(extra, []byte("metrics: {enabled: true}\n"), 0o644))
	out := filepath.Join(t.TempDir(), "out", "rendered.yaml")

	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), []string{"-chart", fixtureChart, "-root", root, "-values", extra + " ", "-o", out}, &stdout, &stderr)
	require.Equal(t, exitcode.OK, code, stderr.String())

	written, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Contains(t, string(written), "name: redis-shared-metrics", "the extra values file reached the chart")
	assert.Contains(t, stdout.String(), "1 extra values files")
	assert.Contains(t, stdout.String(), "  Service/redis/redis-shared-metrics\n")
}

func TestSplitList(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{in: "", want: []string{}},
		{in: "a.yaml b.yaml", want: []string{"a.yaml", "b.yaml"}},
		{in: " a.yaml,b.yaml ,", want: []string{"a.yaml", "b.yaml"}},
	}
	for _, tt := range tests {
		got := splitList(tt.in)
		if len(tt.want) == 0 {
			assert.Empty(t, got)
			continue
		}
		assert.Equal(t, tt.want, got)
	}
}
