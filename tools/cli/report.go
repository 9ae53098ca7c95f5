package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/redis-shared/conformance/tools/evidence"
	"github.com/redis-shared/conformance/tools/exitcode"
	"github.com/redis-shared/conformance/tools/report"
)

func runReport(ctx context.Context, args []string, streams IOStreams) int {
	fs := newFlagSet("report", streams)
	root := fs.String("root", "", "project root (default: found from the working directory)")
	target := fs.String("target", "sandbox", "the target the checks ran against: sandbox or kube")
	policyFile := fs.String("policy", "", "policy gate results (conform policy --format json); absent: policy checks not-run")
	var testFiles, evidenceFiles multiFlag
	fs.Var(&testFiles, "tests", "go test -json output (repeatable); absent: suite checks not-run")
	fs.Var(&evidenceFiles, "evidence", "evidence JSON lines the checks recorded (repeatable)")
	outDir := fs.String("out", "out", "directory for report.md, report.json and junit.xml")
	commit := fs.String("commit", "", "suite commit (default: git rev-parse HEAD of the root)")
	factsFile := fs.String("facts", "", "facts about the run (conform preflight --facts) merged into the report")
	waiversFile := fs.String("waivers", "", "waivers file (YAML: requirement, reason, owner, expires): a waived requirement does not block GO until it expires")
	history := fs.Bool("history", false, "also keep the run under <out>/runs/<UTC time>/ and point <out>/latest at it")
	if len(args) > 0 && (args[0] == "--diff" || args[0] == "-diff") {
		return runReportDiff(args[1:], streams)
	}
	if code := parseFlags(fs, args, streams); code >= 0 {
		return code
	}
	if *target != "sandbox" && *target != "kube" {
		return fail(streams, exitcode.CouldNotRun, "--target %q: want sandbox or kube", *target)
	}
	cat, all, code := loadChecks(streams, root)
	if code >= 0 {
		return code
	}
	var err error
	in := report.Inputs{Catalog: cat, Checks: all, Target: *target, Now: time.Now()}
	if *policyFile != "" {
		if in.Policy, err = report.ReadPolicyRun(*policyFile); err != nil {
			return fail(streams, exitcode.CouldNotRun, "%v", err)
		}
	}
	for _, f := range testFiles {
		run, err := report.ReadTestEvents(f)
		if err != nil {
			return fail(streams, exitcode.CouldNotRun, "%v", err)
		}
		in.Tests = in.Tests.Merge(run)
	}
	for _, f := range evidenceFiles {
		records, err := evidence.ReadFile(f)
		if err != nil {
			return fail(streams, exitcode.CouldNotRun, "%v", err)
		}
		in.Evidence = append(in.Evidence, records...)
	}
	in.SuiteCommit = *commit
	if in.SuiteCommit == "" {
		in.SuiteCommit = gitCommit(ctx, *root)
	}
	var waivers []report.Waiver
	if *waiversFile != "" {
		if waivers, err = report.ReadWaivers(*waiversFile, cat); err != nil {
			return fail(streams, exitcode.CouldNotRun, "%v", err)
		}
	}
	var runFacts map[string]string
	if *factsFile != "" {
		if runFacts, err = report.ReadFacts(*factsFile); err != nil {
			return fail(streams, exitcode.CouldNotRun, "%v", err)
		}
	}
	rep := report.Build(in)
	for k, v := range runFacts {
		if rep.Facts == nil {
			rep.Facts = map[string]string{}
		}
		rep.Facts[k] = v
	}
	// Waivers are a separate step after the status computation.
	report.ApplyWaivers(&rep, waivers, in.Now)
	if err := writeReport(*outDir, rep, in.Evidence); err != nil {
		return fail(streams, exitcode.CouldNotRun, "%v", err)
	}
	printOpen(streams, rep)
	// Requirements and checks, each by status (report.CountsLine, as in report.md).
	line := rep.Verdict + ": " + rep.CountsLine()
	fmt.Fprintf(streams.Out, "%s (target %s) -> %s, %s\n", line, rep.Target,
		filepath.Join(*outDir, "report.md"), filepath.Join(*outDir, "report.html"))
	if *history {
		dir, err := report.SaveRun(*outDir, in.Now)
		if err != nil {
			return fail(streams, exitcode.CouldNotRun, "%v", err)
		}
		fmt.Fprintf(streams.Out, "run kept in %s (%s points at it)\n", dir, filepath.Join(*outDir, report.LatestLink))
	}
	if rep.Verdict == report.VerdictGo {
		return exitcode.OK
	}
	return exitcode.Failed
}

