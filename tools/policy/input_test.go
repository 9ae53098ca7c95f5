package policy_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redis-shared/conformance/tools/policy"
)

func TestParsePlan(t *testing.T) {
	plan, err := policy.ParsePlan([]byte(`{"format_version":"1.2","planned_values":{"root_module":{}}}`))
	require.NoError(t, err)
	assert.Contains(t, plan, "planned_values")
	_, err = policy.ParsePlan([]byte(`{"planned_values":{}}`))
	assert.ErrorContains(t, err, "format_version")
}
