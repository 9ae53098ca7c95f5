package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/redis-shared/conformance/tools/catalog"
	"github.com/redis-shared/conformance/tools/checks"
	"github.com/redis-shared/conformance/tools/exitcode"
	"github.com/redis-shared/conformance/tools/project"
	"github.com/redis-shared/conformance/tools/report"
)

// runProgress is `conform progress --out FILE [--evidence FILE]`: it reads a `go test
// -json` stream on stdin, copies it unchanged to FILE and prints one line per check
// as it finishes (status, requirement ids, key figure, elapsed time).
func runProgress(_ context.Context, args []string, streams IOStreams) int {
	fs := newFlagSet("progress", streams)
	root := fs.String("root", "", "project root (default: found from the working directory)")
	out := fs.String("out", "", "file the go test -json stream is copied to (required)")
	evidencePath := fs.String("evidence", "", "evidence file the checks append to, read for each check's key figure")
	if code := parseFlags(fs, args, streams); code >= 0 {
		return code
	}
	if *out == "" {
		return fail(streams, exitcode.CouldNotRun, "progress: --out FILE is required")
	}
	if *root == "" {
		r, err := project.Root()
		if err != nil {
			return fail(streams, exitcode.CouldNotRun, "progress: %v", err)
		}
		*root = r
	}
	all, err := checks.Discover(*root)
	if err != nil {
		return fail(streams, exitcode.CouldNotRun, "progress: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return fail(streams, exitcode.CouldNotRun, "progress: %v", err)
	}
	f, err := os.Create(*out)
	if err != nil {
		return fail(streams, exitcode.CouldNotRun, "progress: %v", err)
	}
	progress := report.NewProgress(all, *evidencePath)
	// The key figure of a check is its requirement's judged one; without the catalog
	// the lines just show another figure.
	if cat, err := catalog.Load(); err == nil {
		progress.Judged = map[string]string{}
		for _, id := range cat.IDs() {
			if req, ok := cat.Get(id); ok && req.Threshold != nil {
				progress.Judged[id] = strings.ReplaceAll(req.Threshold.Name, "_", " ")
			}
		}
	}
	counts, runErr := progress.Run(streams.In, f, streams.Out)
	if err := f.Close(); err != nil && runErr == nil {
		runErr = fmt.Errorf("progress: close %s: %w", *out, err)
	}
	if runErr != nil {
		return fail(streams, exitcode.CouldNotRun, "%v", runErr)
	}
	fmt.Fprintf(streams.Out, "checks finished: %d passed, %d failed, %d skipped (the report judges the requirements)\n", counts.Pass, counts.Fail, counts.Skip)
	return exitcode.OK
}
