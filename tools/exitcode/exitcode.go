// Package exitcode is the one exit-code table of every command of the project
// (conform and each tools/cmd/*), and the flag parsing that keeps a usage error to
// one line. Scripts and CI rely on these numbers: they never change meaning.
//
//	0  OK           done: GO, gate passed, healthy, measurement carried out
//	1  Failed       ran, and found something wrong: NO-GO, violations, gaps, unhealthy,
//	                or a measurement that could not be carried out on a reachable target
//	2  CouldNotRun  could not run: a bad flag, a missing, unreadable, oversized,
//	                truncated or malformed input, a non-regular input file, or a
//	                cluster or endpoint that does not answer within its deadline
package exitcode

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// The table (see the package comment).
const (
	OK          = 0
	Failed      = 1
	CouldNotRun = 2
)

// Continue is what ParseFlags returns when the command should go on.
const Continue = -1

// ParseFlags parses args into fs. A usage error prints one line naming the bad flag or
// argument and pointing at --help, and returns CouldNotRun; -h/--help prints the full
// usage to stderr and returns OK; otherwise it returns Continue. Stray positional
// arguments are usage errors too.
func ParseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) int {
	code := ParseFlagsAndArgs(fs, args, stderr)
	if code == Continue && fs.NArg() > 0 {
		UsageError(stderr, fs.Name(), "unexpected argument %q", fs.Arg(0))
		return CouldNotRun
	}
	return code
}

// ParseFlagsAndArgs is ParseFlags for a command that takes positional arguments
// (fs.Args()) after its flags.
func ParseFlagsAndArgs(fs *flag.FlagSet, args []string, stderr io.Writer) int {
	// The flag package prints the whole usage after every error: keep it for --help.
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.Usage()
		return OK
	case err != nil:
		UsageError(stderr, fs.Name(), "%s", err)
		return CouldNotRun
	}
	return Continue
}

// UsageError prints one line: "<command>: <message> (see <command> --help)".
func UsageError(stderr io.Writer, command, format string, args ...any) {
	msg := strings.Join(strings.Fields(fmt.Sprintf(format, args...)), " ")
	fmt.Fprintf(stderr, "%s: %s (see %s --help)\n", command, msg, command)
}

// OneLine folds an error into one line for stderr: the causes wrapped into it stay,
// line breaks and runs of blanks do not.
func OneLine(err error) string {
	if err == nil {
		return ""
	}
	return strings.Join(strings.Fields(err.Error()), " ")
}
