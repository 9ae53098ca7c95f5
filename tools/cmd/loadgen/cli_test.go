package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redis-shared/conformance/tools/exitcode"
	"github.com/redis-shared/conformance/tools/loadgen"
	"github.com/redis-shared/conformance/tools/loadgen/localredis"
)

func TestParseRun(t *testing.T) {
	base := []string{"-addr", "127.0.0.1:6379", "-prefix", "conf:run1:"}
	tests := []struct {
		name    string
		args    []string
		check   func(t *testing.T, o runOptions)
		wantErr string
	}{
		{
			name: "open loop with defaults",
			args: append([]string{"-rate", "10000", "-duration", "30s"}, base...),
			check: func(t *testing.T, o runOptions) {
				assert.Equal(t, loadgen.OpenLoop, o.cfg.Mode)
				assert.Equal(t, 10000.0, o.cfg.Rate)
				assert.Equal(t, 30*time.Second, o.cfg.Duration)
				assert.Equal(t, 10*time.Minute, o.cfg.TTL)
				assert.Equal(t, loadgen.DefaultClient, o.client)
				assert.True(t, o.cleanup)
				assert.Equal(t, "REDIS_PASSWORD", o.passwordEnv)
				assert.Equal(t, loadgen.DefaultPacer, o.cfg.Pacer)
				assert.Equal(t, loadgen.DefaultSpin, o.cfg.Spin)
			},
		},
		{
			name: "open loop on Go timers without a spin",
			args: append([]string{"-rate", "100", "-duration", "1s", "-pacer", "go-timer", "-spin", "0s"}, base...),
			check: func(t *testing.T, o runOptions) {
				assert.Equal(t, loadgen.PacerGoTimer, o.cfg.Pacer)
				assert.Negative(t, o.cfg.Spin, "Config's no-spin")
			},
		},
		{
			name: "closed loop by count with pipelining",
			args: append([]string{"-mode", "closed", "-requests", "1000", "-conns", "50", "-pipeline", "16", "-client", "rueidis", "-set-ratio", "1"}, base...),
			check: func(t *testing.T, o runOptions) {
				assert.Equal(t, loadgen.ClosedLoop, o.cfg.Mode)
				assert.Equal(t, int64(1000), o.cfg.Requests)
				assert.Equal(t, 50, o.cfg.Connections)
				assert.Equal(t, 16, o.cfg.Pipeline)
				assert.Equal(t, "rueidis", o.client)
				assert.Equal(t, 1.0, o.cfg.SetRatio)
			},
		},
		{name: "unknown flag", args: append([]string{"-password", "x"}, base...), wantErr: "flag provided but not defined: -password"},
		{name: "missing addr", args: []string{"-prefix", "conf:run1:", "-rate", "1", "-duration", "1s"}, wantErr: "-addr is required"},
		{name: "addr without port", args: []string{"-addr", "redis", "-prefix", "conf:run1:", "-rate", "1", "-duration", "1s"}, wantErr: "not host:port"},
		{name: "missing prefix", args: []string{"-addr", "127.0.0.1:1", "-rate", "1", "-duration", "1s"}, wantErr: "key prefix"},
		{name: "zero ttl", args: append([]string{"-rate", "1", "-duration", "1s", "-ttl", "0s"}, base...), wantErr: "ttl"},
		{name: "open loop without rate", args: append([]string{"-duration", "1s"}, base...), wantErr: "rate > 0"},
		{name: "bad mode", args: append([]string{"-mode", "burst", "-duration", "1s"}, base...), wantErr: `mode "burst"`},
		{name: "bad number", args: append([]string{"-rate", "lots"}, base...), wantErr: "invalid value"},
		{name: "zero connections", args: append([]string{"-rate", "1", "-duration", "1s", "-conns", "0"}, base...), wantErr: "-conns and -pipeline"},
		{name: "unknown client", args: append([]string{"-rate", "1", "-duration", "1s", "-client", "jedis"}, base...), wantErr: `-client "jedis"`},
		{name: "stray argument", args: append(append([]string{"-rate", "1", "-duration", "1s"}, base...), "extra"), wantErr: `unexpected argument "extra"`},
		{name: "unknown pacer", args: append([]string{"-rate", "1", "-duration", "1s", "-pacer", "sleep"}, base...), wantErr: `pacer "sleep"`},
		{name: "negative spin", args: append([]string{"-rate", "1", "-duration", "1s", "-spin", "-1ms"}, base...), wantErr: "-spin must not be negative"},
		{name: "zero read timeout", args: append([]string{"-rate", "1", "-duration", "1s", "-read-timeout", "0s"}, base...), wantErr: "-read-timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseRun(tc.args)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				assert.NotContains(t, err.Error(), "\n", "errors are one line")
				return
			}
			require.NoError(t, err)
			tc.check(t, o)
		})
	}
}

