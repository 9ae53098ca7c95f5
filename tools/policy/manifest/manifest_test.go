package manifest_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redis-shared/conformance/tools/policy/manifest"
)

func TestParseManifests(t *testing.T) {
	cases := []struct {
		name    string
		raw     string
		want    int
		wantErr string
	}{
		{"two documents and blanks", "---\napiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\n\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n", 2, ""},
		{"list is expanded", "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Service, metadata: {name: a}}\n", 1, ""},
		{"list item without name", "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Service, metadata: {}}\n", 0, "item 0: Service without metadata.name"},
		{"no metadata", "apiVersion: v1\nkind: Service\n", 0, "Service without metadata"},
		{"nothing", "# only a comment\n", 0, "no Kubernetes objects"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := manifest.Parse([]byte(tc.raw))
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Len(t, objs, tc.want)
		})
	}
}

// Parse reads outside input: it must never panic, and whatever it accepts is
// a list of named objects.
func FuzzParse(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: Service\nmetadata: {name: a}\n"))
	f.Add([]byte("kind: List\nitems: [1]\n"))
	f.Add([]byte("---\n- a\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		objs, err := manifest.Parse(raw)
		if err != nil {
			return
		}
		require.NotEmpty(t, objs)
		for _, o := range objs {
			m, ok := o.(map[string]any)
			require.True(t, ok)
			require.NotEmpty(t, m["kind"])
		}
	})
}
