package catalog

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCatalogListsEveryRequirementOfTheSpec(t *testing.T) {
	c, err := Load()
	require.NoError(t, err)
	want := []string{
		"FR-001", "FR-002", "FR-003", "FR-004", "FR-005", "FR-006", "FR-007", "FR-008", "FR-009",
		"FR-010", "FR-011", "FR-012", "FR-012a", "FR-013", "FR-014", "FR-015", "FR-016", "FR-017",
		"FR-017a", "FR-018",
		"SC-001", "SC-002", "SC-003", "SC-004", "SC-005", "SC-006", "SC-007", "SC-008",
	}
	assert.Equal(t, want, c.IDs())
}

func TestEverySuccessCriterionHasThresholdWithUnit(t *testing.T) {
	c, err := Load()
	require.NoError(t, err)
	for _, r := range c.Requirements {
		if r.ID[:2] != "SC" {
			continue
		}
		require.NotNil(t, r.Threshold, r.ID)
		assert.NotEmpty(t, r.Threshold.Unit, r.ID)
	}
}

func TestSpecThresholds(t *testing.T) {
	c, err := Load()
	require.NoError(t, err)
	tests := []struct {
		id    string
		value float64
		unit  string
	}{
		{"SC-001", 10, "ms"},
		{"SC-003", 100, "ms"},
		{"SC-005", 15, "s"},
		{"SC-006", 10000, "ops/s"},
		{"SC-007", 0, "count"},
		{"SC-008", 100, "%"},
	}
	for _, tc := range tests {
		th, err := c.Threshold(tc.id)
		require.NoError(t, err)
		assert.Equal(t, tc.value, th.MustFloat(), tc.id)
		assert.Equal(t, tc.unit, th.Unit, tc.id)
	}
}

func TestLimitHolds(t *testing.T) {
	tests := []struct {
		op       string
		limit    float64
		measured float64
		want     bool
	}{
		{"<", 10, 9.99, true},
		{"<", 10, 10, false},
		{"<=", 15, 15, true},
		{">=", 10000, 9999, false},
		{"==", 0, 0, true},
		{">", 1, 1, false},
	}
	for _, tc := range tests {
		got, err := Limit{Name: "x", Op: tc.op, Value: tc.limit, Unit: "u"}.Holds(tc.measured)
		require.NoError(t, err)
		assert.Equal(t, tc.want, got, "%v %s %v", tc.measured, tc.op, tc.limit)
	}
}

func TestParseRejectsBadCatalogs(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"bad id", "schemaVersion: 1\nstories: {US1: {title: a, priority: P1}}\nrequirements:\n- {id: FR-1, title: t, story: US1, verification: [static]}\n", "is not FR-nnn"},
		{"duplicate", "schemaVersion: 1\nstories: {US1: {title: a, priority: P1}}\nrequirements:\n- {id: FR-001, title: t, story: US1, verification: [static]}\n- {id: FR-001, title: t, story: US1, verification: [static]}\n", "listed twice"},
		{"sc without threshold", "schemaVersion: 1\nstories: {US1: {title: a, priority: P1}}\nrequirements:\n- {id: SC-001, title: t, story: US1, verification: [live]}\n", "needs a threshold"},
		{"unknown field", "schemaVersion: 1\nstories: {}\nrequirements: []\nextra: 1\n", "unknown field"},
		{"wrong version", "schemaVersion: 9\nstories: {}\nrequirements: []\n", "schemaVersion 9"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestProofKindsDropManualAndExemptedKinds(t *testing.T) {
	req := Requirement{ID: "FR-001", Verification: []Verification{Static, Live, Manual},
		NotApplicable: []Exemption{{Target: "sandbox", Kind: Live, Reason: "no namespaces"}}}
	assert.Equal(t, []Verification{Static}, req.ProofKinds("sandbox"))
	assert.Equal(t, []Verification{Static, Live}, req.ProofKinds("kube"))
}

func TestParseRejectsBadExemptions(t *testing.T) {
	head := "schemaVersion: 1\nstories: {US1: {title: a, priority: P1}}\nrequirements:\n- {id: FR-001, title: t, story: US1, verification: [static, live], notApplicable: ["
	tests := []struct{ name, item, want string }{
		{"unknown target", "{target: moon, kind: live, reason: r}", `unknown target "moon"`},
		{"kind not listed", "{target: sandbox, kind: disruptive, reason: r}", `kind "disruptive" is not in its verification list`},
		{"no reason", "{target: sandbox, kind: live, reason: ''}", "needs a reason"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(head + tc.item + "]}\n"))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestEveryRequirementHasAHint(t *testing.T) {
	for _, r := range MustLoad().Requirements {
		assert.NotEmpty(t, r.Hint, r.ID)
	}
}
