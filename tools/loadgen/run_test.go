package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func baseConfig(mode Mode) Config {
	return Config{
		Mode: mode, Connections: 2, Pipeline: 4, SetRatio: 0.5, KeySpace: 100,
		ValueSize: 8, KeyPrefix: "test:run:", TTL: time.Minute, Seed: 42,
	}
}

func TestOpenLoopSendsEveryScheduledRequestOnce(t *testing.T) {
	cfg := baseConfig(OpenLoop)
	cfg.Rate, cfg.Duration = 4000, 250*time.Millisecond
	dialer := &fakeDialer{}

	res, err := Run(t.Context(), cfg, dialer)

	require.NoError(t, err)
	const scheduled = 1000
	assert.Equal(t, int64(scheduled), res.Requests)
	assert.Equal(t, int64(0), res.Unsent)
	assert.Equal(t, int64(0), res.Errors)
	assert.Len(t, dialer.sent(), scheduled)
	assert.Equal(t, res.Requests, res.Sets+res.Gets)
	// Never faster than the schedule: the last request is released no earlier
	// than its intended time, (scheduled-1)/rate after the start.
	assert.LessOrEqual(t, res.AchievedRate, cfg.Rate*scheduled/(scheduled-1))
	var perSecond int64
	for _, s := range res.PerSecond {
		perSecond += s.Ops
	}
	assert.Equal(t, res.Requests, perSecond)
}

func TestOpenLoopCountsAStallAgainstTheRequestsQueuedBehindIt(t *testing.T) {
	cfg := baseConfig(OpenLoop)
	cfg.Connections, cfg.Pipeline = 1, 1
	cfg.Rate, cfg.Duration = 1000, time.Second
	stall := 50 * time.Millisecond
	dialer := &fakeDialer{stallAt: 200, stall: stall}

	res, err := Run(t.Context(), cfg, dialer)

	require.NoError(t, err)
	require.Equal(t, int64(1000), res.Requests)
	// About 50 requests were due during the stall; measured from their intended
	// send times, at least 25 of them (2.5 %) waited 25 ms or more.
	assert.GreaterOrEqual(t, res.Latency.Max, float64(stall.Milliseconds()))
	assert.GreaterOrEqual(t, res.Latency.P99, 25.0)
}

func TestClosedLoopSendsExactlyTheRequestedCount(t *testing.T) {
	tests := []struct {
		name              string
		conns, pipeline   int
		requests          int64
		wantMaxBatchCalls int
	}{
		{"unpipelined", 3, 1, 100, 100},
		{"pipeline divides count", 2, 10, 100, 10},
		{"pipeline leaves a remainder", 4, 16, 1001, 63},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := baseConfig(ClosedLoop)
			cfg.Connections, cfg.Pipeline, cfg.Requests = tc.conns, tc.pipeline, tc.requests
			dialer := &fakeDialer{}

			res, err := Run(t.Context(), cfg, dialer)

			require.NoError(t, err)
			assert.Equal(t, tc.requests, res.Requests)
			assert.Len(t, dialer.sent(), int(tc.requests))
			assert.LessOrEqual(t, dialer.execs, tc.wantMaxBatchCalls)
			assert.Equal(t, tc.conns, dialer.dials)
		})
	}
}

func TestClosedLoopStopsAfterItsDuration(t *testing.T) {
	cfg := baseConfig(ClosedLoop)
	cfg.Duration = 50 * time.Millisecond

	res, err := Run(t.Context(), cfg, &fakeDialer{})

	require.NoError(t, err)
	assert.Positive(t, res.Requests)
	assert.Positive(t, res.AchievedRate)
}

func TestEveryOpCarriesThePrefixAndEveryWriteATTL(t *testing.T) {
	for _, mode := range []Mode{OpenLoop, ClosedLoop} {
		t.Run(string(mode), func(t *testing.T) {
			cfg := baseConfig(mode)
			cfg.Rate, cfg.Duration, cfg.Requests = 2000, 100*time.Millisecond, 200
			if mode == ClosedLoop {
				cfg.Duration = 0
			}
			dialer := &fakeDialer{}

			_, err := Run(t.Context(), cfg, dialer)

			require.NoError(t, err)
			sets := 0
			for _, op := range dialer.sent() {
				assert.True(t, strings.HasPrefix(op.Key, cfg.KeyPrefix), "key %q", op.Key)
				if op.Kind == OpSet {
					sets++
					assert.Equal(t, cfg.TTL, op.TTL)
					assert.Len(t, op.Value, cfg.ValueSize)
				}
			}
			assert.Positive(t, sets, "a 50 % mix sends some SETs")
		})
	}
}

func TestSetRatioDecidesTheMix(t *testing.T) {
	tests := []struct {
		ratio       float64
		wantAllSets bool
		wantAllGets bool
	}{{1, true, false}, {0, false, true}}
	for _, tc := range tests {
		cfg := baseConfig(ClosedLoop)
		cfg.SetRatio, cfg.Requests = tc.ratio, 100
		res, err := Run(t.Context(), cfg, &fakeDialer{})
		require.NoError(t, err)
		assert.Equal(t, tc.wantAllSets, res.Sets == 100, "ratio %g", tc.ratio)
		assert.Equal(t, tc.wantAllGets, res.Gets == 100, "ratio %g", tc.ratio)
	}
}

