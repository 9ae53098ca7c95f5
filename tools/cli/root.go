// Package cli is the `conform` command line: flag parsing and wiring only. Every
// command gets its streams passed in and returns a documented exit code.
package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/redis-shared/conformance/tools/exitcode"
)

// IOStreams are the streams a command reads and writes.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, streams IOStreams) int
}

// commands is the one ordered list of subcommands.
func commands() []command {
	return []command{
		{"coverage", "print the requirement -> checks matrix and fail on gaps", runCoverage},
		{"policy", "evaluate the Rego policy gate over helm-values, rendered manifests and tofu", runPolicy},
		{"sandbox", "local stand-in: real Redis, exporter and Prometheus in network namespaces", runSandbox},
		{"cutover", "move beersystem onto redis-shared in a planned downtime: plan, apply, verify, rollback, decommission", runCutover},
		{"preflight", "say what a conformance run is about to check (kube: API server, context) and refuse an unconfirmed disruptive run", runPreflight},
		{"progress", "copy a go test -json stream to a file, printing one line per check as it finishes", runProgress},
		{"report", "join policy results, go test -json events and evidence into the go/no-go report; --diff A B compares two runs", runReport},
	}
}

// Main runs `conform <command> [flags]`.
func Main(ctx context.Context, args []string, streams IOStreams) int {
	if len(args) == 0 {
		exitcode.UsageError(streams.ErrOut, "conform", "missing command")
		return exitcode.CouldNotRun
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(streams.ErrOut)
		return exitcode.OK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], streams)
		}
	}
	exitcode.UsageError(streams.ErrOut, "conform", "unknown command %q", args[0])
	return exitcode.CouldNotRun
}

func usage(w io.Writer) {
	var b strings.Builder
	b.WriteString("usage: conform <command> [flags]\n\ncommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-10s %s\n", c.name, c.summary)
	}
	b.WriteString("\nexit codes (every command): 0 ok/GO, 1 checks failed/NO-GO/unhealthy, 2 could not run (bad flag or input, unreachable target)\n")
	fmt.Fprint(w, b.String())
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name string, streams IOStreams) *flag.FlagSet {
	fs := flag.NewFlagSet("conform "+name, flag.ContinueOnError)
	fs.SetOutput(streams.ErrOut)
	return fs
}

// parseFlags parses and rejects stray arguments; it returns an exit code or -1. A
// usage error is one line naming the flag; --help prints the full usage.
func parseFlags(fs *flag.FlagSet, args []string, streams IOStreams) int {
	return exitcode.ParseFlags(fs, args, streams.ErrOut)
}

// fail prints a one-line error and returns the exit code.
func fail(streams IOStreams, code int, format string, args ...any) int {
	msg := strings.Join(strings.Fields(fmt.Sprintf(format, args...)), " ")
	fmt.Fprintln(streams.ErrOut, "conform: "+msg)
	return code
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
