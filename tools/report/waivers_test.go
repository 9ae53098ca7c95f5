package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redis-shared/conformance/tools/catalog"
	"github.com/redis-shared/conformance/tools/evidence"
)

var waiverCatalog = &catalog.Catalog{Requirements: []catalog.Requirement{
	{ID: "FR-001", Title: "Namespace", Story: "US1", Priority: "P1"},
	{ID: "SC-001", Title: "p95", Story: "US1", Priority: "P1"},
	{ID: "FR-018", Title: "Decommission", Story: "US4", Priority: "P2"},
}}

// liveCheck is a schema-valid suite check with a status.
func liveCheck(status string) CheckResult {
	c := chk("live", status)
	c.Kind, c.Source, c.Evidence = "suite", "suites/x/x_test.go:1", []string{}
	return c
}

// waiverReport: FR-001 passes, SC-001 fails with a figure, FR-018 was never run.
func waiverReport() Report {
	failed := liveCheck(StatusFail)
	failed.Figures = []evidence.Figure{{Name: "p95", Value: 14.2, Unit: "ms"}}
	failed.Evidence = []string{"p95 = 14.2 ms"}
	rep := Report{SchemaVersion: SchemaVersion, Target: "sandbox", SuiteCommit: "abc", ChartVersion: "23.1.1", RedisVersion: "8.2.1",
		GeneratedAt: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC),
		Requirements: []RequirementResult{
			{ID: "FR-001", Title: "Namespace", Story: "US1", Priority: "P1", ProofKinds: []string{"live"}, Checks: []CheckResult{liveCheck(StatusPass)}},
			{ID: "SC-001", Title: "p95", Story: "US1", Priority: "P1", ProofKinds: []string{"live"}, Checks: []CheckResult{failed}},
			{ID: "FR-018", Title: "Decommission", Story: "US4", Priority: "P2", ProofKinds: []string{"live"}, Checks: []CheckResult{liveCheck(StatusNotRun)}},
		}}
	rep.Decide()
	return rep
}

func TestParseWaiversRejectsEveryMalformedFileWithOneLine(t *testing.T) {
	tests := []struct {
		name, yaml, wantErr string
	}{
		{"empty file", "", "empty"},
		{"not a list", "waivers: FR-001\n", "cannot unmarshal"},
		{"unknown field", "waivers:\n  - requirement: FR-001\n    reason: r\n    owner: o\n    expires: 2027-01-01\n    until: never\n", `unknown field "until"`},
		{"no requirement", "waivers:\n  - reason: r\n    owner: o\n    expires: 2027-01-01\n", "waivers[0]: requirement is missing"},
		{"unknown requirement", "waivers:\n  - requirement: FR-999\n    reason: r\n    owner: o\n    expires: 2027-01-01\n", `waivers[0] (FR-999): requirement "FR-999" is not in the catalog`},
		{"no reason", "waivers:\n  - requirement: FR-001\n    owner: o\n    expires: 2027-01-01\n", "waivers[0] (FR-001): reason is missing"},
		{"no owner", "waivers:\n  - requirement: FR-001\n    reason: r\n    expires: 2027-01-01\n", "owner is missing"},
		{"no expiry", "waivers:\n  - requirement: FR-001\n    reason: r\n    owner: o\n", "expires is missing"},
		{"bad date", "waivers:\n  - requirement: FR-001\n    reason: r\n    owner: o\n    expires: 2027-13-01\n", `expires "2027-13-01": want a date YYYY-MM-DD`},
		{"date with time", "waivers:\n  - requirement: FR-001\n    reason: r\n    owner: o\n    expires: 2027-01-01T00:00:00Z\n", "want a date YYYY-MM-DD"},
		{"waived twice", "waivers:\n  - {requirement: FR-001, reason: r, owner: o, expires: 2027-01-01}\n  - {requirement: FR-001, reason: s, owner: o, expires: 2027-01-01}\n", "waivers[1] (FR-001): FR-001 is already waived by waivers[0]"},
		{"not YAML", "waivers: [\n", "yaml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseWaivers([]byte(tc.yaml), waiverCatalog)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
			assert.NotContains(t, err.Error(), "\n", "one line")
		})
	}
	ws, err := ParseWaivers([]byte("waivers:\n  - requirement: SC-001\n    reason: the VM's disk is slow\n    owner: homelab-ops\n    expires: 2027-01-31\n"), waiverCatalog)
	require.NoError(t, err)
	assert.Equal(t, []Waiver{{Requirement: "SC-001", Reason: "the VM's disk is slow", Owner: "homelab-ops", Expires: "2027-01-31"}}, ws)
}

