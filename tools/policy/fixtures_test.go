package policy_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/redis-shared/conformance/tools/policy"
	"github.com/redis-shared/conformance/tools/project"
	"github.com/redis-shared/conformance/tools/values"
)

// breakage is one hand-written bad fixture: a change to the good input and the
// requirements that must then fail, no more and no fewer.
type breakage struct {
	Name   string
	Expect []string         `json:"expect"`
	Values map[string]any   `json:"values"`
	Patch  []map[string]any `json:"patch"`
}

func projectRoot(t testing.TB) string {
	t.Helper()
	root, err := project.Root()
	require.NoError(t, err)
	return root
}

func goodInput(t testing.TB) policy.Input {
	t.Helper()
	in, err := policy.GoodFixture(projectRoot(t))
	require.NoError(t, err)
	return in
}

func loadBreakages(t testing.TB) []breakage {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(projectRoot(t), "fixtures", "policy", "bad", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	out := make([]breakage, 0, len(files))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		var b breakage
		require.NoError(t, yaml.UnmarshalStrict(raw, &b), f)
		b.Name = strings.TrimSuffix(filepath.Base(f), ".yaml")
		require.NotEmpty(t, b.Expect, "%s: expect is empty", f)
		sort.Strings(b.Expect)
		out = append(out, b)
	}
	return out
}

// apply layers the values overlay like `helm -f` and then the JSON patch.
func (b breakage) apply(good policy.Input) (policy.Input, error) {
	in := good
	if b.Values != nil {
		in.Values = values.Merge(values.Tree(good.Values), values.Tree(b.Values))
	}
	doc := in.Document()
	if len(b.Patch) > 0 {
		raw, err := json.Marshal(doc)
		if err != nil {
			return policy.Input{}, err
		}
		ops, err := json.Marshal(b.Patch)
		if err != nil {
			return policy.Input{}, err
		}
		patch, err := jsonpatch.DecodePatch(ops)
		if err != nil {
			return policy.Input{}, fmt.Errorf("%s: decode patch: %w", b.Name, err)
		}
		if raw, err = patch.Apply(raw); err != nil {
			return policy.Input{}, fmt.Errorf("%s: apply patch: %w", b.Name, err)
		}
		doc = map[string]any{}
		if err := json.Unmarshal(raw, &doc); err != nil {
			return policy.Input{}, err
		}
	}
	out := policy.Input{Layering: good.Layering, Sources: []string{"fixture " + b.Name}}
	out.Values, _ = doc["values"].(map[string]any)
	out.Manifests, _ = doc["manifests"].([]any)
	out.Tofu, _ = doc["tofu"].(map[string]any)
	out.Plan, _ = doc["plan"].(map[string]any)
	return out, nil
}
