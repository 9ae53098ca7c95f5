package checks

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redis-shared/conformance/tools/catalog"
	"github.com/redis-shared/conformance/tools/project"
)

func TestDiscoverReadsPolicyMetadataAndFeatureLabels(t *testing.T) {
	root := filepath.Join("testdata", "repo")
	found, err := Discover(root)
	require.NoError(t, err)
	want := []Check{
		{ID: "policy:redis.lan", Kind: KindPolicy, Name: "LAN source ranges", Requirements: []string{"FR-005", "SC-004"}, Source: "policies/lan/policy.rego:1", Package: "redis.lan"},
		{ID: "suite:TestNetwork/LAN-only_access", Kind: KindSuite, Name: "LAN-only access", Requirements: []string{"FR-005", "SC-004"}, Targets: []string{"sandbox"}, Source: "suites/net/net_test.go:10", TestName: "TestNetwork/LAN-only_access"},
		{ID: "suite:TestNetwork/master_kill", Kind: KindSuite, Name: "master kill", Requirements: []string{"SC-002"}, Disruptive: true, Source: "suites/net/net_test.go:16", TestName: "TestNetwork/master_kill"},
	}
	assert.Equal(t, want, found)
}

func TestDiscoverRejectsNonLiteralFeatureNames(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "suites", "x")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	src := "package x\nimport \"testing\"\nfunc TestX(t *testing.T) {\n\tname := \"n\"\n\t_ = features.New(name).WithLabel(\"req\", \"FR-001\")\n}\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "x_test.go"), []byte(src), 0o600))
	_, err := Discover(root)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "suites/x/x_test.go:5: feature name: must be a string literal")
}

func TestDiscoverRejectsFeaturesOutsideTestFunctions(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "suites", "x")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	src := "package x\nfunc helper() {\n\t_ = features.New(\"f\").WithLabel(\"req\", \"FR-001\")\n}\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "x_test.go"), []byte(src), 0o600))
	_, err := Discover(root)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "built outside a TestXxx function")
}

func TestRewriteTestNameMatchesGoTest(t *testing.T) {
	assert.Equal(t, "LAN-only_access_from_192.168.4.10", RewriteTestName("LAN-only access from 192.168.4.10"))
}

func TestGateFlagsUncoveredUnknownAndStaleMarks(t *testing.T) {
	cat := &catalog.Catalog{Requirements: []catalog.Requirement{
		{ID: "FR-001"},
		{ID: "FR-002"},
		{ID: "FR-015", NotYetCovered: "later"},
		{ID: "FR-016", NotYetCovered: "later"},
	}}
	all := []Check{
		{ID: "a", Requirements: []string{"FR-001"}},
		{ID: "b", Requirements: []string{"FR-099"}},
		{ID: "c", Requirements: []string{"FR-016"}},
	}
	var msgs []string
	for _, err := range Gate(cat, all) {
		msgs = append(msgs, err.Error())
	}
	assert.Equal(t, []string{
		`b (): names unknown requirement "FR-099"`,
		`FR-002: no check proves it and it is not marked "not yet covered"`,
		`FR-016: marked "not yet covered" but c proves it: remove the mark`,
	}, msgs)
}

// The project's own gate: every requirement of the catalog has a check in policies/
// or suites/, or an explicit mark. Removing the only check of an id fails here.
func TestProjectCoverageGate(t *testing.T) {
	root, err := project.Root()
	require.NoError(t, err)
	cat, err := catalog.Load()
	require.NoError(t, err)
	all, err := Discover(root)
	require.NoError(t, err)
	for _, problem := range Gate(cat, all) {
		t.Error(problem)
	}
}

func TestRemovingTheOnlyCheckOfARequirementFailsTheGate(t *testing.T) {
	root, err := project.Root()
	require.NoError(t, err)
	cat, err := catalog.Load()
	require.NoError(t, err)
	all, err := Discover(root)
	require.NoError(t, err)
	for _, row := range Matrix(cat, all) {
		if len(row.Checks) != 1 {
			continue
		}
		only := row.Checks[0].ID
		var without []Check
		for _, c := range all {
			if c.ID != only {
				without = append(without, c)
			}
		}
		assert.NotEmpty(t, Gate(cat, without), "removing %s should leave %s uncovered", only, row.Requirement.ID)
	}
}

func TestGateDemandsACheckOfEveryListedKindPerTarget(t *testing.T) {
	cat := &catalog.Catalog{Requirements: []catalog.Requirement{
		{ID: "FR-007", Verification: []catalog.Verification{catalog.Static, catalog.Disruptive}},
		{ID: "FR-001", Verification: []catalog.Verification{catalog.Static, catalog.Live, catalog.Manual},
			NotApplicable: []catalog.Exemption{{Target: "kube", Kind: catalog.Live, Reason: "r"}}},
	}}
	all := []Check{
		{ID: "policy:p", Kind: KindPolicy, Requirements: []string{"FR-007", "FR-001"}},
		{ID: "suite:live", Kind: KindSuite, Requirements: []string{"FR-007"}},
		{ID: "suite:kube-live", Kind: KindSuite, Targets: []string{"kube"}, Requirements: []string{"FR-001"}},
	}
	var msgs []string
	for _, err := range Gate(cat, all) {
		msgs = append(msgs, err.Error())
	}
	assert.Equal(t, []string{
		"FR-007: lists disruptive proof but no disruptive check applies to sandbox: add one or mark it notApplicable with the reason",
		"FR-007: lists disruptive proof but no disruptive check applies to kube: add one or mark it notApplicable with the reason",
		"FR-001: lists live proof but no live check applies to sandbox: add one or mark it notApplicable with the reason",
		"FR-001: live proof is marked not applicable to kube but a check gives it: remove the mark",
	}, msgs)
}
