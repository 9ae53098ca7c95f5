package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis-shared/conformance/tools/exitcode"
	"github.com/redis-shared/conformance/tools/loadgen"
	"github.com/redis-shared/conformance/tools/loadgen/benchcmp"
	"github.com/redis-shared/conformance/tools/loadgen/localredis"
	"github.com/redis-shared/conformance/tools/safeio"
)

type streams struct {
	out, errOut io.Writer
}

const usage = "usage: loadgen run|cleanup|bench [flags] (loadgen <command> -h lists them)"

func run(ctx context.Context, args []string, s streams, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprintln(s.errOut, usage)
		return exitcode.CouldNotRun
	}
	switch args[0] {
	case "run":
		return runLoad(ctx, args[1:], s, getenv)
	case "cleanup":
		return runCleanup(ctx, args[1:], s, getenv)
	case "bench":
		return runBench(ctx, args[1:], s)
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(s.out, usage)
		return exitcode.OK
	default:
		fmt.Fprintf(s.errOut, "loadgen: unknown command %q; %s\n", args[0], usage)
		return exitcode.CouldNotRun
	}
}

// helpError is what a parse returns for -h/--help: the caller prints the flag set's
// full usage and exits 0 (a usage error stays one line and exit 2).
type helpError struct{ fs *flag.FlagSet }

func (helpError) Error() string { return "help requested" }

// parseFailed reports a parse error: the full usage on stdout for -h, one line on
// stderr otherwise. done is false when there was no error.
func parseFailed(err error, s streams) (code int, done bool) {
	var help helpError
	switch {
	case err == nil:
		return exitcode.OK, false
	case errors.As(err, &help):
		fmt.Fprintf(s.out, "usage of %s:\n", help.fs.Name())
		help.fs.SetOutput(s.out)
		help.fs.PrintDefaults()
		return exitcode.OK, true
	default:
		fmt.Fprintln(s.errOut, err)
		return exitcode.CouldNotRun, true
	}
}

// endpointFlags are shared by the commands that talk to a given server.
type endpointFlags struct {
	endpoint     loadgen.Endpoint
	passwordFile string
	passwordEnv  string
}

func (e *endpointFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&e.endpoint.Addr, "addr", "", "host:port of the Redis server (required)")
	fs.StringVar(&e.endpoint.Username, "user", "", "ACL user name (default: the default user)")
	fs.StringVar(&e.passwordFile, "password-file", "", "file holding the password (wins over -password-env)")
	fs.StringVar(&e.passwordEnv, "password-env", "REDIS_PASSWORD", "environment variable holding the password")
	fs.DurationVar(&e.endpoint.DialTimeout, "dial-timeout", loadgen.DefaultDialTimeout, "deadline of each connect")
	fs.DurationVar(&e.endpoint.ReadTimeout, "read-timeout", loadgen.DefaultReadTimeout, "deadline of each read")
	fs.DurationVar(&e.endpoint.WriteTimeout, "write-timeout", loadgen.DefaultWriteTimeout, "deadline of each write")
}

func (e *endpointFlags) check() error {
	if e.endpoint.Addr == "" {
		return errors.New("-addr is required")
	}
	if !strings.Contains(e.endpoint.Addr, ":") {
		return fmt.Errorf("-addr %q is not host:port", e.endpoint.Addr)
	}
	if e.endpoint.DialTimeout <= 0 || e.endpoint.ReadTimeout <= 0 || e.endpoint.WriteTimeout <= 0 {
		return errors.New("-dial-timeout, -read-timeout and -write-timeout must be > 0")
	}
	return nil
}

// resolvePassword reads the password from the file or environment; the value
// never appears in an error.
func (e *endpointFlags) resolvePassword(getenv func(string) string) (loadgen.Endpoint, error) {
	ep := e.endpoint
	switch {
	case e.passwordFile != "":
		// A regular file of bounded size only: a FIFO or /dev/zero must not hang the run.
		b, err := safeio.ReadInput(e.passwordFile, 64*1024)
		if err != nil {
			return ep, fmt.Errorf("read -password-file: %w", err)
		}
		ep.Password = strings.TrimRight(string(b), "\r\n")
	case e.passwordEnv != "":
		ep.Password = getenv(e.passwordEnv)
	}
	return ep, nil
}

// runOptions is what `loadgen run` parsed from its flags.
type runOptions struct {
	endpointFlags
	cfg     loadgen.Config
	client  string
	cleanup bool
	mode    string
}

