package probe

import "strings"

// IsRejection is the one definition of "rejected" for SC-008, used on every target
// (in-process on the sandbox, in the probe pod on kube). Replies
// are the raw first lines, type byte included ("-NOAUTH Authentication required.");
// authReply is "" when no AUTH was sent.
//
// An attempt is rejected when PING was not served and the refusal is about
// authentication: PING answered NOAUTH, or AUTH answered WRONGPASS or another AUTH
// error ("-ERR invalid password" of older servers). Any other error (LOADING,
// MISCONF, a closed connection, a timeout) is not a rejection: it is counted apart
// and keeps SC-008 below 100 %.
func IsRejection(authReply, pingReply string) bool {
	if !strings.HasPrefix(pingReply, "-") {
		return false
	}
	if strings.HasPrefix(pingReply, "-NOAUTH") {
		return true
	}
	return isAuthError(authReply)
}

func isAuthError(reply string) bool {
	switch {
	case strings.HasPrefix(reply, "-WRONGPASS"):
		return true
	case strings.HasPrefix(reply, "-ERR"):
		lower := strings.ToLower(reply)
		return strings.Contains(lower, "auth") || strings.Contains(lower, "password")
	default:
		return false
	}
}
