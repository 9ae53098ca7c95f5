package cutover

import (
	"os"
	"testing"

	"sigs.k8s.io/e2e-framework/pkg/env"

	"github.com/redis-shared/conformance/suites/internal/harness"
)

// testenv is the e2e-framework environment; harness.Main picks the target once.
var testenv env.Environment

func TestMain(m *testing.M) {
	os.Exit(harness.Main(m, "cutover", &testenv))
}