func parseRun(args []string) (runOptions, error) {
	var o runOptions
	fs := flag.NewFlagSet("loadgen run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o.register(fs)
	fs.StringVar(&o.mode, "mode", string(loadgen.OpenLoop), "open (fixed rate) or closed (max throughput)")
	fs.Float64Var(&o.cfg.Rate, "rate", 0, "open loop: target ops/s")
	fs.DurationVar(&o.cfg.Duration, "duration", 0, "run length")
	fs.Int64Var(&o.cfg.Requests, "requests", 0, "closed loop: stop after this many requests")
	fs.IntVar(&o.cfg.Connections, "conns", 16, "connections")
	fs.IntVar(&o.cfg.Pipeline, "pipeline", 1, "commands per pipeline")
	fs.Float64Var(&o.cfg.SetRatio, "set-ratio", 0.5, "fraction of SETs, 0..1")
	fs.IntVar(&o.cfg.KeySpace, "keyspace", loadgen.DefaultKeySpace, "distinct keys")
	fs.IntVar(&o.cfg.ValueSize, "value-size", loadgen.DefaultValueSize, "SET value bytes")
	fs.StringVar(&o.cfg.KeyPrefix, "prefix", "", "key prefix for this run (required)")
	fs.DurationVar(&o.cfg.TTL, "ttl", 10*time.Minute, "TTL of every written key (> 0)")
	pacer := fs.String("pacer", string(loadgen.DefaultPacer), "open loop: how workers wait for each send time: "+joinPacers())
	fs.DurationVar(&o.cfg.Spin, "spin", loadgen.DefaultSpin, "open loop: busy-wait this last stretch before each send (0: none)")
	fs.StringVar(&o.client, "client", loadgen.DefaultClient, "client library: "+strings.Join(loadgen.Clients(), ", "))
	fs.BoolVar(&o.cleanup, "cleanup", true, "delete the prefix's keys afterwards and count what is left")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, helpError{fs}
		}
		return o, fmt.Errorf("loadgen run: %w", err)
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("loadgen run: unexpected argument %q", fs.Arg(0))
	}
	o.cfg.Mode = loadgen.Mode(o.mode)
	o.cfg.Pacer = loadgen.Pacer(*pacer)
	var errs []error
	if o.cfg.Spin < 0 {
		errs = append(errs, fmt.Errorf("-spin must not be negative, got %s", o.cfg.Spin))
	}
	if o.cfg.Spin == 0 {
		o.cfg.Spin = -1 // Config's "no spin"; its zero means the default
	}
	if err := o.check(); err != nil {
		errs = append(errs, err)
	}
	if err := o.cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	if o.cfg.Connections <= 0 || o.cfg.Pipeline <= 0 {
		errs = append(errs, errors.New("-conns and -pipeline must be > 0"))
	}
	if !contains(loadgen.Clients(), o.client) {
		errs = append(errs, fmt.Errorf("-client %q is not one of %s", o.client, strings.Join(loadgen.Clients(), ", ")))
	}
	if err := errors.Join(errs...); err != nil {
		return o, fmt.Errorf("loadgen run: %s", oneLine(err))
	}
	return o, nil
}

// runReport is the JSON `loadgen run` prints.
type runReport struct {
	loadgen.Result
	Cleanup *cleanupReport `json:"cleanup,omitempty"`
}

type cleanupReport struct {
	Prefix    string `json:"prefix"`
	Deleted   int    `json:"deleted"`
	Remaining int    `json:"remaining"`
	Error     string `json:"error,omitempty"`
}

func runLoad(ctx context.Context, args []string, s streams, getenv func(string) string) int {
	o, err := parseRun(args)
	if code, done := parseFailed(err, s); done {
		return code
	}
	ep, err := o.resolvePassword(getenv)
	if err != nil {
		fmt.Fprintf(s.errOut, "loadgen run: %v\n", err)
		return exitcode.CouldNotRun
	}
	dialer, err := loadgen.NewDialer(o.client, ep, o.cfg.Connections)
	if err != nil {
		fmt.Fprintf(s.errOut, "loadgen run: %v\n", err)
		return exitcode.CouldNotRun
	}
	defer dialer.Close()
	res, runErr := loadgen.Run(ctx, o.cfg, dialer)
	report := runReport{Result: res}
	if o.cleanup {
		c := cleanupPrefix(ep, o.cfg.KeyPrefix)
		report.Cleanup = &c
	}
	if err := writeJSON(s.out, report); err != nil {
		fmt.Fprintf(s.errOut, "loadgen run: %v\n", err)
		return exitcode.Failed
	}
	if runErr != nil {
		fmt.Fprintf(s.errOut, "loadgen run: %v\n", runErr)
		return exitcode.Failed
	}
	if c := report.Cleanup; c != nil && c.Error != "" {
		fmt.Fprintf(s.errOut, "loadgen run: cleanup of %q failed: %s\n", c.Prefix, c.Error)
		return exitcode.Failed
	}
	if c := report.Cleanup; c != nil && c.Remaining > 0 {
		fmt.Fprintf(s.errOut, "loadgen run: cleanup left %d keys under %q\n", c.Remaining, c.Prefix)
		return exitcode.Failed
	}
	return exitcode.OK
}

