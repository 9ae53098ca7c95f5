package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/redis-shared/conformance/tools/exitcode"
	"github.com/redis-shared/conformance/tools/project"
	"github.com/redis-shared/conformance/tools/sandbox"
	"github.com/redis-shared/conformance/tools/values"
)

const sandboxUsage = `usage: conform sandbox up|down|status|supervise [--values FILE]... [--state-dir DIR] [--root DIR]

  up         build the sandbox from helm-values/base.yaml + homelab.yaml (+ --values overlays)
  down       remove the sandbox in --state-dir and the leftovers of crashed runs
  status     check instances, replication, exporters and Prometheus targets
  supervise  (internal) the detached process that keeps the sandbox running

exit codes: 0 ok/healthy, 1 did not come up / unhealthy / left something, 2 could not run`

// runSandbox is `conform sandbox`.
func runSandbox(ctx context.Context, args []string, streams IOStreams) int {
	if len(args) == 0 {
		return fail(streams, exitcode.CouldNotRun, "sandbox: missing subcommand: up, down, status or supervise (see conform sandbox --help)")
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(streams.ErrOut, sandboxUsage)
		return exitcode.OK
	}
	sub := args[0]
	fs := newFlagSet("sandbox "+sub, streams)
	var extra multiFlag
	fs.Var(&extra, "values", "values file merged on top of the project's homelab layering (repeatable)")
	stateDir := fs.String("state-dir", sandbox.DefaultStateDir, "directory for the state file, password, configs, data and logs")
	root := fs.String("root", "", "project root (default: found from the working directory)")
	asJSON := fs.Bool("json", false, "status: print the report as JSON")
	if code := parseFlags(fs, args[1:], streams); code >= 0 {
		return code
	}
	switch sub {
	case "up":
		return sandboxUp(ctx, *root, extra, *stateDir, streams)
	case "down":
		return sandboxDown(ctx, *stateDir, streams)
	case "status":
		return sandboxStatus(ctx, *stateDir, *asJSON, streams)
	case "supervise":
		if err := sandbox.Supervise(ctx, *stateDir); err != nil {
			return fail(streams, exitcode.Failed, "sandbox supervise: %v", err)
		}
		return exitcode.OK
	default:
		return fail(streams, exitcode.CouldNotRun, "sandbox: unknown subcommand %q (want up, down, status or supervise)", sub)
	}
}

