package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/redis-shared/conformance/tools/catalog"
	"github.com/redis-shared/conformance/tools/exitcode"
	"github.com/redis-shared/conformance/tools/policy"
	"github.com/redis-shared/conformance/tools/project"
	"github.com/redis-shared/conformance/tools/values"
)

// runPolicy is `conform policy`: the static gate over the project's layered
// helm-values (merged by helm and coalesced with the pinned chart), the manifests the
// pinned chart renders from them on this very run, tofu/, and a plan when given.
// Exit 0 every rule passed, 1 some rule failed or could not run, 2 bad input.
func runPolicy(ctx context.Context, args []string, streams IOStreams) int {
	fs := newFlagSet("policy", streams)
	var overlays multiFlag
	fs.Var(&overlays, "values", "values file layered on the project's helm-values like helm -f (repeatable)")
	rendered := fs.String("rendered", "", "judge this multi-document YAML instead of rendering the chart (not with --values)")
	chartDir := fs.String("chart", "", "render this copy of the chart (default: the pinned chart of helm-values/chart.lock)")
	tofuDir := fs.String("tofu", "", "OpenTofu module folder (default: the project's tofu/)")
	plan := fs.String("plan", "", "JSON of `tofu show -json PLANFILE`")
	layering := fs.String("layering", values.LayeringHomelab, "values layering to start from: homelab or kind")
	format := fs.String("format", "text", "output: text or json")
	policiesDir := fs.String("policies", "", "folder of Rego policies (default: the project's policies/)")
	if code := parseFlags(fs, args, streams); code >= 0 {
		return code
	}
	if *format != "text" && *format != "json" {
		return fail(streams, exitcode.CouldNotRun, "policy: --format %q: want text or json", *format)
	}
	root, err := project.Root()
	if err != nil {
		return fail(streams, exitcode.CouldNotRun, "policy: %v", err)
	}
	if _, err := values.ProjectFiles(root, *layering); err != nil {
		return fail(streams, exitcode.CouldNotRun, "policy: --layering: %v", err)
	}
	src := policy.ProjectSources{
		Root:     root,
		Layering: *layering,
		Overlays: overlays,
		ChartDir: *chartDir,
		Rendered: *rendered,
		TofuDir:  policyPathOr(*tofuDir, filepath.Join(root, "tofu")),
		Plan:     *plan,
	}
	cat, err := catalog.Load()
	if err != nil {
		return fail(streams, exitcode.CouldNotRun, "policy: %v", err)
	}
	gate, err := policy.NewGate(ctx, policyPathOr(*policiesDir, filepath.Join(root, "policies")), cat)
	if err != nil {
		return fail(streams, exitcode.CouldNotRun, "policy: %v", err)
	}
	in, err := policy.LoadProjectInput(ctx, src)
	if err != nil {
		return fail(streams, exitcode.CouldNotRun, "policy: bad input: %v", err)
	}
	run, err := gate.Evaluate(ctx, in)
	if err != nil {
		var inputErr *policy.InputError
		if errors.As(err, &inputErr) {
			return fail(streams, exitcode.CouldNotRun, "policy: bad input: %v", err)
		}
		return fail(streams, exitcode.CouldNotRun, "policy: %v", err)
	}
	if *format == "json" {
		enc := json.NewEncoder(streams.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(run); err != nil {
			return fail(streams, exitcode.CouldNotRun, "policy: write JSON: %v", err)
		}
	} else {
		writePolicyText(streams.Out, run)
	}
	if !run.Passed() {
		return exitcode.Failed
	}
	return exitcode.OK
}

func writePolicyText(w io.Writer, run policy.Run) {
	var b strings.Builder
	for _, in := range run.Inputs {
		fmt.Fprintf(&b, "input %s\n", in)
	}
	failed, notRun := 0, 0
	for _, r := range run.Rules {
		status := "PASS"
		switch r.Status {
		case policy.StatusPass:
		case policy.StatusNotRun:
			status = "NRUN"
			notRun++
		default:
			status = "FAIL"
			failed++
		}
		fmt.Fprintf(&b, "%s %-32s %-18s %s\n", status, r.Package, strings.Join(r.Requirements, ","), r.Title)
		if r.Reason != "" {
			fmt.Fprintf(&b, "     not run: %s\n", r.Reason)
		}
		for _, v := range r.Violations {
			fmt.Fprintf(&b, "     - %s\n", v.Message)
		}
		if r.Status == policy.StatusPass {
			for _, e := range r.Evidence {
				fmt.Fprintf(&b, "     judged: %s\n", e)
			}
		}
	}
	fmt.Fprintf(&b, "%d rules: %d passed, %d failed, %d not run\n", len(run.Rules), len(run.Rules)-failed-notRun, failed, notRun)
	if ids := run.Failed(); len(ids) > 0 {
		fmt.Fprintf(&b, "failing requirements: %s\n", strings.Join(ids, ", "))
	}
	fmt.Fprint(w, b.String())
}

func policyPathOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
