package cli

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/redis-shared/conformance/tools/cutover"
	"github.com/redis-shared/conformance/tools/exitcode"
	"github.com/redis-shared/conformance/tools/project"
)

// cutoverActions are the subcommands of `conform cutover`, in runbook order.
var cutoverActions = []string{"plan", "apply", "verify", "rollback", "decommission"}

// runCutover is `conform cutover plan|apply|verify|rollback|decommission`: the
// beersystem cutover runbook (tools/cutover) against the cluster of a kubeconfig.
func runCutover(ctx context.Context, args []string, streams IOStreams) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintf(streams.ErrOut, "usage: conform cutover %s --kubeconfig PATH [--context NAME] [flags]\n", joinActions())
		if len(args) == 0 {
			return exitcode.CouldNotRun
		}
		return exitcode.OK
	}
	action := args[0]
	if !slices.Contains(cutoverActions, action) {
		return fail(streams, exitcode.CouldNotRun, "cutover: unknown action %q: want %s", action, joinActions())
	}
	fs := newFlagSet("cutover "+action, streams)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig of the cluster (default: $KUBECONFIG or ~/.kube/config)")
	kubeContext := fs.String("context", "", "kubeconfig context (default: the kubeconfig's current context)")
	var o cutover.Options
	fs.StringVar(&o.Namespace, "namespace", project.App, "namespace of the beersystem Deployment and the old Redis")
	fs.StringVar(&o.Deployment, "deployment", project.App, "the beersystem Deployment")
	fs.StringVar(&o.OldRedis, "old-redis", project.OldRedis, "name of the old Redis's Deployment/StatefulSet/Service")
	fs.StringVar(&o.HostEnv, "host-env", "", "env var of the Redis host (default: guessed, REDIS and HOST)")
	fs.StringVar(&o.PortEnv, "port-env", "", "env var of the Redis port (default: guessed, REDIS and PORT)")
	fs.StringVar(&o.PasswordEnv, "password-env", "", "env var of the Redis password (default: guessed, REDIS and PASSWORD)")
	fs.DurationVar(&o.WaitTimeout, "timeout", cutover.DefaultWaitTimeout, "bound of each wait for pods to go or become Ready")
	fs.StringVar(&o.Gate.ReportPath, "report", "", "report.json of the conformance run as a preflight gate (default: no gate)")
	fs.StringVar(&o.Gate.Mode, "gate", cutover.GateVerdictGo, "report gate: go (verdict GO; before the cutover, waive FR-015..FR-018 in the run's waivers file)")
	soakFlag := fs.Duration("soak", 0, "decommission: minimum age of the cutover (default: FR-018 soak_time from the catalog)")
	var d cutover.DecommissionOptions
	fs.BoolVar(&d.Confirm, "confirm", false, "decommission: delete the old Redis objects (without it: only print them)")
	fs.BoolVar(&d.IgnoreOtherClients, "ignore-other-clients", false, "decommission: go ahead although other workloads name the old Redis")
	fs.BoolVar(&d.NoIdleProof, "no-idle-proof", false, "decommission: go ahead without --old-redis-addr, so without proof that the old Redis had no commands since the cutover")
	fs.StringVar(&o.Until, "until", "", "plan/apply: stop after this step; only scale-down (then deploy and check the new Redis, and run apply again)")
	fs.BoolVar(&o.RefuseOtherClients, "refuse-other-clients", false, "plan/apply: make other workloads that name the old Redis a NO-GO (default: a warning)")
	newAddr := fs.String("new-redis-addr", "", "data plane: host:port of the new Redis as reachable from here (e.g. a kubectl port-forward); default: not checked")
	newSecret := fs.String("new-redis-secret", "", "data plane: NAMESPACE/NAME[:KEY] of the new Redis's password (default: the replicated Secret in the Redis namespace)")
	oldAddr := fs.String("old-redis-addr", "", "data plane: host:port of the old Redis as reachable from here; default: not checked")
	oldSecret := fs.String("old-redis-secret", "", "data plane: NAMESPACE/NAME[:KEY] of the old Redis's password (default: no password; KEY defaults to redis-password)")
	fs.StringVar(&o.DataPlane.AppClientName, "app-client-name", "", "data plane: client-name prefix of the app's connections, besides its pod IPs (default: the Deployment's name)")
	fs.DurationVar(&o.DataPlane.Wait, "dataplane-wait", cutover.DefaultDataPlaneWait, "data plane: bound of the wait for the app's connections on the new Redis")
	if code := parseFlags(fs, args[1:], streams); code >= 0 {
		return code
	}
	if err := checkCutoverFlags(fs, action); err != nil {
		exitcode.UsageError(streams.ErrOut, fs.Name(), "%v", err)
		return exitcode.CouldNotRun
	}
	if o.Until != "" && o.Until != cutover.StepScaleDown {
		return fail(streams, exitcode.CouldNotRun, "cutover: --until %q: want %s", o.Until, cutover.StepScaleDown)
	}
	if o.DataPlane.Wait <= 0 {
		return fail(streams, exitcode.CouldNotRun, "cutover: --dataplane-wait %s: want a positive duration", o.DataPlane.Wait)
	}
	if o.DataPlane.AppClientName == "" {
		o.DataPlane.AppClientName = o.Deployment
	}
	if *newSecret == "" {
		*newSecret = fmt.Sprintf("%s/%s:%s", orDefault(o.RedisNamespace, project.Namespace), orDefault(o.Secret, project.AuthSecret), orDefault(o.SecretKey, project.AuthPasswordKey))
	}
	endpoints := []struct {
		flag, addr, secretFlag, secret string
	}{{"--new-redis-addr", *newAddr, "--new-redis-secret", *newSecret}, {"--old-redis-addr", *oldAddr, "--old-redis-secret", *oldSecret}}
	for _, ep := range endpoints {
		if ep.addr != "" {
			if _, _, err := net.SplitHostPort(ep.addr); err != nil {
				return fail(streams, exitcode.CouldNotRun, "cutover: %s %q: want host:port", ep.flag, ep.addr)
			}
		}
		if ep.secret != "" {
			if _, err := parseSecretRef(ep.secret); err != nil {
				return fail(streams, exitcode.CouldNotRun, "cutover: %s: %v", ep.secretFlag, err)
			}
		}
	}
	if o.WaitTimeout <= 0 {
		return fail(streams, exitcode.CouldNotRun, "cutover: --timeout %s: want a positive duration", o.WaitTimeout)
	}
	if *soakFlag < 0 {
		return fail(streams, exitcode.CouldNotRun, "cutover: --soak %s: want a positive duration", *soakFlag)
	}
	// Known deviations are waivers in the report now (WAIVERS=, conform report
	// --waivers), with an owner and an expiry, not a hard-coded gate mode.
	if o.Gate.Mode == cutover.GateExceptCutover {
		return fail(streams, exitcode.CouldNotRun, "cutover: --gate %s is replaced by waivers: waive FR-015..FR-018 until the window ends in a waivers file (make conformance WAIVERS=file) and gate on %s", o.Gate.Mode, cutover.GateVerdictGo)
	}
	if o.Gate.Mode != cutover.GateVerdictGo {
		return fail(streams, exitcode.CouldNotRun, "cutover: --gate %q: want %s", o.Gate.Mode, cutover.GateVerdictGo)
	}
	cs, err := cutoverClient(*kubeconfig, *kubeContext)
	if err != nil {
		return fail(streams, exitcode.CouldNotRun, "cutover: %v", err)
	}
	if err := cutoverReachable(ctx, cs); err != nil {
		return fail(streams, exitcode.CouldNotRun, "cutover %s: could not run: %v", action, err)
	}
	o.Log = streams.Out
	if *newAddr != "" {
		c, err := dataPlaneClient(ctx, cs, *newAddr, *newSecret)
		if err != nil {
			return fail(streams, exitcode.CouldNotRun, "cutover: --new-redis-addr: %v", err)
		}
		defer c.Close()
		o.DataPlane.New, o.DataPlane.NewAddr = c, *newAddr
	}
	if *oldAddr != "" {
		c, err := dataPlaneClient(ctx, cs, *oldAddr, *oldSecret)
		if err != nil {
			return fail(streams, exitcode.CouldNotRun, "cutover: --old-redis-addr: %v", err)
		}
		defer c.Close()
		o.DataPlane.Old, o.DataPlane.OldAddr = c, *oldAddr
	}
	rb := cutover.New(cs, o)
	began := time.Now().UTC().Truncate(time.Second)

	switch action {
	case "plan":
		lines, err := rb.Plan(ctx)
		for _, l := range lines {
			fmt.Fprintln(streams.Out, l)
		}
		if err != nil {
			return fail(streams, cutoverFailCode(err), "cutover plan: %v", err)
		}
	case "apply":
		if _, err := rb.Apply(ctx); err != nil {
			return fail(streams, cutoverFailCode(err), "cutover apply: %v", err)
		}
	case "verify":
		st, err := rb.Verify(ctx)
		if st != nil && st.DataPlane != nil && o.DataPlane.Given() && !st.DataPlane.CheckedAt.Before(began) {
			for _, l := range st.DataPlane.Lines() {
				fmt.Fprintln(streams.Out, l)
			}
		}
		if err != nil {
			return fail(streams, cutoverFailCode(err), "cutover verify: %v", err)
		}
		fmt.Fprintf(streams.Out, "cutover verified: beersystem on %s, %d replicas Ready; downtime %.1f s, cut over at %s\n",
			project.MasterDNSName, st.Replicas, st.DowntimeSeconds, st.ReadyAt.Format(time.RFC3339))
		if !o.DataPlane.Given() {
			fmt.Fprintln(streams.Out, "data plane NOT checked: no --new-redis-addr and --old-redis-addr given, so the app's connections on the new Redis and none left on the old are unproven")
		}
	case "rollback":
		if err := rb.Rollback(ctx); err != nil {
			return fail(streams, cutoverFailCode(err), "cutover rollback: %v", err)
		}
	case "decommission":
		d.Soak = *soakFlag
		if d.Soak == 0 {
			if d.Soak, err = cutover.CatalogSoak(); err != nil {
				return fail(streams, exitcode.CouldNotRun, "cutover decommission: %v", err)
			}
		}
		res, err := rb.Decommission(ctx, d)
		if err != nil {
			return fail(streams, cutoverFailCode(err), "cutover: %v", err)
		}
		fmt.Fprintf(streams.Out, "old Redis idle since the cutover: %s\n", res.IdleProof)
		for _, ref := range res.OtherClients {
			fmt.Fprintf(streams.Out, "WARNING (--ignore-other-clients): %s\n", ref)
		}
		verb := "would delete (run again with --confirm)"
		if d.Confirm {
			verb = "deleted"
		}
		for _, obj := range res.Objects {
			fmt.Fprintf(streams.Out, "%s %s\n", verb, obj)
		}
	}
	return exitcode.OK
}