// cleanupPrefix runs on its own context so that an interrupted run still cleans up.
func cleanupPrefix(ep loadgen.Endpoint, prefix string) cleanupReport {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	report := cleanupReport{Prefix: prefix}
	client := loadgen.NewKeyStoreClient(ep)
	defer client.Close()
	var err error
	if report.Deleted, err = loadgen.Cleanup(ctx, client, prefix); err == nil {
		report.Remaining, err = loadgen.Remaining(ctx, client, prefix)
	}
	if err != nil {
		report.Error = redact(err.Error(), ep.Password)
	}
	return report
}

func parseCleanup(args []string) (endpointFlags, string, error) {
	var e endpointFlags
	var prefix string
	fs := flag.NewFlagSet("loadgen cleanup", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	e.register(fs)
	fs.StringVar(&prefix, "prefix", "", "delete every key under this prefix (required)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return e, "", helpError{fs}
		}
		return e, "", fmt.Errorf("loadgen cleanup: %w", err)
	}
	if fs.NArg() > 0 {
		return e, "", fmt.Errorf("loadgen cleanup: unexpected argument %q", fs.Arg(0))
	}
	errs := []error{e.check(), loadgen.ValidatePrefix(prefix)}
	if err := errors.Join(errs...); err != nil {
		return e, "", fmt.Errorf("loadgen cleanup: %s", oneLine(err))
	}
	return e, prefix, nil
}

func runCleanup(_ context.Context, args []string, s streams, getenv func(string) string) int {
	e, prefix, err := parseCleanup(args)
	if code, done := parseFailed(err, s); done {
		return code
	}
	ep, err := e.resolvePassword(getenv)
	if err != nil {
		fmt.Fprintf(s.errOut, "loadgen cleanup: %v\n", err)
		return exitcode.CouldNotRun
	}
	report := cleanupPrefix(ep, prefix)
	if err := writeJSON(s.out, report); err != nil {
		fmt.Fprintf(s.errOut, "loadgen cleanup: %v\n", err)
		return exitcode.Failed
	}
	if report.Error != "" {
		fmt.Fprintf(s.errOut, "loadgen cleanup: %s\n", report.Error)
		return exitcode.Failed
	}
	if report.Remaining > 0 {
		fmt.Fprintf(s.errOut, "loadgen cleanup: %d keys remain under %q\n", report.Remaining, prefix)
		return exitcode.Failed
	}
	return exitcode.OK
}

// benchOptions is what `loadgen bench` parsed.
type benchOptions struct {
	opts   benchcmp.Options
	asJSON bool
}

func parseBench(args []string) (benchOptions, error) {
	b := benchOptions{opts: benchcmp.DefaultOptions()}
	fs := flag.NewFlagSet("loadgen bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o := &b.opts
	fs.IntVar(&o.Clients, "c", o.Clients, "connections, as redis-benchmark -c")
	fs.IntVar(&o.Pipeline, "P", o.Pipeline, "pipeline depth of the pipelined comparison, as redis-benchmark -P")
	fs.IntVar(&o.Requests, "n", o.Requests, "requests per unpipelined run, as redis-benchmark -n")
	fs.IntVar(&o.PipelinedRequests, "pn", o.PipelinedRequests, "requests per pipelined run")
	fs.IntVar(&o.KeySpace, "keyspace", o.KeySpace, "random key space, as redis-benchmark -r")
	fs.IntVar(&o.ValueSize, "value-size", o.ValueSize, "value bytes, as redis-benchmark -d")
	fs.IntVar(&o.Rounds, "rounds", o.Rounds, "rounds; figures are medians")
	fs.IntVar(&o.RedisBenchmarkThreads, "rb-threads", o.RedisBenchmarkThreads, "redis-benchmark --threads (1: single-threaded, as its default)")
	fs.IntVar(&o.GeneratorProcs, "generator-procs", o.GeneratorProcs, "GOMAXPROCS of the generator in the closed-loop runs (0: as -rb-threads, the same thread budget)")
	rates := fs.String("rates", joinRates(o.Rates), "open-loop rates in ops/s, comma separated")
	fs.DurationVar(&o.OpenDuration, "open-duration", o.OpenDuration, "length of each open-loop run")
	fs.IntVar(&o.OpenConnections, "open-conns", o.OpenConnections, "connections of the open-loop runs")
	baselineConns := fs.String("baseline-conns", joinInts(o.BaselineClients), "connection counts of the redis-benchmark latency baseline, comma separated")
	fs.IntVar(&o.BaselineRequests, "baseline-n", o.BaselineRequests, "requests per redis-benchmark baseline run")
	libs := fs.String("clients", strings.Join(o.Libraries, ","), "client libraries to measure, comma separated")
	fs.BoolVar(&b.asJSON, "json", false, "print the report as JSON instead of a table")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return b, helpError{fs}
		}
		return b, fmt.Errorf("loadgen bench: %w", err)
	}
	if fs.NArg() > 0 {
		return b, fmt.Errorf("loadgen bench: unexpected argument %q", fs.Arg(0))
	}
	var errs []error
	var err error
	if o.Rates, err = parseRates(*rates); err != nil {
		errs = append(errs, err)
	}
	if o.BaselineClients, err = parseInts(*baselineConns); err != nil {
		errs = append(errs, fmt.Errorf("-baseline-conns: %w", err))
	}
	o.Libraries = strings.Split(*libs, ",")
	for _, lib := range o.Libraries {
		if !contains(loadgen.Clients(), lib) {
			errs = append(errs, fmt.Errorf("-clients: %q is not one of %s", lib, strings.Join(loadgen.Clients(), ", ")))
		}
	}
	for _, positive := range []struct {
		name  string
		value int
	}{{"-c", o.Clients}, {"-P", o.Pipeline}, {"-n", o.Requests}, {"-pn", o.PipelinedRequests}, {"-keyspace", o.KeySpace}, {"-value-size", o.ValueSize}, {"-rounds", o.Rounds}, {"-open-conns", o.OpenConnections}, {"-rb-threads", o.RedisBenchmarkThreads}, {"-baseline-n", o.BaselineRequests}} {
		if positive.value <= 0 {
			errs = append(errs, fmt.Errorf("%s must be > 0, got %d", positive.name, positive.value))
		}
	}
	if o.OpenDuration <= 0 {
		errs = append(errs, fmt.Errorf("-open-duration must be > 0, got %s", o.OpenDuration))
	}
	if o.GeneratorProcs < 0 {
		errs = append(errs, fmt.Errorf("-generator-procs must be >= 0, got %d", o.GeneratorProcs))
	}
	if err := errors.Join(errs...); err != nil {
		return b, fmt.Errorf("loadgen bench: %s", oneLine(err))
	}
	return b, nil
}

