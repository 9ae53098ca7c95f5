package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redis-shared/conformance/tools/catalog"
	"github.com/redis-shared/conformance/tools/exitcode"
	"github.com/redis-shared/conformance/tools/project"
	"github.com/redis-shared/conformance/tools/report"
)

// twoContexts is a kubeconfig with a current context and another one; nothing is
// contacted (the servers are never dialled by preflight).
const twoContexts = `apiVersion: v1
kind: Config
current-context: homelab
clusters:
- name: homelab
  cluster: {server: "https://127.0.0.1:16443"}
- name: kind
  cluster: {server: "https://127.0.0.1:26443"}
users:
- name: u
  user: {token: "t"}
contexts:
- name: homelab
  context: {cluster: homelab, user: u}
- name: kind-redis-shared
  context: {cluster: kind, user: u}
`

func runCmd(t *testing.T, run func(context.Context, []string, IOStreams) int, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	return code, out.String(), errOut.String()
}

func TestPreflight(t *testing.T) {
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	require.NoError(t, os.WriteFile(kubeconfig, []byte(twoContexts), 0o600))
	facts := filepath.Join(dir, "facts.json")

	t.Run("kube: server, context and namespace first", func(t *testing.T) {
		code, out, errOut := runCmd(t, runPreflight, "--target", "kube", "--kubeconfig", kubeconfig, "--facts", facts)
		assert.Equal(t, exitcode.OK, code, errOut)
		assert.Equal(t, "conformance: target kube: API server https://127.0.0.1:16443, context homelab, namespace redis; disruptive checks: no (DISRUPTIVE=1 CONFIRM=homelab to run them)\n", out)
	})
	t.Run("--context picks another context", func(t *testing.T) {
		code, out, _ := runCmd(t, runPreflight, "--target", "kube", "--kubeconfig", kubeconfig, "--context", "kind-redis-shared")
		assert.Equal(t, exitcode.OK, code)
		assert.Contains(t, out, "API server https://127.0.0.1:26443, context kind-redis-shared,")
	})
	refusals := []struct {
		name string
		args []string
		want string
	}{
		{"disruptive without CONFIRM", []string{"--disruptive"}, `conform: preflight: DISRUPTIVE=1 deletes the Redis pods of context "homelab" (https://127.0.0.1:16443): confirm with CONFIRM=homelab`},
		{"CONFIRM names another context", []string{"--disruptive", "--confirm", "kind-redis-shared"}, `conform: preflight: CONFIRM=kind-redis-shared does not name the context about to be disrupted, "homelab" (https://127.0.0.1:16443)`},
		{"unknown context", []string{"--context", "prod"}, `has no context "prod"`},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, runPreflight, append([]string{"--target", "kube", "--kubeconfig", kubeconfig}, tc.args...)...)
			assert.Equal(t, exitcode.CouldNotRun, code)
			assert.Contains(t, errOut, tc.want)
			assert.Equal(t, 1, strings.Count(errOut, "\n"), "one line: %q", errOut)
			assert.Empty(t, out, "nothing else is said before a refusal")
		})
	}
	t.Run("confirmed disruptive run: the facts for the report", func(t *testing.T) {
		code, out, errOut := runCmd(t, runPreflight, "--target", "kube", "--kubeconfig", kubeconfig, "--context", "kind-redis-shared",
			"--disruptive", "--confirm", "kind-redis-shared", "--static=false", "--values", "a.yaml", "--values", "b.yaml", "--facts", facts)
		require.Equal(t, exitcode.OK, code, errOut)
		assert.Contains(t, out, "disruptive checks: YES (Redis pods deleted with grace 0, confirmed for context kind-redis-shared)")
		got, err := report.ReadFacts(facts)
		require.NoError(t, err)
		assert.Equal(t, map[string]string{
			report.FactKubeServer: "https://127.0.0.1:26443", report.FactKubeContext: "kind-redis-shared", report.FactKubeNamespace: "redis",
			report.FactDisruptive: "on", report.FactStatic: "off", report.FactValues: "a.yaml b.yaml",
		}, got)
	})
	t.Run("sandbox needs no kubeconfig", func(t *testing.T) {
		code, out, _ := runCmd(t, runPreflight, "--target", "sandbox", "--disruptive")
		assert.Equal(t, exitcode.OK, code)
		assert.Contains(t, out, "conformance: target sandbox (this machine); disruptive checks: yes")
	})
}

