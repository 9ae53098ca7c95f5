package render

import (
	"strings"
	"testing"
)

// The manifest stream comes from chart templates the project does not control (the
// Bitnami chart, extraDeploy text from values): splitting and decoding it must never
// panic, and every object it accepts names its kind and name.
func FuzzSplitAndParse(f *testing.F) {
	f.Add("---\n# Source: redis/templates/svc.yaml\napiVersion: v1\nkind: Service\nmetadata:\n  name: a\n")
	f.Add("---\n# Source: x\n\n---\n# Source: y\n- a\n- b\n")
	f.Add("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [1]}\n")
	f.Fuzz(func(t *testing.T, stream string) {
		for _, doc := range splitDocuments(stream) {
			m, ok, err := parseManifest(doc)
			if err != nil || !ok {
				continue
			}
			if m.Kind == "" || m.Name == "" || m.APIVersion == "" {
				t.Fatalf("accepted %q without kind, name or apiVersion", doc.body)
			}
			if strings.HasPrefix(m.Body, "# Source: ") {
				t.Fatalf("body kept its source line: %q", m.Body)
			}
		}
	})
}
