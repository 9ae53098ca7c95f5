package probe

// The degradation bound and percentiles: pure logic behind the latency checks.

import (
	"fmt"
	"math"
	"sort"
)

// DegradationBound is the largest p95 (ms) at load that still counts as "without
// degradation" against a baseline p95: max(ratio * baseline, baseline + slack).
// The slack keeps sub-millisecond baselines from turning scheduler noise into a
// failure; the ratio governs once latencies are large.
func DegradationBound(baselineP95, ratio, slackMs float64) (float64, error) {
	if baselineP95 < 0 || ratio < 1 || slackMs < 0 {
		return 0, fmt.Errorf("degradation bound needs baseline >= 0, ratio >= 1 and slack >= 0 (got %g, %g, %g)", baselineP95, ratio, slackMs)
	}
	return max(ratio*baselineP95, baselineP95+slackMs), nil
}

// Percentile returns the nearest-rank percentile p (0-100] of values; it sorts a
// copy. Zero for no values.
func Percentile(values []float64, p float64) float64 {
	if len(values) == 0 {
		return 0
	}
	sorted := append([]float64(nil), values...)
	sort.Float64s(sorted)
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}