func TestCutoverGateExceptCutoverIsReplacedByWaivers(t *testing.T) {
	code, out, errOut := runCmd(t, runCutover, "apply", "--kubeconfig", filepath.Join(t.TempDir(), "none"), "--report", "r.json", "--gate", "except-cutover")
	assert.Equal(t, exitcode.CouldNotRun, code)
	assert.Contains(t, errOut, "--gate except-cutover is replaced by waivers")
	assert.Equal(t, 1, strings.Count(errOut, "\n"))
	assert.Empty(t, out)
}

// conform report with a waivers file, end to end on the project's own catalog and
// checks: nothing ran, so every requirement is unproven; waiving all of them is GO
// with every one WAIVED; one expired waiver is NO-GO; a malformed file is exit 2.
func TestReportWaiversEndToEnd(t *testing.T) {
	root, err := project.Root()
	require.NoError(t, err)
	cat, err := catalog.Load()
	require.NoError(t, err)
	dir := t.TempDir()
	waivers := func(name string, expires func(id string) string) string {
		var b strings.Builder
		b.WriteString("waivers:\n")
		for _, r := range cat.Requirements {
			fmt.Fprintf(&b, "  - requirement: %s\n    reason: test\n    owner: op\n    expires: %s\n", r.ID, expires(r.ID))
		}
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
		return path
	}
	valid := waivers("valid.yaml", func(string) string { return "2099-12-31" })
	oneExpired := waivers("expired.yaml", func(id string) string {
		if id == "SC-001" {
			return "2020-01-01"
		}
		return "2099-12-31"
	})
	malformed := filepath.Join(dir, "malformed.yaml")
	require.NoError(t, os.WriteFile(malformed, []byte("waivers:\n  - requirement: SC-001\n    reason: r\n    owner: o\n    expires: next week\n"), 0o644))

	out := filepath.Join(dir, "out")
	code, stdout, errOut := runCmd(t, runReport, "--root", root, "--out", out, "--commit", "test", "--waivers", valid)
	require.Equal(t, exitcode.OK, code, errOut)
	assert.True(t, strings.HasPrefix(stdout, "GO: "), stdout)
	assert.Contains(t, stdout, fmt.Sprintf("0 passed, 0 failed, 0 skipped, 0 not run, %d waived", len(cat.Requirements)))
	rep, err := report.ReadReport(out)
	require.NoError(t, err)
	assert.Equal(t, len(cat.Requirements), rep.Summary.Waived)
	_, err = os.Stat(filepath.Join(out, "report.html"))
	assert.NoError(t, err, "report.html is written with the others")

	code, stdout, _ = runCmd(t, runReport, "--root", root, "--out", out, "--commit", "test", "--waivers", oneExpired)
	assert.Equal(t, exitcode.Failed, code)
	assert.Contains(t, stdout, "\nNO-GO: ")
	assert.Contains(t, stdout, "0 passed, 1 failed, 0 skipped, 0 not run, 27 waived")
	assert.Contains(t, stdout, "FAIL    SC-001")
	assert.Contains(t, stdout, "waiver expired on 2020-01-01")

	code, stdout, errOut = runCmd(t, runReport, "--root", root, "--out", out, "--commit", "test", "--waivers", malformed)
	assert.Equal(t, exitcode.CouldNotRun, code)
	assert.Equal(t, "conform: waivers file "+malformed+": waivers[0] (SC-001): expires \"next week\": want a date YYYY-MM-DD\n", errOut)
	assert.Empty(t, stdout)
}

func TestReportDiffOfTwoRuns(t *testing.T) {
	root, err := project.Root()
	require.NoError(t, err)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	code, _, errOut := runCmd(t, runReport, "--root", root, "--out", a, "--commit", "test", "--history")
	require.Equal(t, exitcode.Failed, code, errOut)
	code, _, errOut = runCmd(t, runReport, "--root", root, "--out", b, "--commit", "test")
	require.Equal(t, exitcode.Failed, code, errOut)
	code, stdout, errOut := runCmd(t, runReport, "--diff", filepath.Join(a, report.LatestLink), filepath.Join(b, "report.json"))
	require.Equal(t, exitcode.OK, code, errOut)
	assert.Contains(t, stdout, "no status flip and no changed latency or rate figure")

	code, _, errOut = runCmd(t, runReport, "--diff", a)
	assert.Equal(t, exitcode.CouldNotRun, code)
	assert.Contains(t, errOut, "want two runs")
	code, _, errOut = runCmd(t, runReport, "--diff", a, filepath.Join(dir, "none"))
	assert.Equal(t, exitcode.CouldNotRun, code)
	assert.Equal(t, 1, strings.Count(errOut, "\n"), errOut)
	var js json.RawMessage
	raw, err := os.ReadFile(filepath.Join(b, "report.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &js))
}
