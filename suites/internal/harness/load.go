package harness

import (
	"context"
	"fmt"
	"testing"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/redis-shared/conformance/tools/evidence"
	"github.com/redis-shared/conformance/tools/loadgen"
	"github.com/redis-shared/conformance/tools/probe"
	"github.com/redis-shared/conformance/tools/target"
)

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

// rateSeconds are the seconds a rate plot shows: the steady ones. The first and
// last second of a run are partial (the run starts and its last replies land
// inside them), so drawn as rates they show a drop that never happened; the
// slowest-second figure leaves them out too.
func rateSeconds(res loadgen.Result) []loadgen.Second {
	if steady := res.SteadySeconds(); len(steady) > 0 {
		return steady
	}
	return res.PerSecond
}

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
	if seconds := rateSeconds(res); len(seconds) > 0 {
		rate := evidence.Series{Name: name("rate"), XUnit: "s", YUnit: "ops/s"}
		for _, sec := range seconds {
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

// Probe runs one measurement through the target from a vantage point (tools/probe,
// the same code on every target); a vantage the target cannot offer skips the check
// with the target's reason (what names the check's need).
func (r *Run) Probe(ctx context.Context, t *testing.T, what string, from target.Vantage, req probe.Request) (probe.Report, error) {
	t.Helper()
	rep, err := r.Target.Probe(ctx, from, req)
	SkipUnsupported(t, what, err)
	if err != nil && rep.Vantage != "" {
		err = fmt.Errorf("%s from %s: %w", what, rep.Vantage, err)
	}
	return rep, err
}

// ProbeLoad runs the generator through Target.Probe against addr from a vantage
// point; keys go under the run's prefix plus name, with KeyTTL, and the probe deletes
// them afterwards and proves it. A run that left keys is an error.
func (r *Run) ProbeLoad(ctx context.Context, t *testing.T, from target.Vantage, addr, name string, cfg loadgen.Config) (loadgen.Result, string, error) {
	t.Helper()
	kind := probe.KindLoad
	if cfg.Mode == loadgen.OpenLoop {
		kind = probe.KindLatency
	}
	req := probe.Request{Kind: kind, Addr: addr, Prefix: r.Key(name) + ":", TTL: KeyTTL, Load: &probe.LoadRequest{
		Mode: cfg.Mode, Rate: cfg.Rate, Duration: cfg.Duration, Connections: cfg.Connections,
		SetRatio: cfg.SetRatio, KeySpace: cfg.KeySpace,
	}}
	rep, err := r.Probe(ctx, t, "load "+name+" from the "+string(from)+" vantage point", from, req)
	if rep.Load == nil {
		if err == nil {
			err = fmt.Errorf("load %s: the report has no load part", name)
		}
		return loadgen.Result{}, rep.Vantage, err
	}
	return rep.Load.Result, rep.Vantage, err
}
