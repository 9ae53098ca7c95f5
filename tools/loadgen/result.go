package loadgen

import (
	"math"
	"slices"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// SchemaVersion versions the JSON form of Result.
const SchemaVersion = 1

// Histogram bounds, in microseconds: 1 µs to 60 s at 3 significant figures.
const (
	histMinMicros = 1
	histMaxMicros = 60_000_000
	histSigFigs   = 3
)

// Result is what one run measured. Requests counts completed commands (ok or
// failed); AchievedRate counts only successful ones per second of the run.
type Result struct {
	SchemaVersion int     `json:"schema_version"`
	Mode          Mode    `json:"mode"`
	Client        string  `json:"client"`
	Connections   int     `json:"connections"`
	Pipeline      int     `json:"pipeline"`
	SetRatio      float64 `json:"set_ratio"`
	KeySpace      int     `json:"key_space"`
	ValueSize     int     `json:"value_size"`
	KeyPrefix     string  `json:"key_prefix"`
	TTLSeconds    float64 `json:"ttl_s"`
	// TargetRate is the open-loop schedule in ops/s; 0 in closed loop.
	TargetRate   float64 `json:"target_rate_ops"`
	AchievedRate float64 `json:"achieved_rate_ops"`
	// DurationSeconds runs from the first intended send to the last reply.
	DurationSeconds float64  `json:"duration_s"`
	Requests        int64    `json:"requests"`
	Sets            int64    `json:"sets"`
	Gets            int64    `json:"gets"`
	Errors          int64    `json:"errors"`
	ErrorSamples    []string `json:"error_samples,omitempty"`
	// Unsent counts scheduled requests never handed to a connection (cancelled or
	// past the drain bound): they are reported, never dropped silently.
	Unsent int64 `json:"unsent"`
	// Latency of successful requests: from the intended send time in open loop
	// (coordinated omission corrected), from the actual send in closed loop.
	Latency Latency `json:"latency_ms"`
	// ServiceLatency always counts from the actual send; in open loop the gap to
	// Latency is time spent waiting in the generator or behind slow replies.
	ServiceLatency Latency `json:"service_latency_ms"`
	// SendLateness (open loop only) is how late the generator itself sent each
	// request: actual minus intended send time. It is part of Latency; set beside
	// a latency figure it shows how much of that figure is the generator's.
	SendLateness *Latency `json:"send_lateness_ms,omitempty"`
	// Pacer and SpinMicros say how the open loop waited for each send time.
	Pacer      string `json:"pacer,omitempty"`
	SpinMicros int64  `json:"spin_us,omitempty"`
	// PerSecond is the throughput series by second of completion: ops (ok or
	// failed) and errors completed in each second since the start.
	PerSecond []Second `json:"per_second"`
	// Histograms allow exact merging of results from several generators.
	LatencyHistogram  *Histogram `json:"latency_histogram_us,omitempty"`
	ServiceHistogram  *Histogram `json:"service_histogram_us,omitempty"`
	LatenessHistogram *Histogram `json:"send_lateness_histogram_us,omitempty"`
}

// Histogram is an HDR histogram in a compact JSON form: only the non-zero
// buckets, as [index, count] pairs.
type Histogram struct {
	LowestMicros       int64      `json:"lowest"`
	HighestMicros      int64      `json:"highest"`
	SignificantFigures int64      `json:"significant_figures"`
	Buckets            [][2]int64 `json:"buckets"`
}

func exportHistogram(h *hdrhistogram.Histogram) *Histogram {
	snap := h.Export()
	out := &Histogram{LowestMicros: snap.LowestTrackableValue, HighestMicros: snap.HighestTrackableValue, SignificantFigures: snap.SignificantFigures}
	for i, c := range snap.Counts {
		if c != 0 {
			out.Buckets = append(out.Buckets, [2]int64{int64(i), c})
		}
	}
	return out
}

// Count is the number of values the histogram holds.
func (h *Histogram) Count() int64 {
	var n int64
	for _, b := range h.Buckets {
		n += b[1]
	}
	return n
}

// Latency summarises a histogram in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// Second is one second of the run, by completion time.
type Second struct {
	Second int     `json:"second"`
	Ops    int64   `json:"ops"`
	Errors int64   `json:"errors"`
	MeanMs float64 `json:"mean_ms"`
	MaxMs  float64 `json:"max_ms"`
}

// RateAccuracy is achieved over target rate (open loop), or 0 without a target.
func (r Result) RateAccuracy() float64 {
	if r.TargetRate <= 0 {
		return 0
	}
	return r.AchievedRate / r.TargetRate
}

// SteadySeconds drops the first and last second, which are usually partial.
func (r Result) SteadySeconds() []Second {
	if len(r.PerSecond) <= 2 {
		return nil
	}
	return r.PerSecond[1 : len(r.PerSecond)-1]
}

// MinMaxSecondOps is the lowest and highest per-second throughput among the
// steady seconds, for "no degradation over the run" checks.
func (r Result) MinMaxSecondOps() (lowest, highest int64) {
	steady := r.SteadySeconds()
	if len(steady) == 0 {
		return 0, 0
	}
	lowest, highest = math.MaxInt64, 0
	for _, s := range steady {
		lowest = min(lowest, s.Ops)
		highest = max(highest, s.Ops)
	}
	return lowest, highest
}

// addSamples appends distinct samples up to maxErrorSamples.
func addSamples(samples []string, add ...string) []string {
	for _, s := range add {
		if len(samples) >= maxErrorSamples {
			break
		}
		if !slices.Contains(samples, s) {
			samples = append(samples, s)
		}
	}
	return samples
}

func newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(histMinMicros, histMaxMicros, histSigFigs)
}

func summarise(h *hdrhistogram.Histogram) Latency {
	if h.TotalCount() == 0 {
		return Latency{}
	}
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return Latency{
		P50:  ms(h.ValueAtQuantile(50)),
		P95:  ms(h.ValueAtQuantile(95)),
		P99:  ms(h.ValueAtQuantile(99)),
		P999: ms(h.ValueAtQuantile(99.9)),
		Max:  ms(h.Max()),
		Mean: h.Mean() / 1000,
	}
}