func runBench(ctx context.Context, args []string, s streams) int {
	b, err := parseBench(args)
	if code, done := parseFailed(err, s); done {
		return code
	}
	if ok, why := localredis.Available(); !ok {
		fmt.Fprintf(s.errOut, "loadgen bench: %s\n", why)
		return exitcode.Failed
	}
	dir, err := os.MkdirTemp("", "loadgen-bench-")
	if err != nil {
		fmt.Fprintf(s.errOut, "loadgen bench: %v\n", err)
		return exitcode.Failed
	}
	defer os.RemoveAll(dir)
	srv, err := localredis.Start(ctx, localredis.Options{Dir: dir})
	if err != nil {
		fmt.Fprintf(s.errOut, "loadgen bench: %v\n", err)
		return exitcode.Failed
	}
	defer srv.Stop()
	report, err := benchcmp.Run(ctx, srv, b.opts)
	if err != nil {
		fmt.Fprintf(s.errOut, "loadgen bench: %v\n", redact(err.Error(), srv.Password))
		return exitcode.Failed
	}
	if b.asJSON {
		err = writeJSON(s.out, report)
	} else {
		err = benchcmp.WriteTable(s.out, report)
	}
	if err != nil {
		fmt.Fprintf(s.errOut, "loadgen bench: %v\n", err)
		return exitcode.Failed
	}
	return exitcode.OK
}

func parseRates(list string) ([]float64, error) {
	var rates []float64
	for _, field := range strings.Split(list, ",") {
		rate, err := strconv.ParseFloat(strings.TrimSpace(field), 64)
		if err != nil || rate <= 0 {
			return nil, fmt.Errorf("-rates: %q is not a rate > 0", field)
		}
		rates = append(rates, rate)
	}
	return rates, nil
}

func parseInts(list string) ([]int, error) {
	var out []int
	for _, field := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a count > 0", field)
		}
		out = append(out, n)
	}
	return out, nil
}

func joinInts(values []int) string {
	fields := make([]string, len(values))
	for i, v := range values {
		fields[i] = strconv.Itoa(v)
	}
	return strings.Join(fields, ",")
}

func joinRates(rates []float64) string {
	fields := make([]string, len(rates))
	for i, r := range rates {
		fields[i] = strconv.FormatFloat(r, 'f', -1, 64)
	}
	return strings.Join(fields, ",")
}

// writeJSON prints v as one line: the output is read by programs (pipe to jq
// for people).
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }

func redact(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "[redacted]")
}

func joinPacers() string {
	names := make([]string, 0, len(loadgen.Pacers()))
	for _, p := range loadgen.Pacers() {
		names = append(names, string(p))
	}
	return strings.Join(names, ", ")
}

func contains(list []string, v string) bool {
	for _, item := range list {
		if item == v {
			return true
		}
	}
	return false
}
