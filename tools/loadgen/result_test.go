package loadgen

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// resultOf runs a closed-loop fake so that the result carries real histograms.
func resultOf(t *testing.T, requests int64) Result {
	t.Helper()
	cfg := baseConfig(ClosedLoop)
	cfg.Requests = requests
	res, err := Run(t.Context(), cfg, &fakeDialer{})
	require.NoError(t, err)
	return res
}

func TestMergeAddsCountsAndRatesAndMergesHistograms(t *testing.T) {
	a, b := resultOf(t, 300), resultOf(t, 500)

	merged, err := Merge(a, b)

	require.NoError(t, err)
	assert.Equal(t, int64(800), merged.Requests)
	assert.Equal(t, a.Sets+b.Sets, merged.Sets)
	assert.InDelta(t, a.AchievedRate+b.AchievedRate, merged.AchievedRate, 1e-6)
	assert.Equal(t, a.Connections+b.Connections, merged.Connections)
	assert.Equal(t, int64(800), merged.LatencyHistogram.Count())
	assert.GreaterOrEqual(t, merged.Latency.Max, max(a.Latency.Max, b.Latency.Max))
	var perSecond int64
	for _, s := range merged.PerSecond {
		perSecond += s.Ops
	}
	assert.Equal(t, int64(800), perSecond)
}

func TestMergeSurvivesAJSONRoundTrip(t *testing.T) {
	a := resultOf(t, 200)
	encoded, err := json.Marshal(a)
	require.NoError(t, err)
	var decoded Result
	require.NoError(t, json.Unmarshal(encoded, &decoded))

	merged, err := Merge(decoded, decoded)

	require.NoError(t, err)
	assert.Equal(t, int64(400), merged.Requests)
	assert.Equal(t, a.Latency.Max, merged.Latency.Max)
}

func TestMergeRefusesWhatItCannotMergeExactly(t *testing.T) {
	a := resultOf(t, 10)
	noHistogram := a
	noHistogram.LatencyHistogram = nil
	otherMode := a
	otherMode.Mode = OpenLoop

	_, errEmpty := Merge()
	_, errHist := Merge(a, noHistogram)
	_, errMode := Merge(a, otherMode)

	assert.ErrorContains(t, errEmpty, "at least one")
	assert.ErrorContains(t, errHist, "histograms missing")
	assert.ErrorContains(t, errMode, "mode")
}

func TestMergeRejectsACorruptHistogram(t *testing.T) {
	a := resultOf(t, 10)
	corrupt := a
	corrupt.LatencyHistogram = &Histogram{LowestMicros: 1, HighestMicros: 1000, SignificantFigures: 2, Buckets: [][2]int64{{1 << 40, 1}}}

	_, err := Merge(a, corrupt)

	assert.ErrorContains(t, err, "out of range")
}

func TestCompareGivesCandidateOverBaseline(t *testing.T) {
	baseline := Result{AchievedRate: 1000, Latency: Latency{P50: 1, P95: 2, P99: 4}}
	candidate := Result{AchievedRate: 1500, Latency: Latency{P50: 2, P95: 3, P99: 2}}

	got := Compare(baseline, candidate)

	assert.Equal(t, Comparison{RateRatio: 1.5, P50Ratio: 2, P95Ratio: 1.5, P99Ratio: 0.5}, got)
	assert.Equal(t, Comparison{}, Compare(Result{}, candidate), "a zero baseline gives zero ratios, not NaN")
}

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

func TestMergeKeepsSendLatenessOnlyWhenEveryResultHasIt(t *testing.T) {
	cfg := baseConfig(OpenLoop)
	cfg.Rate, cfg.Duration = 2000, 100*time.Millisecond
	a, err := Run(t.Context(), cfg, &fakeDialer{})
	require.NoError(t, err)
	b, err := Run(t.Context(), cfg, &fakeDialer{})
	require.NoError(t, err)
	older := b
	older.SendLateness, older.LatenessHistogram = nil, nil

	both, err := Merge(a, b)
	require.NoError(t, err)
	mixed, err := Merge(a, older)
	require.NoError(t, err)

	require.NotNil(t, both.LatenessHistogram)
	assert.Equal(t, a.Requests+b.Requests, both.LatenessHistogram.Count())
	assert.GreaterOrEqual(t, both.SendLateness.Max, max(a.SendLateness.Max, b.SendLateness.Max))
	assert.Nil(t, mixed.SendLateness, "a result without lateness makes the merged lateness unknown")
	assert.Nil(t, mixed.LatenessHistogram)
}
