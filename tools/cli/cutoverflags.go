package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"k8s.io/client-go/kubernetes"

	"github.com/redis-shared/conformance/tools/exitcode"
	"github.com/redis-shared/conformance/tools/kubeconn"
)

// cutoverFlagActions names the flags of `conform cutover` that mean something for some
// actions only; a flag not listed here applies to every action. Given to another
// action, such a flag is a usage error: `plan --confirm` must not look like a plan
// of a deletion, nor `verify --until` like a bounded verify.
var cutoverFlagActions = map[string][]string{
	"until":                {"plan", "apply"},
	"refuse-other-clients": {"plan", "apply"},
	"report":               {"plan", "apply"},
	"gate":                 {"plan", "apply"},
	"soak":                 {"decommission"},
	"confirm":              {"decommission"},
	"ignore-other-clients": {"decommission"},
	"no-idle-proof":        {"decommission"},
}

// checkCutoverFlags refuses the flags given that mean nothing for action.
func checkCutoverFlags(fs *flag.FlagSet, action string) error {
	var bad error
	fs.Visit(func(f *flag.Flag) {
		actions, limited := cutoverFlagActions[f.Name]
		if bad == nil && limited && !slices.Contains(actions, action) {
			bad = fmt.Errorf("--%s means nothing for %s (only for %s)", f.Name, action, strings.Join(actions, ", "))
		}
	})
	return bad
}

// cutoverReachable proves the cluster answers before the runbook starts, so that a
// dead API server or a hung credential plugin is "could not run" at once.
func cutoverReachable(ctx context.Context, cs kubernetes.Interface) error {
	return kubeconn.Reachable(ctx, cs, kubeconn.DefaultReachTimeout)
}

// cutoverFailCode is the exit code of a failed runbook action: 2 when the cluster or
// an endpoint could not be reached (the action could not run), else 1 (NO-GO).
func cutoverFailCode(err error) int {
	var urlErr *url.Error
	var netErr net.Error
	switch {
	case errors.As(err, &urlErr), errors.As(err, &netErr),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
		strings.Contains(err.Error(), kubeconn.ErrNoAnswer.Error()+" within"):
		return exitcode.CouldNotRun
	}
	return exitcode.Failed
}
