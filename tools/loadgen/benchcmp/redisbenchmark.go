// Package benchcmp sets the load generator beside redis-benchmark on the same
// server: it runs redis-benchmark, parses its --csv output, and lays out the
// comparison as data that a renderer prints.
package benchcmp

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// RedisBenchmarkBinary is the Debian redis-tools benchmark executable.
const RedisBenchmarkBinary = "redis-benchmark"

// Figure is one line of redis-benchmark --csv output.
type Figure struct {
	Test         string  `json:"test"`
	RPS          float64 `json:"rps"`
	AvgLatencyMs float64 `json:"avg_latency_ms"`
	P50LatencyMs float64 `json:"p50_latency_ms"`
	P95LatencyMs float64 `json:"p95_latency_ms"`
	P99LatencyMs float64 `json:"p99_latency_ms"`
	MaxLatencyMs float64 `json:"max_latency_ms"`
}

// ParseCSV reads redis-benchmark --csv output: a header line naming the columns,
// then one quoted line per test. Columns are found by name so that older
// versions with fewer columns still parse; "test" and "rps" are required.
func ParseCSV(r io.Reader) ([]Figure, error) {
	records, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("parse redis-benchmark csv: %w", err)
	}
	if len(records) < 2 {
		return nil, fmt.Errorf("parse redis-benchmark csv: want a header and at least one row, got %d lines", len(records))
	}
	col := map[string]int{}
	for i, name := range records[0] {
		col[strings.TrimSpace(name)] = i
	}
	for _, required := range []string{"test", "rps"} {
		if _, ok := col[required]; !ok {
			return nil, fmt.Errorf("parse redis-benchmark csv: header %q lacks column %q", strings.Join(records[0], ","), required)
		}
	}
	figures := make([]Figure, 0, len(records)-1)
	for line, rec := range records[1:] {
		field := func(name string) (float64, error) {
			i, ok := col[name]
			if !ok {
				return 0, nil
			}
			if i >= len(rec) {
				return 0, fmt.Errorf("line %d: no %q column", line+2, name)
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(rec[i]), 64)
			if err != nil {
				return 0, fmt.Errorf("line %d: %q is not a number: %w", line+2, name, err)
			}
			return v, nil
		}
		f := Figure{Test: rec[col["test"]]}
		var errs []error
		for _, target := range []struct {
			name string
			dst  *float64
		}{
			{"rps", &f.RPS},
			{"avg_latency_ms", &f.AvgLatencyMs},
			{"p50_latency_ms", &f.P50LatencyMs},
			{"p95_latency_ms", &f.P95LatencyMs},
			{"p99_latency_ms", &f.P99LatencyMs},
			{"max_latency_ms", &f.MaxLatencyMs},
		} {
			v, err := field(target.name)
			errs = append(errs, err)
			*target.dst = v
		}
		if err := errors.Join(errs...); err != nil {
			return nil, fmt.Errorf("parse redis-benchmark csv: %w", err)
		}
		figures = append(figures, f)
	}
	return figures, nil
}

// RedisBenchmarkRun describes one redis-benchmark invocation.
type RedisBenchmarkRun struct {
	Addr      string // host:port on loopback
	Password  string
	Clients   int
	Pipeline  int
	Requests  int
	KeySpace  int
	ValueSize int
	// Tests are built-in tests ("set", "get"); Command, when set, replaces
	// them with one command whose __rand_int__ redis-benchmark substitutes.
	Tests   []string
	Command []string
	// Threads > 1 runs redis-benchmark multi-threaded (--threads).
	Threads int
	Timeout time.Duration
}

// args builds the command line; the password is the only secret in it.
func (r RedisBenchmarkRun) args() ([]string, error) {
	host, port, ok := strings.Cut(r.Addr, ":")
	if !ok || host == "" || port == "" {
		return nil, fmt.Errorf("redis-benchmark address %q is not host:port", r.Addr)
	}
	args := []string{
		"-h", host, "-p", port,
		"-c", strconv.Itoa(r.Clients),
		"-P", strconv.Itoa(max(r.Pipeline, 1)),
		"-n", strconv.Itoa(r.Requests),
		"-r", strconv.Itoa(r.KeySpace),
		"-d", strconv.Itoa(r.ValueSize),
		"--csv",
	}
	if r.Threads > 1 {
		args = append(args, "--threads", strconv.Itoa(r.Threads))
	}
	if len(r.Command) == 0 {
		args = append(args, "-t", strings.Join(r.Tests, ","))
	}
	if r.Password != "" {
		// redis-benchmark 7.0 reads the password only from -a or -u; this is a
		// throw-away local server, and the command line is never printed.
		args = append(args, "-a", r.Password)
	}
	return append(args, r.Command...), nil
}

// what names the tests or the command's name for errors (never its arguments).
func (r RedisBenchmarkRun) what() string {
	if len(r.Command) > 0 {
		return r.Command[0]
	}
	return "-t " + strings.Join(r.Tests, ",")
}

// RunRedisBenchmark runs redis-benchmark and parses its figures. Errors quote its
// stderr with the password redacted.
func RunRedisBenchmark(ctx context.Context, run RedisBenchmarkRun) ([]Figure, error) {
	args, err := run.args()
	if err != nil {
		return nil, err
	}
	if run.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, run.Timeout)
		defer cancel()
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, RedisBenchmarkBinary, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String() + " " + stdout.String())
		if run.Password != "" {
			msg = strings.ReplaceAll(msg, run.Password, "[redacted]")
		}
		return nil, fmt.Errorf("redis-benchmark -c %d -P %d %s: %w: %s", run.Clients, run.Pipeline, run.what(), err, msg)
	}
	figures, err := ParseCSV(&stdout)
	if err != nil {
		return nil, fmt.Errorf("redis-benchmark -c %d -P %d: %w", run.Clients, run.Pipeline, err)
	}
	return figures, nil
}
