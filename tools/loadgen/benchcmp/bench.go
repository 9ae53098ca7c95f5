package benchcmp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"runtime"
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
	// GeneratorProcs is GOMAXPROCS of the generator during the closed-loop runs;
	// 0 means RedisBenchmarkThreads. The comparison is generator against
	// generator with the same thread budget: redis-benchmark drives its 50
	// connections from one thread, and on a 2-core machine a Go generator on both
	// cores takes the CPU the server under test needs (measured: c=50 unpipelined
	// SET 0.81 at GOMAXPROCS 2, 0.96 at 1).
	GeneratorProcs int `json:"generator_procs"`
	// Libraries are the generator's client libraries to measure.
	Libraries []string `json:"libraries"`
	// BaselineClients are the connection counts at which redis-benchmark's own
	// latency is measured as the open loop's baseline (redis-benchmark has no
	// rate limit: c=1 is one request in flight, the unloaded round trip; the
	// open loop's connection count is its max rate over as many connections).
	BaselineClients []int `json:"baseline_clients"`
	// BaselineRequests is redis-benchmark -n of each baseline run.
	BaselineRequests int `json:"baseline_requests"`
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
		Rounds:                5,
		RedisBenchmarkThreads: 1,
		Rates:                 []float64{10_000, 50_000},
		OpenDuration:          5 * time.Second,
		OpenConnections:       16,
		// The generator's client and the suite's functional client; -clients
		// adds rueidis and rueidis-auto.
		Libraries:        []string{loadgen.DefaultClient, loadgen.ClientGoRedis},
		BaselineClients:  []int{1, 16},
		BaselineRequests: 50_000,
	}
}

// closedLoopProcs is the generator's GOMAXPROCS in the closed-loop runs.
func (o Options) closedLoopProcs() int {
	if o.GeneratorProcs > 0 {
		return o.GeneratorProcs
	}
	return max(o.RedisBenchmarkThreads, 1)
}

// RateGoal is the open-loop accuracy goal: achieved/target within 1 %.
const RateGoal = 0.99

// Report is what one bench run measured, as data.
type Report struct {
	SchemaVersion int       `json:"schema_version"`
	Options       Options   `json:"options"`
	Max           []MaxRow  `json:"closed_loop_max"`
	Open          []OpenRow `json:"open_loop"`
	KeysDeleted   int       `json:"keys_deleted"`
	KeysRemaining int       `json:"keys_remaining"`
	// Baseline is redis-benchmark's own latency, measured in the same run.
	Baseline []BaselineRow `json:"baseline,omitempty"`
	// Choice says which client the open loop's figures stand for at the
	// highest rate, and why.
	Choice *Choice `json:"choice,omitempty"`
	// Machine is the CPU count and load the figures were measured under.
	Machine Machine `json:"machine"`
}

// BaselineRow is redis-benchmark at one connection count, without pipelining:
// SET (with PX, as the generator sends it) and GET, each a closed-loop run.
// P50Ms and P95Ms are the mean of the two tests' percentiles, the baseline of
// the open loop's 50/50 mix.
type BaselineRow struct {
	Clients int      `json:"clients"`
	Tests   []Figure `json:"tests"`
	P50Ms   float64  `json:"p50_ms"`
	P95Ms   float64  `json:"p95_ms"`
}

// Choice is the pick among the libraries at the highest open-loop rate.
type Choice struct {
	Library   string  `json:"library"`
	Rate      float64 `json:"target_rate_ops"`
	Accuracy  float64 `json:"accuracy"`
	MeetsGoal bool    `json:"meets_goal"`
	Why       string  `json:"why"`
}

// Machine is what the bench ran on: figures from a loaded machine are noisy.
type Machine struct {
	CPUs        int    `json:"cpus"`
	LoadAtStart string `json:"load_average_at_start,omitempty"`
	LoadAtEnd   string `json:"load_average_at_end,omitempty"`
}

// MaxRow sets redis-benchmark and the generator side by side at one shape
// (median of the rounds, each round run back to back on the same server).
type MaxRow struct {
	Test          string  `json:"test"`
	Library       string  `json:"library"`
	Clients       int     `json:"clients"`
	Pipeline      int     `json:"pipeline"`
	InFlight      int     `json:"in_flight"`
	RedisBenchRPS float64 `json:"redis_benchmark_rps"`
	GeneratorRPS  float64 `json:"generator_rps"`
	Ratio         float64 `json:"ratio"`
	// Ratios are the per-round ratios Ratio is the median of: their spread is the
	// noise a ratio near 1.0 is read against.
	Ratios         []float64 `json:"ratio_runs"`
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
	// SendLateness is the generator's own part of Latency.
	SendLateness *loadgen.Latency `json:"send_lateness_ms,omitempty"`
	// VsBaseline relates Latency to each BaselineRow, by connection count.
	VsBaseline []BaselineRatio `json:"vs_baseline,omitempty"`
}