func sandboxUp(ctx context.Context, root string, extra []string, stateDir string, streams IOStreams) int {
	if err := sandbox.CheckPrivileges(); err != nil {
		return fail(streams, exitcode.CouldNotRun, "sandbox up: %v", err)
	}
	if root == "" {
		r, err := project.Root()
		if err != nil {
			return fail(streams, exitcode.CouldNotRun, "sandbox up: %v", err)
		}
		root = r
	}
	files, err := values.ProjectFiles(root, values.LayeringHomelab)
	if err != nil {
		return fail(streams, exitcode.CouldNotRun, "sandbox up: %v", err)
	}
	for _, f := range extra {
		abs, err := filepath.Abs(f)
		if err != nil {
			return fail(streams, exitcode.CouldNotRun, "sandbox up: --values %s: %v", f, err)
		}
		files = append(files, abs)
	}
	// The coalesced tree (chart defaults included), as the chart and the gate see it.
	tree, err := values.LoadCoalesced(ctx, root, files...)
	if err != nil {
		return fail(streams, exitcode.CouldNotRun, "sandbox up: %v", err)
	}
	cfg, err := sandbox.ConfigFromValues(tree)
	if err != nil {
		return fail(streams, exitcode.CouldNotRun, "sandbox up: values: %v", err)
	}
	start := time.Now()
	st, err := sandbox.Up(ctx, cfg, sandbox.Options{StateDir: stateDir, ValuesFiles: files})
	switch {
	case errors.Is(err, sandbox.ErrPrivileges), errors.Is(err, sandbox.ErrAlreadyUp):
		return fail(streams, exitcode.CouldNotRun, "sandbox up: %v", err)
	case err != nil:
		return fail(streams, exitcode.Failed, "sandbox up: %v", err)
	}
	out := streams.Out
	fmt.Fprintf(out, "sandbox %s up in %s\n", st.ID, time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(out, "  state file     %s\n", filepath.Join(st.Dir, "state.json"))
	fmt.Fprintf(out, "  password file  %s\n", st.PasswordFile)
	for _, inst := range st.Instances {
		fmt.Fprintf(out, "  %-14s %s (from vantage %q, netns %s)\n", inst.Name, inst.Addr, sandbox.VantageCluster, st.Vantages[sandbox.VantageCluster])
	}
	if st.LoadBalancer != nil {
		fmt.Fprintf(out, "  load balancer  %s (sources %s; vantage %q netns %s, %q netns %s)\n", st.LoadBalancer.Addr,
			strings.Join(st.LoadBalancer.SourceRanges, ","), sandbox.VantageLAN, st.Vantages[sandbox.VantageLAN],
			sandbox.VantageOutside, st.Vantages[sandbox.VantageOutside])
	}
	if st.Prometheus != nil {
		fmt.Fprintf(out, "  prometheus     %s (from vantage %q)\n", st.Prometheus.URL, st.Prometheus.Vantage)
	}
	if st.OldRedis != nil {
		// beersystem's own Redis, which the cutover rehearsal moves away from.
		fmt.Fprintf(out, "  %-14s %s (%s; password file %s)\n", st.OldRedis.Name, st.OldRedis.Addr, st.OldRedis.Service, st.OldRedis.PasswordFile)
	}
	return exitcode.OK
}

func sandboxDown(ctx context.Context, stateDir string, streams IOStreams) int {
	start := time.Now()
	err := sandbox.Down(ctx, stateDir)
	switch {
	case errors.Is(err, sandbox.ErrPrivileges):
		return fail(streams, exitcode.CouldNotRun, "sandbox down: %v", err)
	case err != nil:
		return fail(streams, exitcode.Failed, "sandbox down: %v", err)
	}
	fmt.Fprintf(streams.Out, "sandbox down in %s\n", time.Since(start).Round(time.Millisecond))
	return exitcode.OK
}

func sandboxStatus(ctx context.Context, stateDir string, asJSON bool, streams IOStreams) int {
	if err := sandbox.CheckPrivileges(); err != nil {
		return fail(streams, exitcode.CouldNotRun, "sandbox status: %v", err)
	}
	st, err := sandbox.LoadState(stateDir)
	if err != nil {
		return fail(streams, exitcode.CouldNotRun, "sandbox status: no sandbox in %s: %v", stateDir, err)
	}
	report := st.Check(ctx, sandbox.CheckOptions{Targets: true})
	if asJSON {
		enc := json.NewEncoder(streams.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			return fail(streams, exitcode.CouldNotRun, "sandbox status: %v", err)
		}
	} else {
		w := tabwriter.NewWriter(streams.Out, 0, 4, 2, ' ', 0)
		fmt.Fprintf(w, "sandbox %s (%s), supervisor alive: %v\n", st.ID, st.Phase, report.Supervisor)
		fmt.Fprintln(w, "INSTANCE\tADDR\tPID\tRESTARTS\tROLE\tLINK\tEXPORTER redis_up")
		for _, h := range report.Instances {
			fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%s\t%s\t%s\n", h.Name, h.Addr, h.Pid, h.Restarts, dash(h.Role), dash(h.Link), dash(h.Exporter))
		}
		if p := report.Prometheus; p != nil {
			var targets []string
			for pod, health := range p.Targets {
				targets = append(targets, pod+"="+health)
			}
			fmt.Fprintf(w, "prometheus ready: %v, rules: %d, targets: %s\n", p.Ready, p.Rules, strings.Join(targets, " "))
		}
		if err := w.Flush(); err != nil {
			return fail(streams, exitcode.CouldNotRun, "sandbox status: %v", err)
		}
	}
	if problems := report.Problems(); len(problems) > 0 {
		fmt.Fprintln(streams.ErrOut, "unhealthy: "+strings.Join(problems, "; "))
		return exitcode.Failed
	}
	return exitcode.OK
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
