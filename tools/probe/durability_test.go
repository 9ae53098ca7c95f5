package probe

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redis-shared/conformance/tools/loadgen"
	"github.com/redis-shared/conformance/tools/loadgen/localredis"
)

// startRestartable starts a real redis-server that a test can kill with SIGKILL and
// start again on the same port and data dir (a probe must reconnect to the same
// address): the settings follow Redis's defaults (no AOF), not localredis's.
func startRestartable(t *testing.T, password string, settings ...string) *localredis.Server {
	t.Helper()
	if ok, why := localredis.Available(); !ok {
		t.Skip(why)
	}
	srv, err := localredis.Start(t.Context(), localredis.Options{Dir: t.TempDir(), Password: password,
		Settings: append([]string{"appendonly no", "masterauth " + password}, settings...)})
	require.NoError(t, err)
	t.Cleanup(srv.Kill)
	return srv
}

// killAndRestart kills the server after warm and starts it again after down.
func killAndRestart(t *testing.T, s *localredis.Server, warm, down time.Duration) chan struct{} {
	back := make(chan struct{})
	go func() {
		defer close(back)
		time.Sleep(warm) // a fixed point in the run, not a wait for a condition
		s.Kill()
		time.Sleep(down)
		assert.NoError(t, s.Restart(context.Background()), "restart redis-server on %s", s.Addr)
	}()
	return back
}

func endpointOf(s *localredis.Server) loadgen.Endpoint {
	return loadgen.Endpoint{Addr: s.Addr, Password: s.Password}.WithDefaults()
}

const testPassword = "durability-test-password"

func TestDurabilityAcrossAKill(t *testing.T) {
	// With persistence the writers cycle over their keys (an overwrite must survive
	// too); without it each write has a key of its own, so writes after the restart do
	// not overwrite the lost ones.
	tests := []struct {
		name          string
		settings      []string
		keysPerWriter int
		wantLoss      bool
	}{
		{"appendfsync always keeps every acknowledged write", []string{"appendonly yes", "appendfsync always"}, 500, false},
		{"without persistence every acknowledged write before the kill is lost", []string{"appendonly no"}, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := startRestartable(t, testPassword, tc.settings...)
			back := killAndRestart(t, srv, 700*time.Millisecond, 300*time.Millisecond)
			rep, err := Durability(context.Background(), endpointOf(srv), DurabilityConfig{
				Prefix: "conformance:test:sc007:", Duration: 2 * time.Second, TTL: time.Minute,
				Writers: 4, Pipeline: 8, Every: 2 * time.Millisecond, Recover: 10 * time.Second,
				ValueSize: 256, KeysPerWriter: tc.keysPerWriter,
			})
			<-back
			require.NoError(t, err)
			t.Logf("acknowledged %d on %d keys, failed %d, reconnects %d, lost %d, evicted %d, aof_enabled %s", rep.Acknowledged, rep.Keys, rep.FailedWrites, rep.Reconnects, rep.Lost, rep.EvictedKeys, rep.AOFEnabled)
			if tc.keysPerWriter > 0 {
				assert.Greater(t, rep.Acknowledged, rep.Keys, "each writer overwrote its own keys")
				assert.LessOrEqual(t, rep.Keys, 4*tc.keysPerWriter)
			} else {
				assert.Equal(t, rep.Acknowledged, rep.Keys)
			}
			assert.Zero(t, rep.EvictedKeys)
			assert.Positive(t, rep.FailedWrites, "the kill interrupted the writes")
			if tc.keysPerWriter == 0 {
				assert.Positive(t, rep.Reconnects, "the writers came back after the restart")
			}
			if tc.wantLoss {
				assert.Positive(t, rep.Lost)
				assert.NotEmpty(t, rep.LostSample)
			} else {
				assert.Zero(t, rep.Lost, "lost: %v", rep.LostSample)
			}
			require.NotNil(t, rep.Cleanup)
			assert.Zero(t, rep.Cleanup.Left())
			assert.Empty(t, rep.Cleanup.Error)
		})
	}
}