// BaselineRatio is the open loop's p50/p95 over redis-benchmark's at one
// connection count, and the p50 difference in ms (goal at 10k: within 0.2 ms
// of c=1).
type BaselineRatio struct {
	Clients   int     `json:"clients"`
	P50Ratio  float64 `json:"p50_ratio"`
	P95Ratio  float64 `json:"p95_ratio"`
	P50DiffMs float64 `json:"p50_diff_ms"`
}

type shape struct{ clients, pipeline, requests int }

// Run measures everything against srv and cleans up its keys. Each round runs
// redis-benchmark for one test and shape and the generator with every library
// right beside it (redis-benchmark first in even rounds, last in odd ones), so
// that each ratio compares runs seconds apart; the reported ratio is the median
// of the per-round ratios.
func Run(ctx context.Context, srv *localredis.Server, opts Options) (Report, error) {
	prefix, err := runPrefix()
	if err != nil {
		return Report{}, err
	}
	ep := loadgen.Endpoint{Addr: srv.Addr, Password: srv.Password}
	report := Report{SchemaVersion: 1, Options: opts, Machine: Machine{CPUs: runtime.NumCPU(), LoadAtStart: loadAverage()}}
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
	// Restored before the open loop, which runs with every core.
	restoreProcs := runtime.GOMAXPROCS(opts.closedLoopProcs())
	defer runtime.GOMAXPROCS(restoreProcs)
	rows := map[string]*MaxRow{}
	var order []string
	ratios := map[string][]float64{}
	p99s := map[string][]float64{}
	for round := range opts.Rounds {
		for _, sh := range shapes {
			for _, test := range tests {
				benchmark := func() (float64, error) {
					figures, err := RunRedisBenchmark(ctx, RedisBenchmarkRun{
						Addr: srv.Addr, Password: srv.Password, Clients: sh.clients, Pipeline: sh.pipeline,
						Requests: sh.requests, KeySpace: opts.KeySpace, ValueSize: opts.ValueSize,
						Command: test.command, Threads: opts.RedisBenchmarkThreads, Timeout: 5 * time.Minute,
					})
					if err != nil {
						return 0, fmt.Errorf("round %d: %w", round+1, err)
					}
					if len(figures) != 1 {
						return 0, fmt.Errorf("round %d: redis-benchmark -t %s gave %d figures, want 1", round+1, test.name, len(figures))
					}
					return figures[0].RPS, nil
				}
				// The server's state drifts during a bench (its AOF grows and is
				// rewritten in the background): redis-benchmark runs first in even
				// rounds and last in odd ones, so neither side always pays for it.
				generatorFirst := round%2 == 1
				var benchRPS float64
				if !generatorFirst {
					if benchRPS, err = benchmark(); err != nil {
						return report, err
					}
				}
				results := make([]loadgen.Result, len(opts.Libraries))
				for i, lib := range opts.Libraries {
					results[i], err = runGenerator(ctx, lib, ep, loadgen.Config{
						Mode: loadgen.ClosedLoop, Requests: int64(sh.requests),
						Connections: sh.clients, Pipeline: sh.pipeline, SetRatio: test.setRatio,
						KeySpace: opts.KeySpace, ValueSize: opts.ValueSize, KeyPrefix: prefix, TTL: ttl,
					})
					if err != nil {
						return report, fmt.Errorf("round %d %s %s: %w", round+1, lib, test.name, err)
					}
				}
				if generatorFirst {
					if benchRPS, err = benchmark(); err != nil {
						return report, err
					}
				}
				for i, lib := range opts.Libraries {
					res := results[i]
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
		row.Ratios = ratios[id]
		report.Max = append(report.Max, *row)
	}
	runtime.GOMAXPROCS(restoreProcs)
	// The baseline runs right before the open loop it is the baseline of.
	for _, clients := range opts.BaselineClients {
		row, err := runBaseline(ctx, srv, opts, clients, tests[0].command, tests[1].command)
		if err != nil {
			return report, err
		}
		report.Baseline = append(report.Baseline, row)
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
			row := OpenRow{
				Library: lib, TargetRate: rate, AchievedRate: res.AchievedRate, Accuracy: res.RateAccuracy(),
				Latency: res.Latency, Service: res.ServiceLatency, Errors: res.Errors, Unsent: res.Unsent,
				SendLateness: res.SendLateness,
			}
			for _, b := range report.Baseline {
				row.VsBaseline = append(row.VsBaseline, BaselineRatio{
					Clients: b.Clients, P50Ratio: ratio(res.Latency.P50, b.P50Ms), P95Ratio: ratio(res.Latency.P95, b.P95Ms),
					P50DiffMs: res.Latency.P50 - b.P50Ms,
				})
			}
			report.Open = append(report.Open, row)
		}
	}
	report.Choice = choose(report.Open, opts.Rates)
	report.Machine.LoadAtEnd = loadAverage()
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

// runBaseline measures redis-benchmark's latency at clients connections for
// SET and GET without pipelining.
func runBaseline(ctx context.Context, srv *localredis.Server, opts Options, clients int, set, get []string) (BaselineRow, error) {
	row := BaselineRow{Clients: clients}
	for _, command := range [][]string{set, get} {
		figures, err := RunRedisBenchmark(ctx, RedisBenchmarkRun{
			Addr: srv.Addr, Password: srv.Password, Clients: clients, Pipeline: 1,
			Requests: opts.BaselineRequests, KeySpace: opts.KeySpace, ValueSize: opts.ValueSize,
			Command: command, Threads: opts.RedisBenchmarkThreads, Timeout: 5 * time.Minute,
		})
		if err != nil {
			return row, fmt.Errorf("baseline c=%d: %w", clients, err)
		}
		if len(figures) != 1 || figures[0].P50LatencyMs <= 0 {
			return row, fmt.Errorf("baseline c=%d %s: redis-benchmark gave no latency percentiles (%d figures)", clients, command[0], len(figures))
		}
		figures[0].Test = command[0]
		row.Tests = append(row.Tests, figures[0])
		row.P50Ms += figures[0].P50LatencyMs / 2
		row.P95Ms += figures[0].P95LatencyMs / 2
	}
	return row, nil
}

// choose picks the library for the highest rate: the default client when it
// meets RateGoal, else the most accurate one; when none meets RateGoal it says
// so and gives the generator's send lateness as the reason to look at.
func choose(rows []OpenRow, rates []float64) *Choice {
	if len(rates) == 0 {
		return nil
	}
	top := slices.Max(rates)
	var best *OpenRow
	for i := range rows {
		r := &rows[i]
		if r.TargetRate != top {
			continue
		}
		if r.Library == loadgen.DefaultClient && r.Accuracy >= RateGoal {
			best = r
			break
		}
		if best == nil || r.Accuracy > best.Accuracy {
			best = r
		}
	}
	if best == nil {
		return nil
	}
	c := &Choice{Library: best.Library, Rate: top, Accuracy: best.Accuracy, MeetsGoal: best.Accuracy >= RateGoal}
	late := "no send lateness recorded"
	if best.SendLateness != nil {
		late = fmt.Sprintf("send lateness p50 %.3f ms, p99 %.3f ms", best.SendLateness.P50, best.SendLateness.P99)
	}
	switch {
	case c.MeetsGoal && best.Library == loadgen.DefaultClient:
		c.Why = fmt.Sprintf("the default client holds %.0f ops/s within 1 %% (%s)", top, late)
	case c.MeetsGoal:
		c.Why = fmt.Sprintf("the most accurate client at %.0f ops/s (%s); the default %s did less well in this run", top, late, loadgen.DefaultClient)
	default:
		c.Why = fmt.Sprintf("no client held %.0f ops/s within 1 %% on this machine; %s came closest (%s, unsent %d, errors %d): the generator and redis-server share the CPUs, see the load average",
			top, best.Library, late, best.Unsent, best.Errors)
	}
	return c
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
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

// loadAverage is the first three fields of /proc/loadavg, or "" where there is none.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	fields := strings.Fields(string(b))
	if len(fields) < 3 {
		return ""
	}
	return strings.Join(fields[:3], " ")
}

func runPrefix() (string, error) {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("bench key prefix: %w", err)
	}
	return "loadgen-bench:" + hex.EncodeToString(b) + ":", nil
}