func TestFailuresAreCountedSampledAndRedacted(t *testing.T) {
	const secret = "hunter2-not-for-logs"
	tests := []struct {
		name   string
		dialer *fakeDialer
	}{
		{"connection breaks", &fakeDialer{secret: secret, execErr: errors.New("write: broken pipe near " + secret)}},
		{"dial refused", &fakeDialer{secret: secret, dialErr: errors.New("dial 127.0.0.1: refused, auth " + secret)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, mode := range []Mode{OpenLoop, ClosedLoop} {
				cfg := baseConfig(mode)
				cfg.Rate, cfg.Duration, cfg.Requests = 1000, 100*time.Millisecond, 40
				if mode == ClosedLoop {
					cfg.Duration = 0
				}

				res, err := Run(t.Context(), cfg, tc.dialer)

				require.NoError(t, err)
				assert.Positive(t, res.Requests)
				assert.Equal(t, res.Requests, res.Errors)
				assert.Equal(t, 0.0, res.AchievedRate, "failed requests are not throughput")
				require.NotEmpty(t, res.ErrorSamples)
				assert.LessOrEqual(t, len(res.ErrorSamples), maxErrorSamples)
				encoded, err := json.Marshal(res)
				require.NoError(t, err)
				assert.NotContains(t, string(encoded), secret)
				assert.Contains(t, string(encoded), "[redacted]")
			}
		})
	}
}

func TestCancelledRunReportsWhatItDidAndWhatItDidNotSend(t *testing.T) {
	cfg := baseConfig(OpenLoop)
	cfg.Rate, cfg.Duration = 1000, 10*time.Second
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()

	res, err := Run(ctx, cfg, &fakeDialer{})

	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, int64(10_000), res.Requests+res.Unsent)
	assert.Positive(t, res.Unsent)
}

func TestOpenLoopRecordsItsOwnSendLatenessApartFromLatency(t *testing.T) {
	for _, pacer := range Pacers() {
		t.Run(string(pacer), func(t *testing.T) {
			cfg := baseConfig(OpenLoop)
			cfg.Rate, cfg.Duration, cfg.Pacer = 2000, 200*time.Millisecond, pacer

			res, err := Run(t.Context(), cfg, &fakeDialer{})

			require.NoError(t, err)
			require.NotNil(t, res.SendLateness)
			require.NotNil(t, res.LatenessHistogram)
			assert.Equal(t, string(pacer), res.Pacer)
			assert.Equal(t, DefaultSpin.Microseconds(), res.SpinMicros)
			// One lateness per request sent, and lateness is part of latency
			// (which counts from the intended time too).
			assert.Equal(t, res.Requests, res.LatenessHistogram.Count())
			assert.LessOrEqual(t, res.SendLateness.Max, res.Latency.Max)
		})
	}
}

func TestClosedLoopHasNoSendLateness(t *testing.T) {
	cfg := baseConfig(ClosedLoop)
	cfg.Requests = 100

	res, err := Run(t.Context(), cfg, &fakeDialer{})

	require.NoError(t, err)
	assert.Nil(t, res.SendLateness)
	assert.Nil(t, res.LatenessHistogram)
	encoded, err := json.Marshal(res)
	require.NoError(t, err)
	assert.NotContains(t, string(encoded), "send_lateness")
}

func TestAStalledConnectionShowsAsSendLateness(t *testing.T) {
	cfg := baseConfig(OpenLoop)
	cfg.Connections, cfg.Pipeline = 1, 1
	cfg.Rate, cfg.Duration = 1000, time.Second
	stall := 50 * time.Millisecond

	res, err := Run(t.Context(), cfg, &fakeDialer{stallAt: 200, stall: stall})

	require.NoError(t, err)
	require.NotNil(t, res.SendLateness)
	// The requests due during the stall could only leave after it: the
	// generator was late with them, and says so.
	assert.GreaterOrEqual(t, res.SendLateness.P99, 25.0)
	assert.GreaterOrEqual(t, res.SendLateness.Max, float64(stall.Milliseconds())-2)
}

func TestPacersNeverReleaseEarlyAndStopOnCancel(t *testing.T) {
	for _, kind := range Pacers() {
		for _, spin := range []time.Duration{0, DefaultSpin} {
			t.Run(fmt.Sprintf("%s spin %s", kind, spin), func(t *testing.T) {
				p, err := newPacer(kind, spin)
				require.NoError(t, err)
				defer p.Close()
				for _, wait := range []time.Duration{-time.Millisecond, 0, 50 * time.Microsecond, 300 * time.Microsecond, 2 * time.Millisecond} {
					due := time.Now().Add(wait)
					require.NoError(t, p.waitUntil(t.Context(), due))
					assert.False(t, time.Now().Before(due), "released before the due time (wait %s)", wait)
				}
				ctx, cancel := context.WithCancel(t.Context())
				time.AfterFunc(10*time.Millisecond, cancel)
				err = p.waitUntil(ctx, time.Now().Add(time.Hour))
				assert.ErrorIs(t, err, context.Canceled)
				// The next wait on a fresh context still works.
				require.NoError(t, p.waitUntil(t.Context(), time.Now().Add(time.Millisecond)))
			})
		}
	}
}
