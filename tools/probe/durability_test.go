package probe

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redis-shared/conformance/tools/loadgen"
	"github.com/redis-shared/conformance/tools/loadgen/localredis"
)

// restartable is a real redis-server on a fixed loopback port that a test can kill
// with SIGKILL and start again on the same port and data dir (localredis picks a new
// port on every start, and a probe must reconnect to the same address).
type restartable struct {
	t        *testing.T
	addr     string
	password string
	conf     string
	cmd      *exec.Cmd
	done     chan struct{}
}

func startRestartable(t *testing.T, password string, settings ...string) *restartable {
	t.Helper()
	if ok, why := localredis.Available(); !ok {
		t.Skip(why)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	dir := t.TempDir()
	conf := strings.Join(append([]string{
		"bind 127.0.0.1", "port " + strconv.Itoa(port), "protected-mode yes", "daemonize no",
		"dir " + dir, "logfile " + filepath.Join(dir, "redis.log"), `save ""`,
		"requirepass " + password, "masterauth " + password,
	}, settings...), "\n") + "\n"
	path := filepath.Join(dir, "redis.conf")
	require.NoError(t, os.WriteFile(path, []byte(conf), 0o600))
	s := &restartable{t: t, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), password: password, conf: path}
	s.start()
	t.Cleanup(s.kill)
	return s
}

func (s *restartable) start() {
	s.t.Helper()
	s.cmd = exec.Command(localredis.Binary, s.conf)
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	require.NoError(s.t, s.cmd.Start())
	s.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(s.cmd, s.done)
	c := newClient(loadgen.Endpoint{Addr: s.addr, Password: s.password}.WithDefaults())
	defer c.Close()
	require.NoError(s.t, waitAnswering(context.Background(), c, 10*time.Second), "redis-server on %s", s.addr)
}

// kill ends the server with SIGKILL (no shutdown save, no AOF flush).
func (s *restartable) kill() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Kill()
	<-s.done
}

// killAndRestart kills the server after warm and starts it again after down.
func (s *restartable) killAndRestart(warm, down time.Duration) chan struct{} {
	back := make(chan struct{})
	go func() {
		defer close(back)
		time.Sleep(warm) // a fixed point in the run, not a wait for a condition
		s.kill()
		time.Sleep(down)
		s.start()
	}()
	return back
}

func (s *restartable) endpoint() loadgen.Endpoint {
	return loadgen.Endpoint{Addr: s.addr, Password: s.password}.WithDefaults()
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
			back := srv.killAndRestart(700*time.Millisecond, 300*time.Millisecond)
			rep, err := Durability(context.Background(), srv.endpoint(), DurabilityConfig{
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
	go func() { time.Sleep(300 * time.Millisecond); srv.kill() }()
	began := time.Now()
	rep, err := Durability(context.Background(), srv.endpoint(), DurabilityConfig{
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
	replica := startRestartable(t, testPassword, "replicaof 127.0.0.1 "+strings.Split(master.addr, ":")[1])
	back := master.killAndRestart(time.Second, 500*time.Millisecond)
	rep, err := Outage(context.Background(), master.endpoint(), OutageConfig{
		Prefix: "conformance:test:sc002:", ReadAddr: replica.addr,
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
	rep, err := Durability(context.Background(), srv.endpoint(), DurabilityConfig{
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
	}{{"replica down", down, true}, {"replica still answering", master.addr, false}} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Outage(context.Background(), master.endpoint(), OutageConfig{
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
