package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/redis-shared/conformance/tools/catalog"
	"github.com/redis-shared/conformance/tools/policy"
	"github.com/redis-shared/conformance/tools/project"
	"github.com/redis-shared/conformance/tools/values"
)

// runPolicy is `conform policy`: the static gate over the project's layered
// helm-values and tofu/, plus overlays, rendered manifests and a plan when given.
// Exit 0 every rule passed, 1 some rule has violations, 2 bad input.
func runPolicy(ctx context.Context, args []string, streams IOStreams) int {
	fs := newFlagSet("policy", streams)
	var overlays multiFlag
	fs.Var(&overlays, "values", "values file layered on the project's helm-values like helm -f (repeatable)")
	rendered := fs.String("rendered", "", "multi-document YAML of rendered manifests (default: out/rendered.yaml when present)")
	tofuDir := fs.String("tofu", "", "OpenTofu module folder (default: the project's tofu/)")
	plan := fs.String("plan", "", "JSON of `tofu show -json PLANFILE`")
	layering := fs.String("layering", values.LayeringHomelab, "values layering to start from: homelab or kind")
	format := fs.String("format", "text", "output: text or json")
	policiesDir := fs.String("policies", "", "folder of Rego policies (default: the project's policies/)")
	if code := parseFlags(fs, args, streams); code >= 0 {
		return code
	}
	if *format != "text" && *format != "json" {
		return fail(streams, ExitBadInput, "policy: --format %q: want text or json", *format)
	}
	root, err := project.Root()
	if err != nil {
		return fail(streams, ExitBadInput, "policy: %v", err)
	}
	projectValues, err := values.ProjectFiles(root, *layering)
	if err != nil {
		return fail(streams, ExitBadInput, "policy: --layering: %v", err)
	}
	src := policy.Sources{
		ValuesFiles: append(projectValues, overlays...),
		Rendered:    *rendered,
		TofuDir:     policyPathOr(*tofuDir, filepath.Join(root, "tofu")),
		Plan:        *plan,
		Layering:    *layering,
	}
	if src.Rendered == "" {
		// The default rendering is used only when it exists; an explicit one must.
		if def := filepath.Join(root, "out", "rendered.yaml"); policyFileExists(def) {
			src.Rendered = def
		}
	}
	cat, err := catalog.Load()
	if err != nil {
		return fail(streams, ExitBadInput, "policy: %v", err)
	}
	gate, err := policy.NewGate(ctx, policyPathOr(*policiesDir, filepath.Join(root, "policies")), cat)
	if err != nil {
		return fail(streams, ExitBadInput, "policy: %v", err)
	}
	in, err := policy.LoadInput(src)
	if err != nil {
		return fail(streams, ExitBadInput, "policy: bad input: %v", err)
	}
	run, err := gate.Evaluate(ctx, in)
	if err != nil {
		var inputErr *policy.InputError
		if errors.As(err, &inputErr) {
			return fail(streams, ExitBadInput, "policy: bad input: %v", err)
		}
		return fail(streams, ExitBadInput, "policy: %v", err)
	}
	if *format == "json" {
		enc := json.NewEncoder(streams.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(run); err != nil {
			return fail(streams, ExitBadInput, "policy: write JSON: %v", err)
		}
	} else {
		writePolicyText(streams.Out, run)
	}
	if !run.Passed() {
		return ExitFindings
	}
	return ExitOK
}

func writePolicyText(w io.Writer, run policy.Run) {
	var b strings.Builder
	for _, in := range run.Inputs {
		fmt.Fprintf(&b, "input %s\n", in)
	}
	failed := 0
	for _, r := range run.Rules {
		status := "PASS"
		if r.Status != policy.StatusPass {
			status = "FAIL"
			failed++
		}
		fmt.Fprintf(&b, "%s %-32s %-18s %s\n", status, r.Package, strings.Join(r.Requirements, ","), r.Title)
		for _, v := range r.Violations {
			fmt.Fprintf(&b, "     - %s\n", v.Message)
		}
	}
	fmt.Fprintf(&b, "%d rules: %d passed, %d failed\n", len(run.Rules), len(run.Rules)-failed, failed)
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

func policyFileExists(path string) bool {
	info, err := os.Stat(path)
	return err == nil && !info.IsDir()
}
