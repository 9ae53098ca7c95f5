package benchcmp

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// WriteTable renders a Report for people; the Report itself is the data.
func WriteTable(w io.Writer, r Report) error {
	if r.Machine.CPUs > 0 {
		fmt.Fprintf(w, "machine: %d CPUs; load average %s at start, %s at end (a loaded machine gives noisy figures)\n\n",
			r.Machine.CPUs, orUnknown(r.Machine.LoadAtStart), orUnknown(r.Machine.LoadAtEnd))
	}
	threads, procs := max(r.Options.RedisBenchmarkThreads, 1), r.Options.closedLoopProcs()
	budget := "the same thread budget"
	if procs != threads {
		budget = "NOT the same thread budget (-generator-procs)"
	}
	fmt.Fprintf(w, "closed-loop max throughput, medians of %d rounds; ratio = median of per-round loadgen/redis-benchmark (goal >= 1.0); redis-benchmark threads: %d, generator GOMAXPROCS: %d (%s)\n",
		r.Options.Rounds, threads, procs, budget)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "(redis-benchmark runs before the generator in rounds 1, 3, 5, ... and after it in rounds 2, 4, ...; \"rounds\" is the lowest and highest per-round ratio, the noise the median is read against)")
	fmt.Fprintln(tw, "test\tclient\tconns\tpipeline\tin flight\tredis-benchmark ops/s\tloadgen ops/s\tratio\trounds\tgoal\tloadgen p99 ms\terrors\t")
	for _, m := range r.Max {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%.0f\t%.0f\t%.3f\t%s\t%s\t%.2f\t%d\t\n",
			m.Test, m.Library, m.Clients, m.Pipeline, m.InFlight, m.RedisBenchRPS, m.GeneratorRPS, m.Ratio, spread(m.Ratios), met(m.Ratio >= 1), m.GeneratorP99Ms, m.Errors)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write bench table: %w", err)
	}
	if len(r.Baseline) > 0 {
		fmt.Fprintln(w, "\nbaseline: redis-benchmark's own latency in this run, unpipelined, p50/p95 = mean of its SET and GET")
		fmt.Fprintln(w, "(it has no rate limit: c=1 is one request in flight, the unloaded round trip; more connections run at its max rate)")
		fmt.Fprintln(tw, "conns\tSET ops/s\tGET ops/s\tSET p50 ms\tGET p50 ms\tp50 ms\tp95 ms\t")
		for _, b := range r.Baseline {
			var rps [2]float64
			var p50 [2]float64
			for i, f := range b.Tests[:min(len(b.Tests), 2)] {
				rps[i], p50[i] = f.RPS, f.P50LatencyMs
			}
			fmt.Fprintf(tw, "%d\t%.0f\t%.0f\t%.3f\t%.3f\t%.3f\t%.3f\t\n", b.Clients, rps[0], rps[1], p50[0], p50[1], b.P50Ms, b.P95Ms)
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("write bench table: %w", err)
		}
	}
	fmt.Fprintf(w, "\nopen loop, 50%% SET / 50%% GET, %s per rate, %d connections (goal: achieved/target >= %.2f)\n", r.Options.OpenDuration, r.Options.OpenConnections, RateGoal)
	fmt.Fprintln(w, "latency counts from each request's intended send time; \"late\" is the generator's own part of it (actual minus intended send)")
	header := "client\ttarget ops/s\tachieved ops/s\tachieved/target\tp50 ms\tp95 ms\tp99 ms\tmax ms\tlate p50 ms\tlate p95 ms\tlate p99 ms\t"
	for _, b := range r.Baseline {
		header += fmt.Sprintf("p50/rb c%d\tp95/rb c%d\tp50-rb c%d ms\t", b.Clients, b.Clients, b.Clients)
	}
	fmt.Fprintln(tw, header+"errors\tunsent\t")
	for _, o := range r.Open {
		line := fmt.Sprintf("%s\t%.0f\t%.1f\t%.4f\t%.3f\t%.3f\t%.3f\t%.3f\t", o.Library, o.TargetRate, o.AchievedRate, o.Accuracy,
			o.Latency.P50, o.Latency.P95, o.Latency.P99, o.Latency.Max)
		if l := o.SendLateness; l != nil {
			line += fmt.Sprintf("%.3f\t%.3f\t%.3f\t", l.P50, l.P95, l.P99)
		} else {
			line += "-\t-\t-\t"
		}
		for _, b := range r.Baseline {
			v, ok := vsBaseline(o, b.Clients)
			if !ok {
				line += "-\t-\t-\t"
				continue
			}
			line += fmt.Sprintf("%.2f\t%.2f\t%+.3f\t", v.P50Ratio, v.P95Ratio, v.P50DiffMs)
		}
		fmt.Fprintf(tw, "%s%d\t%d\t\n", line, o.Errors, o.Unsent)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write bench table: %w", err)
	}
	if c := r.Choice; c != nil {
		fmt.Fprintf(w, "client at %.0f ops/s: %s, achieved/target %.4f (goal >= %.2f: %s): %s\n", c.Rate, c.Library, c.Accuracy, RateGoal, met(c.MeetsGoal), c.Why)
	}
	_, err := fmt.Fprintf(w, "bench keys deleted: %d, remaining under the bench prefix: %d\n", r.KeysDeleted, r.KeysRemaining)
	if err != nil {
		return fmt.Errorf("write bench table: %w", err)
	}
	return nil
}

func vsBaseline(o OpenRow, clients int) (BaselineRatio, bool) {
	for _, v := range o.VsBaseline {
		if v.Clients == clients {
			return v, true
		}
	}
	return BaselineRatio{}, false
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

func orUnknown(s string) string {
	if strings.TrimSpace(s) == "" {
		return "unknown"
	}
	return s
}

// spread is the lowest and highest of values, "-" when there are none.
func spread(values []float64) string {
	if len(values) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f-%.2f", slices.Min(values), slices.Max(values))
}
