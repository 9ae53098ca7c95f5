// Package edgecases holds the spec's edge cases as live checks: Redis at its memory
// limit, every connection taken, a network partition between master and replica, a
// password rotation with the monitoring and health checks that use the password, the
// RedisDown fire drill and the liveness probe of every instance. Each check puts the
// deployment back as it found it and leaves no key behind (harness cleanup).
package edgecases

import (
	"os"
	"testing"

	"sigs.k8s.io/e2e-framework/pkg/env"

	"github.com/redis-shared/conformance/suites/internal/harness"
)

// testenv is the e2e-framework environment; harness.Main picks the target once.
var testenv env.Environment

func TestMain(m *testing.M) {
	os.Exit(harness.Main(m, "edgecases", &testenv))
}
