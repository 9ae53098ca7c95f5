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
