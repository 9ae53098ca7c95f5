package benchcmp

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redis-shared/conformance/tools/loadgen"
)

func TestParseCSV(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		want    []Figure
		wantErr string
	}{
		{
			name: "redis 7 columns",
			input: `"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
"SET","88105.73","0.386","0.112","0.327","0.671","0.943","21.967"
"GET","86805.56","0.333","0.104","0.295","0.551","0.759","4.495"
`,
			want: []Figure{
				{Test: "SET", RPS: 88105.73, AvgLatencyMs: 0.386, P50LatencyMs: 0.327, P95LatencyMs: 0.671, P99LatencyMs: 0.943, MaxLatencyMs: 21.967},
				{Test: "GET", RPS: 86805.56, AvgLatencyMs: 0.333, P50LatencyMs: 0.295, P95LatencyMs: 0.551, P99LatencyMs: 0.759, MaxLatencyMs: 4.495},
			},
		},
		{
			name:  "older versions print test and rps only",
			input: "\"test\",\"rps\"\n\"SET\",\"1000.5\"\n",
			want:  []Figure{{Test: "SET", RPS: 1000.5}},
		},
		{name: "empty output", input: "", wantErr: "at least one row"},
		{name: "header only", input: "\"test\",\"rps\"\n", wantErr: "at least one row"},
		{name: "no rps column", input: "\"test\",\"qps\"\n\"SET\",\"1\"\n", wantErr: `lacks column "rps"`},
		{name: "rps not a number", input: "\"test\",\"rps\"\n\"SET\",\"fast\"\n", wantErr: `"rps" is not a number`},
		{name: "ragged row", input: "\"test\",\"rps\",\"p50_latency_ms\"\n\"SET\",\"1\"\n", wantErr: "parse redis-benchmark csv"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseCSV(strings.NewReader(tc.input))
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestRedisBenchmarkArgsMirrorTheGeneratorShape(t *testing.T) {
	args, err := RedisBenchmarkRun{
		Addr: "127.0.0.1:7000", Password: "pw", Clients: 50, Pipeline: 16, Requests: 1000,
		KeySpace: 100, ValueSize: 64, Tests: []string{"set", "get"},
	}.args()

	require.NoError(t, err)
	assert.Equal(t, []string{"-h", "127.0.0.1", "-p", "7000", "-c", "50", "-P", "16", "-n", "1000",
		"-r", "100", "-d", "64", "--csv", "-t", "set,get", "-a", "pw"}, args)

	args, err = RedisBenchmarkRun{
		Addr: "127.0.0.1:7000", Clients: 1, Requests: 10, KeySpace: 10, ValueSize: 3,
		Command: []string{"SET", "run:rb:__rand_int__", "vvv", "PX", "600000"},
	}.args()
	require.NoError(t, err)
	assert.Equal(t, []string{"SET", "run:rb:__rand_int__", "vvv", "PX", "600000"}, args[len(args)-5:])
	assert.NotContains(t, args, "-t")

	_, err = RedisBenchmarkRun{Addr: "localhost"}.args()
	assert.ErrorContains(t, err, "host:port")
}

func TestMedian(t *testing.T) {
	assert.Equal(t, 0.0, median(nil))
	assert.Equal(t, 2.0, median([]float64{3, 1, 2}))
	assert.Equal(t, 2.5, median([]float64{4, 1, 3, 2}))
}

func TestWriteTableShowsRatiosLatenessAndBaseline(t *testing.T) {
	opts := DefaultOptions()
	opts.OpenDuration = 5 * time.Second
	report := Report{
		Options: opts,
		Machine: Machine{CPUs: 2, LoadAtStart: "0.42 0.30 0.20", LoadAtEnd: "1.50 0.60 0.30"},
		Max: []MaxRow{{Test: "SET", Library: "go-redis", Clients: 50, Pipeline: 1, InFlight: 50,
			RedisBenchRPS: 50_000, GeneratorRPS: 55_000, Ratio: 1.1, Ratios: []float64{1.1, 0.97, 1.23}}},
		Baseline: []BaselineRow{{Clients: 1, Tests: []Figure{{Test: "SET", RPS: 20_000, P50LatencyMs: 0.047}, {Test: "GET", RPS: 21_000, P50LatencyMs: 0.043}}, P50Ms: 0.045, P95Ms: 0.07}},
		Open: []OpenRow{{Library: "go-redis", TargetRate: 10_000, AchievedRate: 9_990, Accuracy: 0.999,
			Latency: loadgen.Latency{P50: 0.09, P95: 1.25, P99: 2}, SendLateness: &loadgen.Latency{P50: 0.021, P95: 0.065, P99: 0.25},
			VsBaseline: []BaselineRatio{{Clients: 1, P50Ratio: 2, P95Ratio: 17.86, P50DiffMs: 0.045}}}},
		Choice: &Choice{Library: "go-redis", Rate: 50_000, Accuracy: 0.995, MeetsGoal: true, Why: "the most accurate"},
	}
	var out bytes.Buffer

	require.NoError(t, WriteTable(&out, report))

	text := out.String()
	for _, want := range []string{
		"load average 0.42 0.30 0.20 at start, 1.50 0.60 0.30 at end",
		"1.100", "0.97-1.23", "0.9990", "1.250",
		"late p50 ms", "0.021", "0.250",
		"p50/rb c1", "17.86", "+0.045",
		"0.047", "0.043",
		"client at 50000 ops/s: go-redis, achieved/target 0.9950 (goal >= 0.99: met): the most accurate",
		"remaining under the bench prefix: 0",
	} {
		assert.Contains(t, text, want)
	}
}

func TestChooseNamesTheMostAccurateClientAndWhy(t *testing.T) {
	late := &loadgen.Latency{P50: 0.02, P99: 0.4}
	row := func(lib string, rate, accuracy float64) OpenRow {
		return OpenRow{Library: lib, TargetRate: rate, Accuracy: accuracy, SendLateness: late}
	}
	tests := []struct {
		name        string
		rows        []OpenRow
		wantLibrary string
		wantMeets   bool
		wantWhy     string
	}{
		{"default client meets the goal", []OpenRow{row(loadgen.DefaultClient, 50_000, 0.999), row("go-redis", 50_000, 0.998), row("go-redis", 10_000, 1)},
			loadgen.DefaultClient, true, "the default client holds 50000 ops/s within 1 %"},
		{"default client meets the goal though another is closer to the target", []OpenRow{row("go-redis", 50_000, 0.9999), row(loadgen.DefaultClient, 50_000, 0.995)},
			loadgen.DefaultClient, true, "the default client holds"},
		{"another client does better", []OpenRow{row(loadgen.DefaultClient, 50_000, 0.98), row("go-redis", 50_000, 0.995)},
			"go-redis", true, "did less well in this run"},
		{"tie goes to the default", []OpenRow{row(loadgen.DefaultClient, 50_000, 0.995), row("go-redis", 50_000, 0.995)},
			loadgen.DefaultClient, true, "the default client"},
		{"no client meets it", []OpenRow{row(loadgen.DefaultClient, 50_000, 0.97), row("go-redis", 50_000, 0.96)},
			loadgen.DefaultClient, false, "no client held 50000 ops/s within 1 %"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := choose(tc.rows, []float64{10_000, 50_000})

			require.NotNil(t, c)
			assert.Equal(t, tc.wantLibrary, c.Library)
			assert.Equal(t, tc.wantMeets, c.MeetsGoal)
			assert.Contains(t, c.Why, tc.wantWhy)
			assert.Contains(t, c.Why, "send lateness p50 0.020 ms, p99 0.400 ms")
		})
	}
	assert.Nil(t, choose(nil, nil))
}

// FuzzParseCSV: redis-benchmark output is outside input; the parser must return
// figures or an error, never panic.
func FuzzParseCSV(f *testing.F) {
	f.Add("\"test\",\"rps\",\"p50_latency_ms\"\n\"SET\",\"1.5\",\"0.2\"\n")
	f.Add("\"test\",\"rps\"\n\"SET\"\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, input string) {
		figures, err := ParseCSV(strings.NewReader(input))
		if err == nil && len(figures) == 0 {
			t.Fatalf("no error and no figures for %q", input)
		}
	})
}
