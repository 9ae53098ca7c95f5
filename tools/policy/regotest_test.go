package policy_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redis-shared/conformance/tools/catalog"
	"github.com/redis-shared/conformance/tools/policy"
)

// The policies' own Rego tests pass and cover every line of every rule and helper.
func TestRegoTestsPassWithFullCoverage(t *testing.T) {
	dir := filepath.Join(projectRoot(t), "policies")
	report, err := policy.RunRegoTests(context.Background(), dir, catalog.MustLoad(), goodInput(t))
	require.NoError(t, err)
	t.Logf("rego tests: %d passed, %d failed, coverage %.2f %%", report.Passed, report.Failed, report.Coverage)
	assert.Empty(t, report.Failures)
	assert.Positive(t, report.Passed)
	assert.Empty(t, report.NotCovered)
	assert.InDelta(t, 100.0, report.Coverage, 0.0001)
}

// Like `opa check --strict` over rules and tests.
func TestRegoCompilesStrictly(t *testing.T) {
	require.NoError(t, policy.CheckStrict(filepath.Join(projectRoot(t), "policies")))
}

// Like `opa fmt --fail`: every .rego file is formatted. With REGO_FMT_WRITE=1 (make
// fmt-rego) it rewrites the files instead, like `opa fmt -w`.
func TestRegoIsFormatted(t *testing.T) {
	unformatted, err := policy.Unformatted(filepath.Join(projectRoot(t), "policies"))
	require.NoError(t, err)
	if os.Getenv("REGO_FMT_WRITE") == "1" {
		for _, path := range unformatted {
			require.NoError(t, policy.FormatFile(path))
			t.Logf("formatted %s", path)
		}
		return
	}
	assert.Empty(t, unformatted, "run `make fmt-rego`")
}
