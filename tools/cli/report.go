package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/redis-shared/conformance/tools/catalog"
	"github.com/redis-shared/conformance/tools/checks"
	"github.com/redis-shared/conformance/tools/evidence"
	"github.com/redis-shared/conformance/tools/project"
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
	if code := parseFlags(fs, args, streams); code >= 0 {
		return code
	}
	if *target != "sandbox" && *target != "kube" {
		return fail(streams, ExitBadInput, "--target %q: want sandbox or kube", *target)
	}
	if *root == "" {
		r, err := project.Root()
		if err != nil {
			return fail(streams, ExitBadInput, "%v", err)
		}
		*root = r
	}
	cat, err := catalog.Load()
	if err != nil {
		return fail(streams, ExitBadInput, "%v", err)
	}
	all, err := checks.Discover(*root)
	if err != nil {
		return fail(streams, ExitBadInput, "%v", err)
	}
	in := report.Inputs{Catalog: cat, Checks: all, Target: *target, Now: time.Now()}
	if *policyFile != "" {
		if in.Policy, err = report.ReadPolicyRun(*policyFile); err != nil {
			return fail(streams, ExitBadInput, "%v", err)
		}
	}
	for _, f := range testFiles {
		run, err := report.ReadTestEvents(f)
		if err != nil {
			return fail(streams, ExitBadInput, "%v", err)
		}
		in.Tests = in.Tests.Merge(run)
	}
	for _, f := range evidenceFiles {
		records, err := evidence.ReadFile(f)
		if err != nil {
			return fail(streams, ExitBadInput, "%v", err)
		}
		in.Evidence = append(in.Evidence, records...)
	}
	in.SuiteCommit = *commit
	if in.SuiteCommit == "" {
		in.SuiteCommit = gitCommit(ctx, *root)
	}
	rep := report.Build(in)
	if err := writeReport(*outDir, rep); err != nil {
		return fail(streams, ExitBadInput, "%v", err)
	}
	fmt.Fprintf(streams.Out, "%s: %d passed, %d failed, %d skipped, %d not run (target %s) -> %s\n",
		rep.Verdict, rep.Summary.Pass, rep.Summary.Fail, rep.Summary.Skip, rep.Summary.NotRun, rep.Target,
		filepath.Join(*outDir, "report.md"))
	if rep.Verdict == report.VerdictGo {
		return ExitOK
	}
	return ExitFindings
}

func writeReport(dir string, rep report.Report) error {
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
	var md, junit bytes.Buffer
	if err := report.WriteMarkdown(&md, rep); err != nil {
		return err
	}
	if err := report.WriteJUnit(&junit, rep); err != nil {
		return err
	}
	for name, content := range map[string][]byte{"report.json": jsonDoc.Bytes(), "report.md": md.Bytes(), "junit.xml": junit.Bytes()} {
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
