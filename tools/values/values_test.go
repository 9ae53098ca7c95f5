package values

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMergeFollowsHelmSemantics(t *testing.T) {
	tests := []struct {
		name    string
		base    Tree
		overlay Tree
		want    Tree
	}{
		{"maps merge key by key", Tree{"a": map[string]any{"x": 1.0, "y": 2.0}}, Tree{"a": map[string]any{"y": 3.0}}, Tree{"a": map[string]any{"x": 1.0, "y": 3.0}}},
		{"lists are replaced", Tree{"l": []any{"a", "b"}}, Tree{"l": []any{"c"}}, Tree{"l": []any{"c"}}},
		{"null is kept until coalescing", Tree{"a": 1.0, "b": 2.0}, Tree{"a": nil}, Tree{"a": nil, "b": 2.0}},
		{"scalar replaces map", Tree{"a": map[string]any{"x": 1.0}}, Tree{"a": "s"}, Tree{"a": "s"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Merge(tc.base, tc.overlay))
		})
	}
}

func TestMergeLeavesInputsAlone(t *testing.T) {
	base := Tree{"a": map[string]any{"x": 1.0}}
	Merge(base, Tree{"a": map[string]any{"x": 2.0}})
	assert.Equal(t, Tree{"a": map[string]any{"x": 1.0}}, base)
}

func TestLoadFilesLayersInOrder(t *testing.T) {
	dir := t.TempDir()
	first := filepath.Join(dir, "a.yaml")
	second := filepath.Join(dir, "b.yaml")
	require.NoError(t, os.WriteFile(first, []byte("replica:\n  replicaCount: 3\nauth:\n  enabled: true\n"), 0o600))
	require.NoError(t, os.WriteFile(second, []byte("replica:\n  replicaCount: 1\n"), 0o600))

	tree, err := LoadFiles(first, second)
	require.NoError(t, err)
	count, err := tree.Int("replica.replicaCount", 0)
	require.NoError(t, err)
	assert.Equal(t, 1, count)
	enabled, err := tree.Bool("auth.enabled", false)
	require.NoError(t, err)
	assert.True(t, enabled)
}

func TestParseRejectsNonMapping(t *testing.T) {
	_, err := Parse([]byte("- a\n- b\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "want a mapping")
}

func TestTypedAccessorsNameThePath(t *testing.T) {
	tree := Tree{"auth": map[string]any{"enabled": "yes"}}
	_, err := tree.Bool("auth.enabled", false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "auth.enabled")
}

func TestEffectiveRedisConfigRoleLinesWin(t *testing.T) {
	tree := Tree{
		"commonConfiguration": "appendonly yes\nappendfsync everysec\n# comment\nmaxmemory 256mb",
		"master":              map[string]any{"configuration": "appendfsync always"},
	}
	cfg, err := tree.EffectiveRedisConfig("master")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"appendonly": "yes", "appendfsync": "always", "maxmemory": "256mb"}, cfg)
}

// Merge (in memory) layers exactly like helm's MergeValues over files.
func TestMergeEqualsHelmMergeValues(t *testing.T) {
	tests := []struct{ name, base, overlay string }{
		{"nested maps", "a: {x: 1, y: {z: 2}}\n", "a: {y: {w: 3}}\n"},
		{"null kept", "a: {x: 1}\nb: 2\n", "a: null\nb: null\n"},
		{"lists replace", "l: [1, 2]\n", "l: [3]\n"},
		{"map over scalar", "a: s\n", "a: {x: 1}\n"},
		{"empty overlay", "a: 1\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			base, overlay := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
			require.NoError(t, os.WriteFile(base, []byte(tc.base), 0o600))
			require.NoError(t, os.WriteFile(overlay, []byte(tc.overlay), 0o600))
			helmMerged, err := MergeFiles(base, overlay)
			require.NoError(t, err)
			baseTree, err := Parse([]byte(tc.base))
			require.NoError(t, err)
			overlayTree, err := Parse([]byte(tc.overlay))
			require.NoError(t, err)
			assert.Equal(t, helmMerged, Merge(baseTree, overlayTree))
		})
	}
}

func TestMergeFilesRefusesWhatIsNotARegularFile(t *testing.T) {
	_, err := MergeFiles(t.TempDir())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not a regular file")
}
