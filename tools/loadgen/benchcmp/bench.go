package benchcmp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis-shared/conformance/tools/loadgen"
	"github.com/redis-shared/conformance/tools/loadgen/localredis"
)

// Options shape one bench run. Zero fields take DefaultOptions' values.
type Options struct {
	Clients           int           `json:"clients"`
	Pipeline          int           `json:"pipeline"`
	Requests          int           `json:"requests"`
	PipelinedRequests int           `json:"pipelined_requests"`
	KeySpace          int           `json:"key_space"`
	ValueSize         int           `json:"value_size"`
	Rounds            int           `json:"rounds"`
	Rates             []float64     `json:"open_loop_rates"`
	OpenDuration      time.Duration `json:"-"`
	OpenConnections   int           `json:"open_loop_connections"`
	// RedisBenchmarkThreads > 1 gives redis-benchmark that many threads; the
	// default 1 is how the baselines in DESIGN.md were measured.
	RedisBenchmarkThreads int `json:"redis_benchmark_threads"`
	// Libraries are the generator's client libraries to measure.
	Libraries []string `json:"libraries"`
}

// DefaultOptions follow the issue: c=50 with and without -P 16, 10k and 50k ops/s.
func DefaultOptions() Options {
	return Options{
		Clients:               50,
		Pipeline:              16,
		Requests:              200_000,
		PipelinedRequests:     1_000_000,
		KeySpace:              100_000,
		ValueSize:             64,
		Rounds:                3,
		RedisBenchmarkThreads: 1,
		Rates:                 []float64{10_000, 50_000},
		OpenDuration:          5 * time.Second,
		OpenConnections:       16,
		// The generator's client and the suite's functional client; -clients
		// adds rueidis and rueidis-auto.
		Libraries: []string{loadgen.DefaultClient, loadgen.ClientGoRedis},
	}
}

// Report is what one bench run measured, as data.
type Report struct {
	SchemaVersion int       `json:"schema_version"`
	Options       Options   `json:"options"`
	Max           []MaxRow  `json:"closed_loop_max"`
	Open          []OpenRow `json:"open_loop"`
	KeysDeleted   int       `json:"keys_deleted"`
	KeysRemaining int       `json:"keys_remaining"`
}

// MaxRow sets redis-benchmark and the generator side by side at one shape
// (median of the rounds, each round run back to back on the same server).
type MaxRow struct {
	Test           string    `json:"test"`
	Library        string    `json:"library"`
	Clients        int       `json:"clients"`
	Pipeline       int       `json:"pipeline"`
	InFlight       int       `json:"in_flight"`
	RedisBenchRPS  float64   `json:"redis_benchmark_rps"`
	GeneratorRPS   float64   `json:"generator_rps"`
	Ratio          float64   `json:"ratio"`
	RedisBenchRuns []float64 `json:"redis_benchmark_runs"`
	GeneratorRuns  []float64 `json:"generator_runs"`
	GeneratorP99Ms float64   `json:"generator_p99_ms"`
	Errors         int64     `json:"errors"`
}

// OpenRow is one open-loop run at a fixed rate.
type OpenRow struct {
	Library      string          `json:"library"`
	TargetRate   float64         `json:"target_rate_ops"`
	AchievedRate float64         `json:"achieved_rate_ops"`
	Accuracy     float64         `json:"accuracy"`
	Latency      loadgen.Latency `json:"latency_ms"`
	Service      loadgen.Latency `json:"service_latency_ms"`
	Errors       int64           `json:"errors"`
	Unsent       int64           `json:"unsent"`
}

type shape struct{ clients, pipeline, requests int }

