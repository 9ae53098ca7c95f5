package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redis-shared/conformance/tools/exitcode"
	"github.com/redis-shared/conformance/tools/policy"
)

func runPolicyCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := runPolicy(context.Background(), args, IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	return code, out.String(), errOut.String()
}

// The rendered default (out/rendered.yaml) is read only when present; pass an explicit
// file so the test does not depend on what another run left in out/.
func goodRendered(t *testing.T) string {
	t.Helper()
	path, err := filepath.Abs("../../fixtures/policy/good/rendered.yaml")
	require.NoError(t, err)
	return path
}

func TestPolicyPassesOnTheProjectInBothLayerings(t *testing.T) {
	for _, layering := range []string{"homelab", "kind"} {
		t.Run(layering, func(t *testing.T) {
			code, out, errOut := runPolicyCmd(t, "--layering", layering, "--rendered", goodRendered(t))
			assert.Equal(t, exitcode.OK, code, "stdout: %s\nstderr: %s", out, errOut)
			assert.Contains(t, out, "0 failed")
		})
	}
}

func TestPolicyOverlayWithViolationsExitsOneWithJSON(t *testing.T) {
	overlay := filepath.Join(t.TempDir(), "open.yaml")
	require.NoError(t, os.WriteFile(overlay, []byte("lanService:\n  sourceRanges: [0.0.0.0/0]\n"), 0o644))
	// The gate renders the pinned chart with the overlay itself: the open range shows
	// in the rendered Service and NetworkPolicy.
	code, out, _ := runPolicyCmd(t, "--values", overlay, "--format", "json")
	require.Equal(t, exitcode.Failed, code)
	var run policy.Run
	require.NoError(t, json.Unmarshal([]byte(out), &run))
	assert.Equal(t, policy.ResultSchemaVersion, run.SchemaVersion)
	assert.Equal(t, []string{"FR-005", "SC-004"}, run.Failed())
	require.NotNil(t, run.Chart)
	assert.Equal(t, "redis", run.Chart.Name)
	assert.Equal(t, "23.1.1", run.Chart.Version)
	assert.Equal(t, "h1:68EPXIo1ixa5DpWiY+3J97oIktp4QFXjACbpR/4saBQ=", run.Chart.Sum)
}

func TestPolicyBadInputExitsTwoWithOneLine(t *testing.T) {
	garbage := filepath.Join(t.TempDir(), "garbage.yaml")
	require.NoError(t, os.WriteFile(garbage, []byte("- not\n- a mapping\n"), 0o644))
	cases := map[string][]string{
		"missing overlay":  {"--values", filepath.Join(t.TempDir(), "nope.yaml")},
		"overlay no map":   {"--values", garbage},
		"stale rendering":  {"--values", garbage, "--rendered", goodRendered(t)},
		"bad rendered":     {"--rendered", garbage},
		"missing tofu dir": {"--tofu", t.TempDir()},
		"unknown layering": {"--layering", "prod"},
		"unknown format":   {"--format", "xml"},
		"stray argument":   {"extra"},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := runPolicyCmd(t, args...)
			assert.Equal(t, exitcode.CouldNotRun, code)
			assert.Empty(t, out)
			assert.NotEmpty(t, errOut)
			if name != "stray argument" {
				assert.Equal(t, 1, strings.Count(strings.TrimSpace(errOut), "\n")+1, errOut)
			}
		})
	}
}
