package cutover

import (
	"fmt"
	"strings"
)

// Proof states of a recorded cutover.
const (
	// ProofNone: nothing to judge yet (no completed cutover, or it was not verified
	// with the idle proof); the checks that need it report why and do not pass.
	ProofNone = "none"
	// ProofFailed: the record shows the move did not work.
	ProofFailed = "failed"
	// ProofComplete: a completed cutover whose data-plane verify passed and whose old
	// Redis was shown idle.
	ProofComplete = "complete"
)

// CutoverProof judges the runbook's record (the State annotation) for FR-015..FR-018
// on a cluster: only a completed cutover (phase done, scale-down and Ready times)
// whose recorded data-plane verify found the app on the new Redis without problems,
// and the old Redis idle since the recorded counts (no command, no app connection),
// is proof. It returns the state and, unless complete, why in one line that starts
// with "cutover not applied yet" when nothing complete is recorded.
func CutoverProof(st *State) (string, string) {
	switch {
	case st == nil:
		return ProofNone, fmt.Sprintf("cutover not applied yet: no record (annotation %s) on beersystem's Deployment; run conform cutover apply", StateAnnotation)
	case st.Phase != PhaseDone:
		return ProofNone, fmt.Sprintf("cutover not applied yet: the record stops at phase %s; run conform cutover apply to finish", st.Phase)
	case st.ScaledDownAt == nil || st.ReadyAt == nil:
		return ProofFailed, "the completed cutover's record has no scale-down or Ready time"
	case st.DataPlane == nil:
		return ProofNone, "cutover applied but not verified: run conform cutover verify --new-redis-addr ... --old-redis-addr ... (data plane and idle proof)"
	case len(st.DataPlane.Problems) > 0:
		return ProofFailed, fmt.Sprintf("the recorded verify found problems: %v", st.DataPlane.Problems)
	case len(st.DataPlane.AppOnNew) == 0:
		return ProofFailed, "the recorded verify saw no app connection on the new Redis"
	case st.DataPlane.OldAddr == "" || st.DataPlane.OldCallsSince == nil:
		return ProofNone, "cutover verified without the idle proof of the old Redis: run conform cutover verify --old-redis-addr ..."
	case *st.DataPlane.OldCallsSince > 0 || len(st.DataPlane.AppOnOld) > 0:
		return ProofFailed, fmt.Sprintf("the old Redis is not idle: %d commands since the recorded counts, %d app connections", *st.DataPlane.OldCallsSince, len(st.DataPlane.AppOnOld))
	default:
		return ProofComplete, ""
	}
}

// DecommissionUnproven is why a recorded decommission fails FR-018 whatever else the
// record says: it was done without the idle proof (--no-idle-proof), so nobody
// showed the old Redis was unused before it was deleted. "" when no decommission is
// recorded or it carries the proof.
func DecommissionUnproven(st *State) string {
	if st == nil || st.DecommissionedAt == nil || strings.HasPrefix(st.IdleProof, "proven") {
		return ""
	}
	return "decommissioned without proof that the old Redis was idle (--no-idle-proof): " + st.IdleProof
}