func TestParseCleanup(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "valid", args: []string{"-addr", "127.0.0.1:6379", "-prefix", "conf:run1:"}},
		{name: "no prefix would match everything", args: []string{"-addr", "127.0.0.1:6379"}, wantErr: "key prefix"},
		{name: "glob prefix", args: []string{"-addr", "127.0.0.1:6379", "-prefix", "conf*"}, wantErr: "glob"},
		{name: "no addr", args: []string{"-prefix", "conf:run1:"}, wantErr: "-addr"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, prefix, err := parseCleanup(tc.args)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "conf:run1:", prefix)
		})
	}
}

func TestParseBench(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		check   func(t *testing.T, b benchOptions)
		wantErr string
	}{
		{name: "defaults follow the issue", args: nil, check: func(t *testing.T, b benchOptions) {
			assert.Equal(t, 50, b.opts.Clients)
			assert.Equal(t, 16, b.opts.Pipeline)
			assert.Equal(t, []float64{10_000, 50_000}, b.opts.Rates)
			assert.Equal(t, []int{1, 16}, b.opts.BaselineClients)
			assert.False(t, b.asJSON)
		}},
		{name: "baseline connection counts", args: []string{"-baseline-conns", "1, 8", "-baseline-n", "1000"}, check: func(t *testing.T, b benchOptions) {
			assert.Equal(t, []int{1, 8}, b.opts.BaselineClients)
			assert.Equal(t, 1000, b.opts.BaselineRequests)
		}},
		{name: "bad baseline connections", args: []string{"-baseline-conns", "1,x"}, wantErr: `-baseline-conns: "x" is not a count`},
		{name: "zero baseline requests", args: []string{"-baseline-n", "0"}, wantErr: "-baseline-n must be > 0"},
		{name: "custom rates and clients", args: []string{"-rates", "1000, 2500", "-clients", "go-redis", "-json"}, check: func(t *testing.T, b benchOptions) {
			assert.Equal(t, []float64{1000, 2500}, b.opts.Rates)
			assert.Equal(t, []string{"go-redis"}, b.opts.Libraries)
			assert.True(t, b.asJSON)
		}},
		{name: "bad rate", args: []string{"-rates", "10k"}, wantErr: `"10k" is not a rate`},
		{name: "negative rate", args: []string{"-rates", "-5"}, wantErr: "is not a rate"},
		{name: "unknown client", args: []string{"-clients", "go-redis,hiredis"}, wantErr: `"hiredis"`},
		{name: "zero rounds", args: []string{"-rounds", "0"}, wantErr: "-rounds must be > 0"},
		{name: "zero duration", args: []string{"-open-duration", "0s"}, wantErr: "-open-duration"},
		{name: "negative generator procs", args: []string{"-generator-procs", "-1"}, wantErr: "-generator-procs must be >= 0"},
		{name: "generator procs", args: []string{"-generator-procs", "2"}, check: func(t *testing.T, b benchOptions) {
			assert.Equal(t, 2, b.opts.GeneratorProcs)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := parseBench(tc.args)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				assert.NotContains(t, err.Error(), "\n")
				return
			}
			require.NoError(t, err)
			tc.check(t, b)
		})
	}
}

