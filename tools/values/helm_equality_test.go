package values_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/releaseutil"
	"sigs.k8s.io/yaml"

	"github.com/redis-shared/conformance/tools/chart"
	"github.com/redis-shared/conformance/tools/project"
	"github.com/redis-shared/conformance/tools/render"
	"github.com/redis-shared/conformance/tools/values"
)

// helmBinEnv names the helm CLI at the version of helm.sh/helm/v3 in go.mod
// (`make test-chart` builds it into bin/ and sets it).
const helmBinEnv = "HELM_BIN"

// dumpTemplate is added to a copy of the chart so `helm template` prints .Values.
const dumpTemplate = `apiVersion: v1
kind: ConfigMap
metadata:
  name: values-dump
data:
  values.json: {{ toJson .Values | quote }}
`

// equalityCase is one layering: files merged in order, like helm -f.
type equalityCase struct {
	name  string
	files []string
	// absent are paths the coalesced tree must not have (a null deletes the chart default).
	absent []string
}

// TestHelmTemplateEquality proves that the tree every consumer reads (MergeFiles +
// CoalesceDir) is the .Values `helm template` gives the pinned chart, and that
// render.Manifests renders the same objects, for the project's layerings and for
// overlays with null, list replacement and nested maps.
func TestHelmTemplateEquality(t *testing.T) {
	helmBin := os.Getenv(helmBinEnv)
	if helmBin == "" {
		t.Skipf("%s is not set: `make test-chart` builds the helm CLI at the pinned version and runs this test", helmBinEnv)
	}
	ctx := context.Background()
	root, err := project.Root()
	require.NoError(t, err)
	pinned, err := chart.Ensure(ctx, root)
	require.NoError(t, err)

	// A copy of the chart with one more template that prints .Values.
	dumpChart := filepath.Join(t.TempDir(), "redis")
	require.NoError(t, os.CopyFS(dumpChart, os.DirFS(pinned.Dir)))
	require.NoError(t, os.WriteFile(filepath.Join(dumpChart, "templates", "zz-values-dump.yaml"), []byte(dumpTemplate), 0o644))

	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
		return path
	}
	homelab, err := values.ProjectFiles(root, values.LayeringHomelab)
	require.NoError(t, err)
	kind, err := values.ProjectFiles(root, values.LayeringKind)
	require.NoError(t, err)
	nulls := write("nulls.yaml", "commonConfiguration: null\nmaster:\n  persistence:\n    storageClass: null\nmetrics:\n  serviceMonitor:\n    interval: null\n")
	nullThenSet := write("null-then-set.yaml", "networkPolicy:\n  extraIngress: null\n  metrics: null\n")
	setAgain := write("set-again.yaml", "networkPolicy:\n  metrics:\n    allowExternal: true\n")
	lists := write("lists.yaml", "lanService:\n  sourceRanges: [192.168.4.0/25, 192.168.4.128/25]\nmaster:\n  extraEnvVars: [{name: A, value: a}, {name: B, value: b}]\n")
	listsAgain := write("lists-again.yaml", "master:\n  extraEnvVars: [{name: C, value: c}]\nmetrics:\n  prometheusRule:\n    rules: []\n")
	nested := write("nested.yaml", "master:\n  resources:\n    limits:\n      cpu: \"2\"\n  podLabels:\n    team:\n      deep: x\nglobal:\n  security:\n    allowInsecureImages: true\n  imageRegistry: mirror.example\n")
	scalarOverMap := write("scalar-over-map.yaml", "master:\n  podAnnotations: {}\n  nodeSelector: {disk: ssd}\n")

	cases := []equalityCase{
		{"homelab", homelab, nil},
		{"kind", kind, nil},
		{"null deletes the chart default", append(append([]string{}, homelab...), nulls), []string{"commonConfiguration", "master.persistence.storageClass", "metrics.serviceMonitor.interval"}},
		{"null then set again in a later file", append(append([]string{}, homelab...), nullThenSet, setAgain), nil},
		{"lists replace, never merge", append(append([]string{}, homelab...), lists, listsAgain), nil},
		{"nested maps merge key by key", append(append([]string{}, kind...), nested, scalarOverMap), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			user, err := values.MergeFiles(tc.files...)
			require.NoError(t, err)
			ours, err := values.CoalesceDir(pinned.Dir, user)
			require.NoError(t, err)
			for _, path := range tc.absent {
				_, err := ours.Lookup(path)
				assert.ErrorIs(t, err, values.ErrNotFound, path)
			}

			dumped := helmTemplate(t, helmBin, dumpChart, tc.files, "--show-only", "templates/zz-values-dump.yaml")
			require.Len(t, dumped, 1)
			var theirs map[string]any
			require.NoError(t, json.Unmarshal([]byte(dumped[0]["data"].(map[string]any)["values.json"].(string)), &theirs))
			assert.Equal(t, theirs, map[string]any(ours), "coalesced values differ from helm template's .Values")

			manifests, err := render.Manifests(context.Background(), pinned.Dir, user, render.Options{})
			require.NoError(t, err)
			mine := make([]map[string]any, 0, len(manifests))
			for _, m := range manifests {
				mine = append(mine, m.Object)
			}
			assert.Equal(t, byID(helmTemplate(t, helmBin, pinned.Dir, tc.files)), byID(mine), "rendered objects differ from helm template's")
		})
	}
}

// helmTemplate runs the helm CLI like the deployment's install, client-side.
func helmTemplate(t *testing.T, helmBin, chartDir string, files []string, extra ...string) []map[string]any {
	t.Helper()
	args := []string{"template", project.Release, chartDir, "--namespace", project.Namespace}
	for _, api := range render.DefaultAPIVersions() {
		args = append(args, "--api-versions", api)
	}
	for _, f := range files {
		args = append(args, "-f", f)
	}
	args = append(args, extra...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, helmBin, args...)
	// Offline and isolated from any helm configuration on the machine.
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home, "HELM_CONFIG_HOME="+home, "HELM_DATA_HOME="+home)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "helm %v: %s", args, stderr.String())
	var out []map[string]any
	for _, doc := range releaseutil.SplitManifests(stdout.String()) {
		var obj map[string]any
		require.NoError(t, yaml.Unmarshal([]byte(doc), &obj))
		if len(obj) > 0 {
			out = append(out, normalize(t, obj))
		}
	}
	return out
}

func normalize(t *testing.T, obj map[string]any) map[string]any {
	t.Helper()
	raw, err := json.Marshal(obj)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(raw, &out))
	return out
}

// byID keys objects by kind/namespace/name, so order does not matter.
func byID(objs []map[string]any) map[string]any {
	out := map[string]any{}
	for _, o := range objs {
		meta, _ := o["metadata"].(map[string]any)
		id, _ := json.Marshal([]any{o["kind"], meta["namespace"], meta["name"]})
		out[string(id)] = o
	}
	return out
}