func TestDurabilityMasterNeverBack(t *testing.T) {
	srv := startRestartable(t, testPassword, "appendonly yes")
	go func() { time.Sleep(300 * time.Millisecond); srv.Kill() }()
	began := time.Now()
	rep, err := Durability(context.Background(), endpointOf(srv), DurabilityConfig{
		Prefix: "conformance:test:sc007:", Duration: time.Second, TTL: time.Minute,
		Writers: 2, Pipeline: 4, Every: 2 * time.Millisecond, Recover: time.Second,
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "did not answer again within 1s")
	assert.Positive(t, rep.Acknowledged)
	assert.Less(t, time.Since(began), 10*time.Second, "bounded")
	assert.NotContains(t, fmt.Sprint(rep, err), testPassword)
}

func TestOutageAcrossAMasterKill(t *testing.T) {
	// No 5 s diskless-sync delay (the default) before the replica has the data.
	master := startRestartable(t, testPassword, "appendonly yes", "appendfsync always", "repl-diskless-sync-delay 0")
	replica := startRestartable(t, testPassword, "replicaof 127.0.0.1 "+strings.Split(master.Addr, ":")[1])
	back := killAndRestart(t, master, time.Second, 500*time.Millisecond)
	rep, err := Outage(context.Background(), endpointOf(master), OutageConfig{
		Prefix: "conformance:test:sc002:", ReadAddr: replica.Addr,
		Duration: 2 * time.Second, Every: 10 * time.Millisecond, TTL: time.Minute, Recover: 10 * time.Second,
	})
	<-back
	require.NoError(t, err)
	t.Logf("reads %d (failed %d, stale %d), writes %d (failed %d), write outage %.3f s", rep.Reads, rep.FailedReads, rep.StaleReads, rep.Writes, rep.FailedWrites, rep.WriteOutageSeconds)
	assert.Zero(t, rep.FailedReads, "the replica served reads while the master was down: %s", rep.FirstReadError)
	assert.Positive(t, rep.Reads)
	assert.Positive(t, rep.FailedWrites)
	assert.True(t, rep.WritesRecovered)
	// The server was down for 500 ms plus its start: the outage is that long, give or
	// take one request interval (and slack for a loaded machine above).
	assert.GreaterOrEqual(t, rep.WriteOutageSeconds, 0.49)
	assert.Less(t, rep.WriteOutageSeconds, 2.0)
	assert.InDelta(t, rep.WriteOutageSeconds/0.010, rep.FailedWrites, 10, "one failed write per 10 ms of outage")
	require.NotNil(t, rep.Cleanup)
	assert.Zero(t, rep.Cleanup.Left())
}

// An evicted key reads back missing, like a lost one: the report counts evictions so
// that such a run is not taken for proof.
func TestDurabilityCountsEvictions(t *testing.T) {
	srv := startRestartable(t, testPassword, "appendonly no", "maxmemory 4mb", "maxmemory-policy allkeys-lru")
	rep, err := Durability(context.Background(), endpointOf(srv), DurabilityConfig{
		Prefix: "conformance:test:sc007:", Duration: time.Second, TTL: time.Minute,
		Writers: 2, Pipeline: 16, Every: time.Millisecond, Recover: 2 * time.Second,
		ValueSize: 1024, KeysPerWriter: 10_000,
	})
	require.NoError(t, err)
	t.Logf("acknowledged %d on %d keys, lost %d, evicted %d", rep.Acknowledged, rep.Keys, rep.Lost, rep.EvictedKeys)
	assert.Positive(t, rep.EvictedKeys)
	assert.Positive(t, rep.Lost, "an evicted key reads back missing")
}

// With the replica down, SET+GET on the master all succeed and every read of the
// replica's address fails; with it up, the reads answer.
func TestOutageWithTheReplicaDown(t *testing.T) {
	master := startRestartable(t, testPassword, "appendonly no")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	down := l.Addr().String()
	require.NoError(t, l.Close())
	for _, tc := range []struct {
		name, readAddr  string
		wantFailedReads bool
	}{{"replica down", down, true}, {"replica still answering", master.Addr, false}} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Outage(context.Background(), endpointOf(master), OutageConfig{
				Prefix: "conformance:test:sc002:", ReadAddr: tc.readAddr, ReplicaDown: true,
				Duration: 500 * time.Millisecond, Every: 10 * time.Millisecond, TTL: time.Minute, Recover: time.Second,
			})
			require.NoError(t, err)
			assert.Positive(t, rep.Writes)
			assert.Zero(t, rep.FailedWrites, rep.FirstWriteError)
			assert.Positive(t, rep.Reads)
			assert.Zero(t, rep.StaleReads)
			if tc.wantFailedReads {
				assert.Equal(t, rep.Reads, rep.FailedReads)
			} else {
				assert.Zero(t, rep.FailedReads, rep.FirstReadError)
			}
			require.NotNil(t, rep.Cleanup)
			assert.Zero(t, rep.Cleanup.Left())
		})
	}
}
