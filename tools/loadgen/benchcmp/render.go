package benchcmp

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteTable renders a Report for people; the Report itself is the data.
func WriteTable(w io.Writer, r Report) error {
	fmt.Fprintf(w, "closed-loop max throughput, medians of %d rounds; ratio = median of per-round loadgen/redis-benchmark (goal >= 1.0); redis-benchmark threads: %d\n",
		r.Options.Rounds, max(r.Options.RedisBenchmarkThreads, 1))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "test\tclient\tconns\tpipeline\tin flight\tredis-benchmark ops/s\tloadgen ops/s\tratio\tloadgen p99 ms\terrors\t")
	for _, m := range r.Max {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%.0f\t%.0f\t%.2f\t%.2f\t%d\t\n",
			m.Test, m.Library, m.Clients, m.Pipeline, m.InFlight, m.RedisBenchRPS, m.GeneratorRPS, m.Ratio, m.GeneratorP99Ms, m.Errors)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write bench table: %w", err)
	}
	fmt.Fprintf(w, "\nopen loop, 50%% SET / 50%% GET, %s per rate, %d connections (goal: achieved/target within 1%%)\n", r.Options.OpenDuration, r.Options.OpenConnections)
	fmt.Fprintln(tw, "client\ttarget ops/s\tachieved ops/s\tachieved/target\tp50 ms\tp95 ms\tp99 ms\tmax ms\terrors\tunsent\t")
	for _, o := range r.Open {
		fmt.Fprintf(tw, "%s\t%.0f\t%.1f\t%.4f\t%.3f\t%.3f\t%.3f\t%.3f\t%d\t%d\t\n",
			o.Library, o.TargetRate, o.AchievedRate, o.Accuracy, o.Latency.P50, o.Latency.P95, o.Latency.P99, o.Latency.Max, o.Errors, o.Unsent)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write bench table: %w", err)
	}
	_, err := fmt.Fprintf(w, "bench keys deleted: %d, remaining under the bench prefix: %d\n", r.KeysDeleted, r.KeysRemaining)
	if err != nil {
		return fmt.Errorf("write bench table: %w", err)
	}
	return nil
}
