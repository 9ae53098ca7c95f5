package harness

import (
	"context"
	"errors"
	"flag"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWaitForNamesWhatItWaitedFor(t *testing.T) {
	err := WaitFor(context.Background(), "the replica link", 50*time.Millisecond, 10*time.Millisecond, func(context.Context) (bool, error) {
		return false, nil
	})
	require.ErrorContains(t, err, "waited up to 50ms for the replica link")

	calls := 0
	err = WaitFor(context.Background(), "three polls", time.Second, time.Millisecond, func(context.Context) (bool, error) {
		calls++
		return calls == 3, nil
	})
	require.NoError(t, err)
	assert.Equal(t, 3, calls)
}

func TestObserveEndsEarlyOnCancel(t *testing.T) {
	require.NoError(t, Observe(context.Background(), time.Millisecond))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Observe(ctx, time.Hour)
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.Canceled))
}

func TestRevertSurvivesTheCallersCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var sawLive bool
	err := Revert(ctx, func(rctx context.Context) error {
		sawLive = rctx.Err() == nil
		_, hasDeadline := rctx.Deadline()
		assert.True(t, hasDeadline, "a revert is bounded")
		return nil
	})
	require.NoError(t, err)
	assert.True(t, sawLive, "the revert ran on a context the Ctrl-C did not cancel")
}

func TestRunKeysCarryThePrefix(t *testing.T) {
	r := &Run{Prefix: "conformance:ab12:dataplane:"}
	assert.Equal(t, "conformance:ab12:dataplane:fr006:replica-0:3", r.Key("fr006", "replica-0", "3"))
}

func TestOpenRejectsBadFlags(t *testing.T) {
	fs := flag.NewFlagSet("suite", flag.ContinueOnError)
	opts := RegisterFlags(fs)
	require.NoError(t, fs.Parse([]string{"--target=nowhere", "--run-id=ok123"}))
	_, _, err := Open(context.Background(), *opts, "x")
	require.ErrorContains(t, err, `--target "nowhere"`)

	opts.Target = TargetSandbox
	opts.RunID = "a*b"
	_, _, err = Open(context.Background(), *opts, "x")
	require.ErrorContains(t, err, "--run-id")
}