func TestHelpPrintsEveryFlagAndExitsZero(t *testing.T) {
	tests := []struct {
		command, flag string
	}{
		{"run", "-rate"},
		{"cleanup", "-prefix"},
		{"bench", "-rates"},
	}
	for _, tc := range tests {
		t.Run(tc.command, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(t.Context(), []string{tc.command, "--help"}, streams{out: &out, errOut: &errOut}, func(string) string { return "" })
			assert.Equal(t, exitcode.OK, code)
			assert.Contains(t, out.String(), "usage of loadgen "+tc.command)
			assert.Contains(t, out.String(), tc.flag)
			assert.Empty(t, errOut.String())
		})
	}
}

func TestBadInvocationsExitTwoWithOneLine(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"no command", nil},
		{"unknown command", []string{"flood"}},
		{"bad run flag", []string{"run", "-nope"}},
		{"bad cleanup flag", []string{"cleanup", "-addr", "127.0.0.1:1"}},
		{"bad bench flag", []string{"bench", "-rates", "x"}},
		{"unreadable password file", []string{"run", "-addr", "127.0.0.1:1", "-prefix", "conf:run1:", "-rate", "1", "-duration", "1s", "-password-file", "/nonexistent/pw"}},
		{"password file is a directory", []string{"run", "-addr", "127.0.0.1:1", "-prefix", "conf:run1:", "-rate", "1", "-duration", "1s", "-password-file", "/"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(t.Context(), tc.args, streams{out: &out, errOut: &errOut}, func(string) string { return "" })
			assert.Equal(t, exitcode.CouldNotRun, code)
			assert.Empty(t, out.String())
			assert.Equal(t, 1, strings.Count(errOut.String(), "\n"), "one line: %q", errOut.String())
		})
	}
}

func TestRunAgainstRealRedisPrintsJSONAndCleansUp(t *testing.T) {
	if ok, why := localredis.Available(); !ok {
		t.Skip(why)
	}
	srv, err := localredis.Start(t.Context(), localredis.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop() })
	pwFile := filepath.Join(t.TempDir(), "pw")
	require.NoError(t, os.WriteFile(pwFile, []byte(srv.Password+"\n"), 0o600))
	tests := []struct {
		name   string
		auth   []string
		getenv func(string) string
	}{
		{"password from env", nil, func(name string) string {
			if name == "REDIS_PASSWORD" {
				return srv.Password
			}
			return ""
		}},
		{"password from file", []string{"-password-file", pwFile}, func(string) string { return "" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := append([]string{"run", "-addr", srv.Addr, "-prefix", "loadgen-cli:test:", "-rate", "2000", "-duration", "200ms", "-conns", "2"}, tc.auth...)

			code := run(t.Context(), args, streams{out: &out, errOut: &errOut}, tc.getenv)

			require.Equal(t, exitcode.OK, code, errOut.String())
			var report runReport
			require.NoError(t, json.Unmarshal(out.Bytes(), &report))
			assert.Equal(t, int64(400), report.Requests)
			assert.Equal(t, int64(0), report.Errors, report.ErrorSamples)
			require.NotNil(t, report.SendLateness, "open loop reports its own send lateness")
			require.NotNil(t, report.LatenessHistogram)
			assert.Equal(t, int64(400), report.LatenessHistogram.Count())
			assert.Equal(t, string(loadgen.DefaultPacer), report.Pacer)
			require.NotNil(t, report.Cleanup)
			assert.Positive(t, report.Cleanup.Deleted)
			assert.Equal(t, 0, report.Cleanup.Remaining)
			assert.NotContains(t, out.String()+errOut.String(), srv.Password)
		})
	}
}
