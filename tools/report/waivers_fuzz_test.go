package report

import (
	"testing"

	"github.com/redis-shared/conformance/tools/catalog"
)

// FuzzParseWaivers: any waivers file parses or fails with an error; none panics.
func FuzzParseWaivers(f *testing.F) {
	cat, err := catalog.Load()
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{"", "waivers: []\n", "- requirement: FR-004\n  reason: x\n  expires: 2027-01-01\n", "\x00\xff", "[[[["} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		_, _ = ParseWaivers(raw, cat)
	})
}
