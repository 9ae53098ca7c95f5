package loadgen_test

import (
	"context"
	"encoding/json"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redis-shared/conformance/tools/loadgen"
	"github.com/redis-shared/conformance/tools/loadgen/localredis"
)

// startRedis runs a real redis-server (password, AOF) for one test.
func startRedis(t testing.TB) *localredis.Server {
	t.Helper()
	if ok, why := localredisAvailable(); !ok {
		t.Skip(why)
	}
	srv, err := localredis.Start(t.Context(), localredis.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop() })
	return srv
}

func localredisAvailable() (bool, string) { return localredis.Available() }

func endpointOf(srv *localredis.Server) loadgen.Endpoint {
	return loadgen.Endpoint{Addr: srv.Addr, Password: srv.Password, DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second}
}

func runWith(t *testing.T, client string, ep loadgen.Endpoint, cfg loadgen.Config) loadgen.Result {
	t.Helper()
	dialer, err := loadgen.NewDialer(client, ep, cfg.Connections)
	require.NoError(t, err)
	t.Cleanup(func() { _ = dialer.Close() })
	res, err := loadgen.Run(t.Context(), cfg, dialer)
	require.NoError(t, err)
	return res
}

func TestRealRedisKeysCarryPrefixAndTTLAndCleanupLeavesNone(t *testing.T) {
	srv := startRedis(t)
	rdb := srv.Client()
	t.Cleanup(func() { _ = rdb.Close() })
	ctx := t.Context()
	// A key that is not ours must survive the cleanup.
	require.NoError(t, rdb.Set(ctx, "beersystem:session:1", "keep", 0).Err())

	for _, client := range loadgen.Clients() {
		t.Run(client, func(t *testing.T) {
			prefix := "loadgen-test:" + client + ":"
			for _, mode := range []loadgen.Mode{loadgen.ClosedLoop, loadgen.OpenLoop} {
				res := runWith(t, client, endpointOf(srv), loadgen.Config{
					Mode: mode, Requests: 2000, Rate: 4000, Duration: 250 * time.Millisecond,
					Connections: 4, Pipeline: 4, SetRatio: 0.5, KeySpace: 500, ValueSize: 32,
					KeyPrefix: prefix, TTL: time.Minute,
				})
				assert.Equal(t, int64(0), res.Errors, "%s: %v", mode, res.ErrorSamples)
				assert.Positive(t, res.Sets)
				assert.Equal(t, client, res.Client)
			}

			var written []string
			iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
			for iter.Next(ctx) {
				written = append(written, iter.Val())
			}
			require.NoError(t, iter.Err())
			require.NotEmpty(t, written)
			for _, key := range written {
				ttl, err := rdb.PTTL(ctx, key).Result()
				require.NoError(t, err)
				assert.Positive(t, ttl, "key %s has no TTL", key)
				assert.LessOrEqual(t, ttl, time.Minute)
			}

			deleted, err := loadgen.Cleanup(ctx, rdb, prefix)
			require.NoError(t, err)
			remaining, err := loadgen.Remaining(ctx, rdb, prefix)
			require.NoError(t, err)
			assert.Equal(t, len(written), deleted)
			assert.Equal(t, 0, remaining)
		})
	}
	kept, err := rdb.Get(ctx, "beersystem:session:1").Result()
	require.NoError(t, err)
	assert.Equal(t, "keep", kept)
}

func TestRealRedisFailuresAreCountedWithoutThePassword(t *testing.T) {
	srv := startRedis(t)
	stopped := startRedis(t)
	require.NoError(t, stopped.Stop())
	tests := []struct {
		name string
		ep   loadgen.Endpoint
	}{
		{"server stopped", endpointOf(stopped)},
		{"wrong password", func() loadgen.Endpoint { ep := endpointOf(srv); ep.Password = "wrong-" + srv.Password; return ep }()},
	}
	for _, tc := range tests {
		for _, client := range loadgen.Clients() {
			t.Run(tc.name+"/"+client, func(t *testing.T) {
				res := runWith(t, client, tc.ep, loadgen.Config{
					Mode: loadgen.OpenLoop, Rate: 500, Duration: 100 * time.Millisecond,
					Connections: 2, Pipeline: 2, SetRatio: 0.5, KeyPrefix: "loadgen-test:fail:", TTL: time.Minute,
				})

				assert.Equal(t, int64(50), res.Requests)
				assert.Equal(t, res.Requests, res.Errors)
				require.NotEmpty(t, res.ErrorSamples)
				encoded, err := json.Marshal(res)
				require.NoError(t, err)
				assert.NotContains(t, string(encoded), srv.Password)
				assert.NotContains(t, string(encoded), stopped.Password)
			})
		}
	}
}

// stoppingDialer stops the server just before the Exec numbered stopAt, so the
// run sees successes first and failures after, whatever the machine's speed.
type stoppingDialer struct {
	loadgen.Dialer
	mu     sync.Mutex
	execs  int
	stopAt int
	stop   func()
}

func (d *stoppingDialer) Dial(ctx context.Context) (loadgen.Conn, error) {
	conn, err := d.Dialer.Dial(ctx)
	if err != nil {
		return nil, err
	}
	return &stoppingConn{Conn: conn, dialer: d}, nil
}

type stoppingConn struct {
	loadgen.Conn
	dialer *stoppingDialer
}

func (c *stoppingConn) Exec(ctx context.Context, ops []loadgen.Op) error {
	d := c.dialer
	d.mu.Lock()
	d.execs++
	if d.execs == d.stopAt {
		d.stop()
	}
	d.mu.Unlock()
	return c.Conn.Exec(ctx, ops)
}

func TestRealRedisErrorsAreCountedWhenTheServerStopsMidRun(t *testing.T) {
	for _, client := range loadgen.Clients() {
		t.Run(client, func(t *testing.T) {
			srv := startRedis(t)
			inner, err := loadgen.NewDialer(client, endpointOf(srv), 2)
			require.NoError(t, err)
			t.Cleanup(func() { _ = inner.Close() })
			dialer := &stoppingDialer{Dialer: inner, stopAt: 300, stop: func() { _ = srv.Stop() }}

			res, err := loadgen.Run(t.Context(), loadgen.Config{
				Mode: loadgen.OpenLoop, Rate: 2000, Duration: 500 * time.Millisecond, Connections: 2,
				KeyPrefix: "loadgen-test:stop:", TTL: time.Minute,
			}, dialer)

			require.NoError(t, err)
			assert.Equal(t, int64(1000), res.Requests+res.Unsent)
			assert.Positive(t, res.Errors, "requests after the stop fail")
			assert.GreaterOrEqual(t, res.Requests-res.Errors, int64(299), "requests before the stop succeed: %v", res.ErrorSamples)
		})
	}
}

func TestRealRedisConnectionsGoThroughTheEndpointsDialFunction(t *testing.T) {
	srv := startRedis(t)
	for _, client := range loadgen.Clients() {
		t.Run(client, func(t *testing.T) {
			var mu sync.Mutex
			dials := 0
			ep := endpointOf(srv)
			ep.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
				mu.Lock()
				dials++
				mu.Unlock()
				var d net.Dialer
				return d.DialContext(ctx, network, addr)
			}

			res := runWith(t, client, ep, loadgen.Config{
				Mode: loadgen.ClosedLoop, Requests: 100, Connections: 2, KeyPrefix: "loadgen-test:dial:", TTL: time.Minute,
			})

			assert.Equal(t, int64(0), res.Errors, res.ErrorSamples)
			mu.Lock()
			defer mu.Unlock()
			assert.Positive(t, dials)
		})
	}
}