func TestReadWaiversNamesTheFile(t *testing.T) {
	dir := t.TempDir()
	_, err := ReadWaivers(filepath.Join(dir, "missing.yaml"), waiverCatalog)
	assert.ErrorContains(t, err, "missing.yaml")
	_, err = ReadWaivers(dir, waiverCatalog)
	assert.ErrorContains(t, err, "not a regular file")
	bad := filepath.Join(dir, "waivers.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("waivers:\n  - requirement: FR-001\n"), 0o644))
	_, err = ReadWaivers(bad, waiverCatalog)
	assert.ErrorContains(t, err, "waivers file "+bad+": waivers[0] (FR-001): reason is missing")
}

func TestWaiverHoldsThroughItsExpiryDay(t *testing.T) {
	w := Waiver{Requirement: "SC-001", Reason: "r", Owner: "o", Expires: "2026-12-03"}
	tests := []struct {
		now     time.Time
		expired bool
	}{
		{time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC), false},
		{time.Date(2026, 12, 3, 23, 59, 59, 0, time.UTC), false},
		{time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC), true},
		{time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), true},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.expired, w.Expired(tc.now), tc.now.String())
	}
}

func TestApplyWaivers(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	valid := func(id string) Waiver {
		return Waiver{Requirement: id, Reason: "known deviation", Owner: "homelab-ops", Expires: "2026-12-31"}
	}
	expired := func(id string) Waiver {
		return Waiver{Requirement: id, Reason: "known deviation", Owner: "homelab-ops", Expires: "2026-12-01"}
	}
	t.Run("without waivers: NO-GO", func(t *testing.T) {
		rep := waiverReport()
		ApplyWaivers(&rep, nil, now)
		assert.Equal(t, VerdictNoGo, rep.Verdict)
		assert.Equal(t, 0, rep.Summary.Waived)
	})
	t.Run("valid waivers: GO with WAIVED counted apart and the figures kept", func(t *testing.T) {
		rep := waiverReport()
		ApplyWaivers(&rep, []Waiver{valid("SC-001"), valid("FR-018")}, now)
		assert.Equal(t, VerdictGo, rep.Verdict)
		assert.Equal(t, 1, rep.Summary.Pass)
		assert.Equal(t, 2, rep.Summary.Waived)
		assert.Equal(t, 0, rep.Summary.Fail)
		sc001 := rep.Requirements[1]
		assert.Equal(t, StatusWaived, sc001.Status)
		assert.Equal(t, &WaiverResult{Reason: "known deviation", Owner: "homelab-ops", Expires: "2026-12-31", StatusWithout: StatusFail}, sc001.Waiver)
		assert.Contains(t, sc001.Reason, "waived until 2026-12-31 by homelab-ops: known deviation (without the waiver: fail")
		assert.Equal(t, []evidence.Figure{{Name: "p95", Value: 14.2, Unit: "ms"}}, sc001.Checks[0].Figures)
		assert.Equal(t, StatusFail, sc001.Checks[0].Status, "the check itself still failed")

		var md, js bytes.Buffer
		require.NoError(t, WriteMarkdown(&md, rep))
		assert.Contains(t, md.String(), "| SC-001 | p95 | WAIVED |")
		assert.Contains(t, md.String(), "2 waived")
		require.NoError(t, WriteJSON(&js, rep))
		require.NoError(t, Validate(js.Bytes()), "a waived report fits the schema")
		assert.Empty(t, rep.Open(), "nothing blocks GO")
	})
	t.Run("an expired waiver is a failure", func(t *testing.T) {
		rep := waiverReport()
		ApplyWaivers(&rep, []Waiver{valid("SC-001"), expired("FR-018")}, now)
		assert.Equal(t, VerdictNoGo, rep.Verdict)
		fr018 := rep.Requirements[2]
		assert.Equal(t, StatusFail, fr018.Status)
		assert.True(t, fr018.Waiver.Expired)
		assert.Equal(t, StatusNotRun, fr018.Waiver.StatusWithout)
		assert.True(t, strings.HasPrefix(fr018.Reason, "waiver expired on 2026-12-01 (owner homelab-ops: known deviation): renew or remove it"), fr018.Reason)
		assert.Equal(t, 1, rep.Summary.Waived)
		assert.Equal(t, 1, rep.Summary.Fail)
		again := rep
		again.Decide()
		assert.Equal(t, StatusFail, again.Requirements[2].Status, "Decide keeps the expired waiver's failure")
	})
	t.Run("an expired waiver fails even a requirement that passed", func(t *testing.T) {
		rep := waiverReport()
		ApplyWaivers(&rep, []Waiver{expired("FR-001"), valid("SC-001"), valid("FR-018")}, now)
		assert.Equal(t, StatusFail, rep.Requirements[0].Status)
		assert.Equal(t, VerdictNoGo, rep.Verdict)
	})
	t.Run("a valid waiver on a passing requirement changes nothing", func(t *testing.T) {
		rep := waiverReport()
		ApplyWaivers(&rep, []Waiver{valid("FR-001")}, now)
		assert.Equal(t, StatusPass, rep.Requirements[0].Status)
		assert.Equal(t, 0, rep.Summary.Waived)
	})
}
