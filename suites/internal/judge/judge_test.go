package judge

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redis-shared/conformance/tools/catalog"
	"github.com/redis-shared/conformance/tools/loadgen"
)

// Each judged figure at its bound passes and just past it fails, with the catalog's
// own numbers.
func TestEachJudgedFigureFailsJustPastItsBound(t *testing.T) {
	cat := catalog.MustLoad()
	sustained := func(rate float64, mutate ...func(*loadgen.Result)) func() []error {
		return func() []error {
			res := loadgen.Result{TargetRate: 10500, AchievedRate: rate, Requests: 315000, Latency: loadgen.Latency{P95: 1.0}}
			for _, m := range mutate {
				m(&res)
			}
			return Sustained(cat, res, 2.0)
		}
	}
	tests := []struct {
		name   string
		judge  func() []error
		passes bool
	}{
		{"SC-006 achieved 10000 ops/s over the window", sustained(10000), true},
		{"SC-006 achieved 9999.6 ops/s: a shortfall, no allowance", sustained(9999.6), false},
		{"SC-006 p95 at the degradation bound", sustained(10000, func(r *loadgen.Result) { r.Latency.P95 = 2.0 }), true},
		{"SC-006 p95 just past the degradation bound", sustained(10000, func(r *loadgen.Result) { r.Latency.P95 = 2.001 }), false},
		{"SC-006 one error", sustained(10000, func(r *loadgen.Result) { r.Errors = 1 }), false},
		{"SC-006 one unsent request", sustained(10000, func(r *loadgen.Result) { r.Unsent = 1 }), false},
		{"SC-002 replica down, no failure through the master Service", func() []error { return ReplicaDown(cat, 500, 0) }, true},
		{"SC-002 replica down, one failure", func() []error { return ReplicaDown(cat, 500, 1) }, false},
		{"SC-002 replica down, no request at all", func() []error { return ReplicaDown(cat, 0, 0) }, false},
		{"SC-002 master down, writes back at the bound (40 s)", func() []error { return MasterDown(cat, 40*time.Second) }, true},
		{"SC-002 master down, writes back just past the bound", func() []error { return MasterDown(cat, 40*time.Second+time.Millisecond) }, false},
		{"SC-005 max age 15 s over 60 s, refresh 15 s", func() []error { return Freshness(cat, 15*time.Second, 60*time.Second, 15*time.Second, 60) }, true},
		{"SC-005 max age just past 15 s", func() []error {
			return Freshness(cat, 15*time.Second+time.Millisecond, 60*time.Second, 15*time.Second, 60)
		}, false},
		{"SC-005 observed just under a minute", func() []error { return Freshness(cat, 10*time.Second, 59*time.Second, 15*time.Second, 59) }, false},
		{"SC-005 dashboard refresh just past 15 s", func() []error { return Freshness(cat, 10*time.Second, 60*time.Second, 16*time.Second, 60) }, false},
		{"SC-008 every attempt rejected", func() []error { return Rejected(cat, 6000, 6000) }, true},
		{"SC-008 one attempt of 6000 not rejected", func() []error { return Rejected(cat, 6000, 5999) }, false},
		{"SC-008 no attempt", func() []error { return Rejected(cat, 0, 0) }, false},
		{"SC-005 a single observation", func() []error { return Freshness(cat, 10*time.Second, 60*time.Second, 15*time.Second, 1) }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			errs := tc.judge()
			if tc.passes {
				assert.Empty(t, errs)
			} else {
				assert.NotEmpty(t, errs)
			}
		})
	}
}

func TestOfferedRateIsAboveTheThreshold(t *testing.T) {
	rate, err := OfferedRate(catalog.MustLoad())
	require.NoError(t, err)
	assert.InDelta(t, 10500, rate, 0.001)
}
