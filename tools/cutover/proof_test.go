package cutover

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestCutoverProof(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	zero, some := int64(0), int64(3)
	verified := func(mut func(*State)) *State {
		st := &State{Phase: PhaseDone, ScaledDownAt: &now, ReadyAt: &now, DataPlane: &DataPlaneEvidence{
			NewAddr: "10.0.0.1:6379", OldAddr: "10.0.0.2:6379", AppOnNew: []string{"pod-a"}, OldCallsSince: &zero}}
		if mut != nil {
			mut(st)
		}
		return st
	}
	tests := []struct {
		name  string
		state *State
		want  string
		why   string
	}{
		{"no record", nil, ProofNone, "cutover not applied yet: no record"},
		{"stopped at scale-down", &State{Phase: PhaseScaledDown}, ProofNone, "cutover not applied yet: the record stops at phase scaled-down"},
		{"done without times", verified(func(s *State) { s.ReadyAt = nil }), ProofFailed, "no scale-down or Ready time"},
		{"done, never verified", verified(func(s *State) { s.DataPlane = nil }), ProofNone, "cutover applied but not verified"},
		{"verify found problems", verified(func(s *State) { s.DataPlane.Problems = []string{"app left on old"} }), ProofFailed, "found problems"},
		{"no app on the new Redis", verified(func(s *State) { s.DataPlane.AppOnNew = nil }), ProofFailed, "no app connection on the new Redis"},
		{"no idle proof", verified(func(s *State) { s.DataPlane.OldCallsSince = nil }), ProofNone, "without the idle proof"},
		{"old Redis still used", verified(func(s *State) { s.DataPlane.OldCallsSince = &some }), ProofFailed, "not idle: 3 commands"},
		{"complete", verified(nil), ProofComplete, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, why := CutoverProof(tc.state)
			assert.Equal(t, tc.want, got)
			if tc.why == "" {
				assert.Empty(t, why)
			} else {
				assert.Contains(t, why, tc.why)
			}
		})
	}
}

func TestDecommissionUnprovenOnlyWithoutTheIdleProof(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		state *State
		want  string
	}{
		{"no record", nil, ""},
		{"not decommissioned", &State{Phase: PhaseDone}, ""},
		{"decommissioned with the idle proof", &State{Phase: PhaseDone, DecommissionedAt: &now, IdleProof: "proven: 0 commands on the old Redis 10.0.0.2:6379 since 2026-12-02"}, ""},
		{"decommissioned with --no-idle-proof", &State{Phase: PhaseDone, DecommissionedAt: &now, IdleProof: "NOT proven: no data-plane access to the old Redis (--no-idle-proof)"},
			"decommissioned without proof that the old Redis was idle (--no-idle-proof): NOT proven: no data-plane access"},
		{"decommissioned, proof missing from the record", &State{Phase: PhaseDone, DecommissionedAt: &now}, "decommissioned without proof"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := DecommissionUnproven(tc.state)
			if tc.want == "" {
				assert.Empty(t, got)
			} else {
				assert.Contains(t, got, tc.want)
			}
		})
	}
}