func joinActions() string { return strings.Join(cutoverActions, "|") }

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// secretRef names one key of a Secret: NAMESPACE/NAME[:KEY].
type secretRef struct{ Namespace, Name, Key string }

func parseSecretRef(s string) (secretRef, error) {
	nsName, key, hasKey := strings.Cut(s, ":")
	ns, name, ok := strings.Cut(nsName, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") || hasKey && key == "" {
		return secretRef{}, fmt.Errorf("%q: want NAMESPACE/NAME[:KEY]", s)
	}
	if !hasKey {
		key = project.AuthPasswordKey
	}
	return secretRef{Namespace: ns, Name: name, Key: key}, nil
}

// dataPlaneClient opens a Redis client for the runbook's data-plane checks, with
// the password read from a Secret (never printed) and a deadline on every call. It
// names its connections so that the checks do not count them as clients.
func dataPlaneClient(ctx context.Context, cs kubernetes.Interface, addr, secret string) (*redis.Client, error) {
	var password string
	if secret != "" {
		ref, err := parseSecretRef(secret)
		if err != nil {
			return nil, err
		}
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		s, err := cs.CoreV1().Secrets(ref.Namespace).Get(sctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("password Secret %s/%s: %w", ref.Namespace, ref.Name, err)
		}
		v, ok := s.Data[ref.Key]
		if !ok {
			return nil, fmt.Errorf("password Secret %s/%s has no key %s", ref.Namespace, ref.Name, ref.Key)
		}
		password = string(v)
	}
	return redis.NewClient(&redis.Options{
		Addr: addr, Password: password, ClientName: cutover.ObserverClientName,
		DialTimeout: 5 * time.Second, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second,
		MaxRetries: 1, PoolSize: 2, DisableIdentity: true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	}), nil
}

// cutoverClient opens the cluster of a kubeconfig context with a deadline on every
// request.
func cutoverClient(kubeconfig, kubeContext string) (kubernetes.Interface, error) {
	return cutover.ClientsetContext(kubeconfig, kubeContext)
}
