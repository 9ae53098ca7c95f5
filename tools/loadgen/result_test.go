package loadgen

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestRateAccuracyAndSteadySeconds(t *testing.T) {
	r := Result{
		TargetRate: 10_000, AchievedRate: 9_950, DurationSeconds: 4 * time.Second.Seconds(),
		PerSecond: []Second{{Second: 0, Ops: 50}, {Second: 1, Ops: 10_000}, {Second: 2, Ops: 9_800}, {Second: 3, Ops: 7}},
	}

	lowest, highest := r.MinMaxSecondOps()

	assert.InDelta(t, 0.995, r.RateAccuracy(), 1e-9)
	assert.Len(t, r.SteadySeconds(), 2)
	assert.Equal(t, int64(9_800), lowest)
	assert.Equal(t, int64(10_000), highest)
	assert.Equal(t, 0.0, Result{AchievedRate: 5}.RateAccuracy())
}