// Run measures everything against srv and cleans up its keys. Each round runs
// redis-benchmark for one test and shape and then the generator with every
// library right after it, so that each ratio compares runs seconds apart; the
// reported ratio is the median of the per-round ratios.
func Run(ctx context.Context, srv *localredis.Server, opts Options) (Report, error) {
	prefix, err := runPrefix()
	if err != nil {
		return Report{}, err
	}
	ep := loadgen.Endpoint{Addr: srv.Addr, Password: srv.Password}
	report := Report{SchemaVersion: 1, Options: opts}
	shapes := []shape{{opts.Clients, 1, opts.Requests}, {opts.Clients, opts.Pipeline, opts.PipelinedRequests}}
	// redis-benchmark sends exactly what the generator sends: SET with the same
	// value size and a PX TTL, GET, on keys of about the same length under the
	// same prefix (so the cleanup removes its keys too).
	ttl := 10 * time.Minute
	benchKey := prefix + "rb:__rand_int__"
	value := strings.Repeat("v", opts.ValueSize)
	tests := []struct {
		name     string
		setRatio float64
		command  []string
	}{
		{"SET", 1, []string{"SET", benchKey, value, "PX", strconv.FormatInt(ttl.Milliseconds(), 10)}},
		{"GET", 0, []string{"GET", benchKey}},
	}
	rows := map[string]*MaxRow{}
	var order []string
	ratios := map[string][]float64{}
	p99s := map[string][]float64{}
	for round := range opts.Rounds {
		for _, sh := range shapes {
			for _, test := range tests {
				figures, err := RunRedisBenchmark(ctx, RedisBenchmarkRun{
					Addr: srv.Addr, Password: srv.Password, Clients: sh.clients, Pipeline: sh.pipeline,
					Requests: sh.requests, KeySpace: opts.KeySpace, ValueSize: opts.ValueSize,
					Command: test.command, Threads: opts.RedisBenchmarkThreads, Timeout: 5 * time.Minute,
				})
				if err != nil {
					return report, fmt.Errorf("round %d: %w", round+1, err)
				}
				if len(figures) != 1 {
					return report, fmt.Errorf("round %d: redis-benchmark -t %s gave %d figures, want 1", round+1, test.name, len(figures))
				}
				benchRPS := figures[0].RPS
				for _, lib := range opts.Libraries {
					res, err := runGenerator(ctx, lib, ep, loadgen.Config{
						Mode: loadgen.ClosedLoop, Requests: int64(sh.requests),
						Connections: sh.clients, Pipeline: sh.pipeline, SetRatio: test.setRatio,
						KeySpace: opts.KeySpace, ValueSize: opts.ValueSize, KeyPrefix: prefix, TTL: ttl,
					})
					if err != nil {
						return report, fmt.Errorf("round %d %s %s: %w", round+1, lib, test.name, err)
					}
					id := fmt.Sprintf("%s/%s/%d/%d", test.name, lib, sh.clients, sh.pipeline)
					row, ok := rows[id]
					if !ok {
						row = &MaxRow{Test: test.name, Library: lib, Clients: sh.clients, Pipeline: sh.pipeline, InFlight: sh.clients * sh.pipeline}
						rows[id] = row
						order = append(order, id)
					}
					row.RedisBenchRuns = append(row.RedisBenchRuns, benchRPS)
					row.GeneratorRuns = append(row.GeneratorRuns, res.AchievedRate)
					row.Errors += res.Errors
					if benchRPS > 0 {
						ratios[id] = append(ratios[id], res.AchievedRate/benchRPS)
					}
					p99s[id] = append(p99s[id], res.Latency.P99)
				}
			}
		}
	}
	for _, id := range order {
		row := rows[id]
		row.RedisBenchRPS, row.GeneratorRPS = median(row.RedisBenchRuns), median(row.GeneratorRuns)
		row.Ratio, row.GeneratorP99Ms = median(ratios[id]), median(p99s[id])
		report.Max = append(report.Max, *row)
	}
	for _, lib := range opts.Libraries {
		for _, rate := range opts.Rates {
			res, err := runGenerator(ctx, lib, ep, loadgen.Config{
				Mode: loadgen.OpenLoop, Rate: rate, Duration: opts.OpenDuration,
				Connections: opts.OpenConnections, Pipeline: opts.Pipeline, SetRatio: 0.5,
				KeySpace: opts.KeySpace, ValueSize: opts.ValueSize, KeyPrefix: prefix, TTL: ttl,
			})
			if err != nil {
				return report, fmt.Errorf("open loop %s at %.0f ops/s: %w", lib, rate, err)
			}
			report.Open = append(report.Open, OpenRow{
				Library: lib, TargetRate: rate, AchievedRate: res.AchievedRate, Accuracy: res.RateAccuracy(),
				Latency: res.Latency, Service: res.ServiceLatency, Errors: res.Errors, Unsent: res.Unsent,
			})
		}
	}
	client := srv.Client()
	defer client.Close()
	if report.KeysDeleted, err = loadgen.Cleanup(ctx, client, prefix); err != nil {
		return report, err
	}
	if report.KeysRemaining, err = loadgen.Remaining(ctx, client, prefix); err != nil {
		return report, err
	}
	return report, nil
}

func runGenerator(ctx context.Context, lib string, ep loadgen.Endpoint, cfg loadgen.Config) (loadgen.Result, error) {
	dialer, err := loadgen.NewDialer(lib, ep, cfg.Connections)
	if err != nil {
		return loadgen.Result{}, err
	}
	defer dialer.Close()
	return loadgen.Run(ctx, cfg, dialer)
}

func median(values []float64) float64 {
	if len(values) == 0 {
		return 0
	}
	sorted := slices.Sorted(slices.Values(values))
	mid := len(sorted) / 2
	if len(sorted)%2 == 1 {
		return sorted[mid]
	}
	return (sorted[mid-1] + sorted[mid]) / 2
}

func runPrefix() (string, error) {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("bench key prefix: %w", err)
	}
	return "loadgen-bench:" + hex.EncodeToString(b) + ":", nil
}
