package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/redis-shared/conformance/tools/catalog"
	"github.com/redis-shared/conformance/tools/checks"
	"github.com/redis-shared/conformance/tools/exitcode"
	"github.com/redis-shared/conformance/tools/project"
	"github.com/redis-shared/conformance/tools/safeio"
)

func runCoverage(_ context.Context, args []string, streams IOStreams) int {
	fs := newFlagSet("coverage", streams)
	root := fs.String("root", "", "project root (default: found from the working directory)")
	format := fs.String("format", "text", "output format: text or json")
	if code := parseFlags(fs, args, streams); code >= 0 {
		return code
	}
	if *format != "text" && *format != "json" {
		return fail(streams, exitcode.CouldNotRun, "--format %q: want text or json", *format)
	}
	cat, all, code := loadChecks(streams, root)
	if code >= 0 {
		return code
	}
	rows := checks.Matrix(cat, all)
	problems := checks.Gate(cat, all)
	if *format == "json" {
		msgs := make([]string, 0, len(problems))
		for _, p := range problems {
			msgs = append(msgs, p.Error())
		}
		enc := json.NewEncoder(streams.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"rows": rows, "problems": msgs}); err != nil {
			return fail(streams, exitcode.CouldNotRun, "write coverage: %v", err)
		}
	} else {
		writeCoverageText(streams, rows)
	}
	for _, p := range problems {
		fmt.Fprintln(streams.ErrOut, "coverage: "+p.Error())
	}
	if len(problems) > 0 {
		return exitcode.Failed
	}
	return exitcode.OK
}

func writeCoverageText(streams IOStreams, rows []checks.Row) {
	var b strings.Builder
	covered := 0
	for _, row := range rows {
		r := row.Requirement
		fmt.Fprintf(&b, "%-8s %-62s [%s]\n", r.ID, r.Title, joinKinds(r.Verification))
		if r.NotYetCovered != "" {
			fmt.Fprintf(&b, "         NOT YET COVERED: %s\n", r.NotYetCovered)
		}
		if len(row.Checks) > 0 {
			covered++
		}
		for _, c := range row.Checks {
			scope := ""
			if len(c.Targets) > 0 {
				scope = " (targets: " + strings.Join(c.Targets, ",") + ")"
			}
			if c.Disruptive {
				scope += " (disruptive)"
			}
			fmt.Fprintf(&b, "         - %s%s  %s\n", c.ID, scope, c.Source)
		}
	}
	fmt.Fprintf(&b, "\n%d requirements, %d with checks, %d marked not yet covered\n", len(rows), covered, countMarked(rows))
	fmt.Fprint(streams.Out, b.String())
}

func joinKinds(kinds []catalog.Verification) string {
	parts := make([]string, 0, len(kinds))
	for _, k := range kinds {
		parts = append(parts, string(k))
	}
	return strings.Join(parts, ",")
}

func countMarked(rows []checks.Row) int {
	n := 0
	for _, r := range rows {
		if r.Requirement.NotYetCovered != "" {
			n++
		}
	}
	return n
}

// loadChecks finds the project root when *root is empty, then loads the catalog
// and discovers the checks under it. code is the exit code when that fails (the
// message written), -1 when it did not.
func loadChecks(streams IOStreams, root *string) (*catalog.Catalog, []checks.Check, int) {
	if *root == "" {
		r, err := project.Root()
		if err != nil {
			return nil, nil, fail(streams, exitcode.CouldNotRun, "%v", err)
		}
		*root = r
	}
	if err := safeio.CheckDir(*root); err != nil {
		return nil, nil, fail(streams, exitcode.CouldNotRun, "--root: %v", err) // could not run: nothing written
	}
	cat, err := catalog.Load()
	if err != nil {
		return nil, nil, fail(streams, exitcode.CouldNotRun, "%v", err)
	}
	all, err := checks.Discover(*root)
	if err != nil {
		return nil, nil, fail(streams, exitcode.CouldNotRun, "%v", err)
	}
	return cat, all, -1
}