func writeReport(dir string, rep report.Report, records []evidence.Record) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create report dir: %w", err)
	}
	var jsonDoc bytes.Buffer
	if err := report.WriteJSON(&jsonDoc, rep); err != nil {
		return err
	}
	// The report is checked against its own published schema before it is written.
	if err := report.Validate(jsonDoc.Bytes()); err != nil {
		return err
	}
	var md, junit, page bytes.Buffer
	if err := report.WriteMarkdown(&md, rep); err != nil {
		return err
	}
	if err := report.WriteHTML(&page, rep, records); err != nil {
		return err
	}
	if err := report.WriteJUnit(&junit, rep); err != nil {
		return err
	}
	for name, content := range map[string][]byte{"report.json": jsonDoc.Bytes(), "report.md": md.Bytes(), "junit.xml": junit.Bytes(), "report.html": page.Bytes()} {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}

func gitCommit(ctx context.Context, root string) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return ""
	}
	commit := strings.TrimSpace(string(out))
	dirty, err := exec.CommandContext(ctx, "git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output()
	if err == nil && len(bytes.TrimSpace(dirty)) > 0 {
		commit += "-dirty"
	}
	return commit
}

// printOpen lists, after a run, every requirement that blocks GO with its reason and
// the hint of what to change or run.
func printOpen(streams IOStreams, rep report.Report) {
	open := rep.Open()
	if len(open) == 0 {
		return
	}
	fmt.Fprintf(streams.Out, "not passed (%d):\n", len(open))
	for _, req := range open {
		fmt.Fprintf(streams.Out, "  %-7s %-7s %s: %s\n", strings.ToUpper(req.Status), req.ID, req.Title, req.Reason)
		if next := req.NextStep(); next != "" {
			fmt.Fprintf(streams.Out, "          hint: %s\n", next)
		}
	}
}

// runReportDiff is `conform report --diff A B`: what changed from run A to run B.
func runReportDiff(args []string, streams IOStreams) int {
	fs := newFlagSet("report --diff", streams)
	all := fs.Bool("all-figures", false, "list every changed figure, not only latency percentiles and rates")
	// The two runs are positional: parse the flags around them.
	var runs []string
	rest := args
	fs.SetOutput(io.Discard) // parseFlags below prints the one-line usage error
	for len(rest) > 0 {
		if err := fs.Parse(rest); err != nil {
			return parseFlags(fs, rest, streams)
		}
		if fs.NArg() == 0 {
			break
		}
		runs = append(runs, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(runs) != 2 {
		return fail(streams, exitcode.CouldNotRun, "report --diff: want two runs (run folders such as out/runs/<time> or out/latest, or report.json files), got %d", len(runs))
	}
	a, err := report.ReadReport(runs[0])
	if err != nil {
		return fail(streams, exitcode.CouldNotRun, "report --diff: %v", err)
	}
	b, err := report.ReadReport(runs[1])
	if err != nil {
		return fail(streams, exitcode.CouldNotRun, "report --diff: %v", err)
	}
	lines := report.Diff(a, b, report.DiffOptions{AllFigures: *all})
	fmt.Fprintf(streams.Out, "%s (%s, %s) -> %s (%s, %s)\n", runs[0], a.Verdict, a.GeneratedAt.Format("2006-01-02 15:04Z"), runs[1], b.Verdict, b.GeneratedAt.Format("2006-01-02 15:04Z"))
	if len(lines) == 0 {
		fmt.Fprintln(streams.Out, "no status flip and no changed latency or rate figure")
	}
	for _, l := range lines {
		fmt.Fprintln(streams.Out, "  "+l)
	}
	return exitcode.OK
}
