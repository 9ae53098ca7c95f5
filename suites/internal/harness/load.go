package harness

import (
	"context"
	"fmt"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/redis-shared/conformance/tools/evidence"
	"github.com/redis-shared/conformance/tools/loadgen"
	"github.com/redis-shared/conformance/tools/target"
)

// Load runs the generator against addr from a vantage point with the valid
// credentials. Keys go under the run's prefix plus name, with KeyTTL.
func (r *Run) Load(ctx context.Context, from target.Vantage, addr, name string, cfg loadgen.Config) (loadgen.Result, error) {
	dialer, err := r.Target.LoadDialer(from, addr, cfg.Connections)
	if err != nil {
		return loadgen.Result{}, fmt.Errorf("load %s: %w", name, err)
	}
	defer dialer.Close()
	cfg.KeyPrefix = r.Key(name) + ":"
	cfg.TTL = KeyTTL
	res, err := loadgen.Run(ctx, cfg, dialer)
	if err != nil {
		return res, fmt.Errorf("load %s against %s from %s: %w", name, addr, from, err)
	}
	return res, nil
}

// LoadFigures are the evidence of one load run; label prefixes every name
// ("baseline p95"), empty for none.
func LoadFigures(label string, res loadgen.Result) []evidence.Figure {
	name := func(s string) string {
		if label == "" {
			return s
		}
		return label + " " + s
	}
	figs := []evidence.Figure{}
	if res.TargetRate > 0 {
		figs = append(figs, evidence.Figure{Name: name("target rate"), Value: res.TargetRate, Unit: "ops/s"})
	}
	figs = append(figs,
		evidence.Figure{Name: name("achieved rate"), Value: res.AchievedRate, Unit: "ops/s"},
		evidence.Figure{Name: name("duration"), Value: res.DurationSeconds, Unit: "s"},
		evidence.Figure{Name: name("requests"), Value: float64(res.Requests), Unit: "count"},
		evidence.Figure{Name: name("errors"), Value: float64(res.Errors), Unit: "count"},
		evidence.Figure{Name: name("unsent"), Value: float64(res.Unsent), Unit: "count"},
		evidence.Figure{Name: name("p50"), Value: res.Latency.P50, Unit: "ms"},
		evidence.Figure{Name: name("p95"), Value: res.Latency.P95, Unit: "ms"},
		evidence.Figure{Name: name("p99"), Value: res.Latency.P99, Unit: "ms"},
		evidence.Figure{Name: name("max"), Value: res.Latency.Max, Unit: "ms"},
	)
	// Open loop: the generator's own part of the latency (actual minus intended
	// send time), beside it so a reader sees how much of a p95 is the generator.
	if l := res.SendLateness; l != nil {
		figs = append(figs,
			evidence.Figure{Name: name("send lateness p50"), Value: l.P50, Unit: "ms"},
			evidence.Figure{Name: name("send lateness p95"), Value: l.P95, Unit: "ms"},
			evidence.Figure{Name: name("send lateness p99"), Value: l.P99, Unit: "ms"},
		)
	}
	return figs
}

// percentilePoints are where the latency distribution is sampled for the report's
// plot: dense towards the tail, as HDR percentile plots are read.
var percentilePoints = []float64{0, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 95, 97, 98, 99, 99.5, 99.9, 99.95, 99.99, 99.999, 100}

// LoadSeries are the curves of one load run kept in the evidence for the report's
// plots: the achieved rate per second and the latency percentile distribution of
// its HDR histogram. label prefixes the names, as in LoadFigures.
func LoadSeries(label string, res loadgen.Result) []evidence.Series {
	name := func(s string) string {
		if label == "" {
			return s
		}
		return label + " " + s
	}
	var out []evidence.Series
	if len(res.PerSecond) > 0 {
		rate := evidence.Series{Name: name("rate"), XUnit: "s", YUnit: "ops/s"}
		for _, sec := range res.PerSecond {
			rate.Points = append(rate.Points, [2]float64{float64(sec.Second), float64(sec.Ops - sec.Errors)})
		}
		out = append(out, rate)
	}
	if h := res.LatencyHistogram; h != nil && h.Count() > 0 {
		full := hdrhistogram.New(h.LowestMicros, h.HighestMicros, int(h.SignificantFigures))
		counts := make([]int64, len(full.Export().Counts))
		valid := true
		for _, b := range h.Buckets {
			if b[0] < 0 || b[0] >= int64(len(counts)) {
				valid = false
				break
			}
			counts[b[0]] = b[1]
		}
		if valid {
			hist := hdrhistogram.Import(&hdrhistogram.Snapshot{LowestTrackableValue: h.LowestMicros, HighestTrackableValue: h.HighestMicros, SignificantFigures: h.SignificantFigures, Counts: counts})
			lat := evidence.Series{Name: name("latency percentiles"), XUnit: "percentile", YUnit: "ms"}
			for _, q := range percentilePoints {
				lat.Points = append(lat.Points, [2]float64{q, float64(hist.ValueAtQuantile(q)) / 1000})
			}
			out = append(out, lat)
		}
	}
	return out
}
