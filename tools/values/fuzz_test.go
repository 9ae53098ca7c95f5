package values

import "testing"

// FuzzParse: any bytes a user hands in as a values file parse or fail with an error;
// none panics.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{"", "a: 1\n", "- x\n", "a: &x [*x]\n", "master:\n  service:\n    type: LoadBalancer\n", "\x00\xff", "a: {b: [1, {c: d}]}"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		tree, err := Parse(raw)
		if err == nil && tree == nil {
			t.Fatal("nil tree without an error")
		}
	})
}
