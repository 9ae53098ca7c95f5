package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/redis-shared/conformance/tools/cutover"
)

// cutoverActions are the subcommands of `conform cutover`, in runbook order.
var cutoverActions = []string{"plan", "apply", "verify", "rollback", "decommission"}

// runCutover is `conform cutover plan|apply|verify|rollback|decommission`: the
// beersystem cutover runbook (tools/cutover) against the cluster of a kubeconfig.
func runCutover(ctx context.Context, args []string, streams IOStreams) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintf(streams.ErrOut, "usage: conform cutover %s --kubeconfig PATH [flags]\n", joinActions())
		if len(args) == 0 {
			return ExitBadInput
		}
		return ExitOK
	}
	action := args[0]
	if !slices.Contains(cutoverActions, action) {
		return fail(streams, ExitBadInput, "cutover: unknown action %q: want %s", action, joinActions())
	}
	fs := newFlagSet("cutover "+action, streams)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig of the cluster (default: $KUBECONFIG or ~/.kube/config)")
	var o cutover.Options
	fs.StringVar(&o.Namespace, "namespace", cutover.DefaultNamespace, "namespace of the beersystem Deployment and the old Redis")
	fs.StringVar(&o.Deployment, "deployment", cutover.DefaultDeployment, "the beersystem Deployment")
	fs.StringVar(&o.OldRedis, "old-redis", cutover.DefaultOldRedis, "name of the old Redis's Deployment/StatefulSet/Service")
	fs.StringVar(&o.HostEnv, "host-env", "", "env var of the Redis host (default: guessed, REDIS and HOST)")
	fs.StringVar(&o.PortEnv, "port-env", "", "env var of the Redis port (default: guessed, REDIS and PORT)")
	fs.StringVar(&o.PasswordEnv, "password-env", "", "env var of the Redis password (default: guessed, REDIS and PASSWORD)")
	fs.DurationVar(&o.WaitTimeout, "timeout", cutover.DefaultWaitTimeout, "bound of each wait for pods to go or become Ready")
	fs.StringVar(&o.Gate.ReportPath, "report", "", "report.json of the conformance run as a preflight gate (default: no gate)")
	fs.StringVar(&o.Gate.Mode, "gate", cutover.GateVerdictGo, "report gate: go (verdict GO) or except-cutover (all but FR-015..FR-018 pass)")
	soakFlag := fs.Duration("soak", 0, "decommission: minimum age of the cutover (default: FR-018 soak_time from the catalog)")
	confirm := fs.Bool("confirm", false, "decommission: delete the old Redis objects (without it: only print them)")
	if code := parseFlags(fs, args[1:], streams); code >= 0 {
		return code
	}
	if o.WaitTimeout <= 0 {
		return fail(streams, ExitBadInput, "cutover: --timeout %s: want a positive duration", o.WaitTimeout)
	}
	if *soakFlag < 0 {
		return fail(streams, ExitBadInput, "cutover: --soak %s: want a positive duration", *soakFlag)
	}
	if o.Gate.Mode != cutover.GateVerdictGo && o.Gate.Mode != cutover.GateExceptCutover {
		return fail(streams, ExitBadInput, "cutover: --gate %q: want %s or %s", o.Gate.Mode, cutover.GateVerdictGo, cutover.GateExceptCutover)
	}
	cs, err := cutoverClient(*kubeconfig)
	if err != nil {
		return fail(streams, ExitBadInput, "cutover: %v", err)
	}
	o.Log = streams.Out
	rb := cutover.New(cs, o)

	switch action {
	case "plan":
		lines, err := rb.Plan(ctx)
		for _, l := range lines {
			fmt.Fprintln(streams.Out, l)
		}
		if err != nil {
			return fail(streams, ExitFindings, "cutover plan: %v", err)
		}
	case "apply":
		if _, err := rb.Apply(ctx); err != nil {
			return fail(streams, ExitFindings, "cutover apply: %v", err)
		}
	case "verify":
		st, err := rb.Verify(ctx)
		if err != nil {
			return fail(streams, ExitFindings, "cutover verify: %v", err)
		}
		fmt.Fprintf(streams.Out, "cutover verified: beersystem on %s, %d replicas Ready; downtime %.1f s, cut over at %s\n",
			cutover.DefaultNewHost, st.Replicas, st.DowntimeSeconds, st.ReadyAt.Format(time.RFC3339))
	case "rollback":
		if err := rb.Rollback(ctx); err != nil {
			return fail(streams, ExitFindings, "cutover rollback: %v", err)
		}
	case "decommission":
		soak := *soakFlag
		if soak == 0 {
			if soak, err = cutover.CatalogSoak(); err != nil {
				return fail(streams, ExitBadInput, "cutover decommission: %v", err)
			}
		}
		objs, err := rb.Decommission(ctx, soak, *confirm)
		if err != nil {
			return fail(streams, ExitFindings, "cutover: %v", err)
		}
		verb := "would delete (run again with --confirm)"
		if *confirm {
			verb = "deleted"
		}
		for _, obj := range objs {
			fmt.Fprintf(streams.Out, "%s %s\n", verb, obj)
		}
	}
	return ExitOK
}

func joinActions() string { return strings.Join(cutoverActions, "|") }

// cutoverClient opens the cluster of a kubeconfig with a deadline on every request.
func cutoverClient(kubeconfig string) (kubernetes.Interface, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %q: %w", kubeconfig, err)
	}
	cfg.Timeout = 30 * time.Second
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %q: client: %w", kubeconfig, err)
	}
	return cs, nil
}
