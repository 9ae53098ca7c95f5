package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redis-shared/conformance/tools/exitcode"
	"github.com/redis-shared/conformance/tools/loadgen/localredis"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    Config
		wantErr string
	}{
		{
			name: "defaults",
			env:  map[string]string{EnvRedisHost: "beersystem-redis", EnvPodName: "beersystem-7d9-abc"},
			want: Config{Listen: ":8080", RedisHost: "beersystem-redis", RedisPort: 6379, ClientName: "beersystem-beersystem-7d9-abc",
				KeyPrefix: "beersystem:", SessionTTL: 30 * time.Minute, CacheTTL: 5 * time.Minute},
		},
		{
			name: "everything set, flag over env",
			args: []string{"--listen", "127.0.0.1:9000"},
			env: map[string]string{EnvRedisHost: "redis-shared-master.redis.svc.cluster.local", EnvRedisPort: "6380", EnvRedisPassword: "pw",
				EnvPodName: "p 1", EnvListen: ":1", EnvKeyPrefix: "conformance:x:", EnvSessionTTL: "2m", EnvCacheTTL: "10s"},
			want: Config{Listen: "127.0.0.1:9000", RedisHost: "redis-shared-master.redis.svc.cluster.local", RedisPort: 6380, RedisPassword: "pw",
				ClientName: "beersystem-p-1", KeyPrefix: "conformance:x:", SessionTTL: 2 * time.Minute, CacheTTL: 10 * time.Second},
		},
		{name: "no host", env: map[string]string{}, wantErr: "env REDIS_HOST is empty"},
		{name: "bad port", env: map[string]string{EnvRedisHost: "h", EnvRedisPort: "99999"}, wantErr: `env REDIS_PORT="99999": want a port`},
		{name: "TTL too short", env: map[string]string{EnvRedisHost: "h", EnvCacheTTL: "0s"}, wantErr: "BEERSYSTEM_CACHE_TTL"},
		{name: "TTL not a duration", env: map[string]string{EnvRedisHost: "h", EnvSessionTTL: "soon"}, wantErr: "BEERSYSTEM_SESSION_TTL"},
		{name: "stray argument", args: []string{"serve"}, env: map[string]string{EnvRedisHost: "h"}, wantErr: "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseConfig(tt.args, envOf(tt.env), io.Discard)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestRunRefusesBadInputWithExitCode2(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), nil, envOf(map[string]string{EnvRedisPort: "x", EnvRedisPassword: "secret-pw"}), &stdout, &stderr)
	assert.Equal(t, exitcode.CouldNotRun, code)
	assert.Equal(t, 1, strings.Count(stderr.String(), "\n"), "one line: %q", stderr.String())
	assert.NotContains(t, stdout.String()+stderr.String(), "secret-pw")
}

func TestRunHelpExitsZeroWithTheEnvNames(t *testing.T) {
	var stdout, stderr bytes.Buffer
	assert.Equal(t, exitcode.OK, run(t.Context(), []string{"-h"}, envOf(nil), &stdout, &stderr))
	for _, name := range []string{EnvRedisHost, EnvRedisPort, EnvRedisPassword, EnvPodName, EnvKeyPrefix} {
		assert.Contains(t, stderr.String(), name)
	}
}

func startRedis(t *testing.T) *localredis.Server {
	t.Helper()
	if ok, why := localredis.Available(); !ok {
		t.Skip(why)
	}
	srv, err := localredis.Start(t.Context(), localredis.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop() })
	return srv
}

func configFor(t *testing.T, srv *localredis.Server) Config {
	t.Helper()
	host, portText, _ := strings.Cut(srv.Addr, ":")
	port, err := strconv.Atoi(portText)
	require.NoError(t, err)
	return Config{RedisHost: host, RedisPort: port, RedisPassword: srv.Password, ClientName: "beersystem-test",
		KeyPrefix: "test:beersystem:", SessionTTL: time.Minute, CacheTTL: 30 * time.Second}
}

func call(t *testing.T, method, url, session string, body string, into any) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	require.NoError(t, err)
	if session != "" {
		req.Header.Set("X-Session", session)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	if into != nil {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(into))
	}
	return resp.StatusCode
}

func TestAppSessionsAndCacheOnRealRedis(t *testing.T) {
	srv := startRedis(t)
	cfg := configFor(t, srv)
	app := NewApp(cfg)
	defer app.Close()
	web := httptest.NewServer(app.Handler())
	defer web.Close()
	ctx := t.Context()
	observer := srv.Client()
	defer observer.Close()

	assert.Equal(t, http.StatusOK, call(t, "GET", web.URL+"/healthz", "", "", nil))

	var login map[string]string
	require.Equal(t, http.StatusOK, call(t, "POST", web.URL+"/login", "", `{"user":"ana"}`, &login))
	require.NotEmpty(t, login["session"])
	var who map[string]string
	assert.Equal(t, http.StatusOK, call(t, "GET", web.URL+"/session", login["session"], "", &who))
	assert.Equal(t, "ana", who["user"])
	assert.Equal(t, http.StatusUnauthorized, call(t, "GET", web.URL+"/session", "not-a-session", "", nil))
	assert.Equal(t, http.StatusBadRequest, call(t, "POST", web.URL+"/login", "", `{}`, nil))

	var first, second Beer
	require.Equal(t, http.StatusOK, call(t, "GET", web.URL+"/beers/7", "", "", &first))
	require.Equal(t, http.StatusOK, call(t, "GET", web.URL+"/beers/7", "", "", &second))
	assert.Equal(t, Beer{ID: 7, Name: "beer #7", Cache: "miss"}, first)
	assert.Equal(t, Beer{ID: 7, Name: "beer #7", Cache: "hit"}, second)
	assert.Equal(t, http.StatusBadRequest, call(t, "GET", web.URL+"/beers/x", "", "", nil))

	// Every key is under the prefix and has a TTL (the suite's cleanup relies on both).
	keys, _, err := observer.Scan(ctx, 0, "*", 100).Result()
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"test:beersystem:session:" + login["session"], "test:beersystem:beer:7"}, keys)
	for _, k := range keys {
		ttl, err := observer.TTL(ctx, k).Result()
		require.NoError(t, err)
		assert.Positive(t, ttl, "key %s has a TTL", k)
	}
	// The app's connections carry its client name.
	list, err := observer.ClientList(ctx).Result()
	require.NoError(t, err)
	assert.Contains(t, list, "name=beersystem-test ")

	// Not ready while Redis does not answer.
	require.NoError(t, srv.Stop())
	assert.Equal(t, http.StatusServiceUnavailable, call(t, "GET", web.URL+"/healthz", "", "", nil))
}

func TestAppNotReadyWithAWrongPassword(t *testing.T) {
	srv := startRedis(t)
	cfg := configFor(t, srv)
	cfg.RedisPassword = "wrong-password-for-test"
	app := NewApp(cfg)
	defer app.Close()
	web := httptest.NewServer(app.Handler())
	defer web.Close()
	var body map[string]string
	assert.Equal(t, http.StatusServiceUnavailable, call(t, "GET", web.URL+"/healthz", "", "", &body))
	assert.NotContains(t, body["error"], "wrong-password-for-test")
}

// lockedBuffer is an io.Writer safe to read while run writes to it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestRunServesUntilStoppedAndNeverPrintsThePassword(t *testing.T) {
	srv := startRedis(t)
	host, port, _ := strings.Cut(srv.Addr, ":")
	env := map[string]string{EnvRedisHost: host, EnvRedisPort: port, EnvRedisPassword: srv.Password,
		EnvPodName: "run-test", EnvKeyPrefix: "test:run:"}
	ctx, stop := context.WithCancel(t.Context())
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"--listen", "127.0.0.1:0"}, envOf(env), &stdout, &stderr) }()

	var addr string
	require.Eventually(t, func() bool {
		_, rest, ok := strings.Cut(stdout.String(), "listening on ")
		addr, _, _ = strings.Cut(rest, ",")
		return ok && strings.Contains(rest, ",")
	}, 5*time.Second, 10*time.Millisecond, "no listening line: %s", stderr.String())
	assert.Equal(t, http.StatusOK, call(t, "GET", "http://"+addr+"/healthz", "", "", nil))

	stop() // what SIGTERM does through signal.NotifyContext in main
	select {
	case code := <-done:
		assert.Equal(t, exitcode.OK, code, stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after the stop signal")
	}
	out := stdout.String() + stderr.String()
	assert.Contains(t, out, "beersystem: stopped")
	assert.Contains(t, out, "password set: true")
	assert.NotContains(t, out, srv.Password)

	// Nothing but the app's own prefix was written.
	observer := srv.Client()
	defer observer.Close()
	keys, _, err := observer.Scan(t.Context(), 0, "*", 100).Result()
	require.NoError(t, err)
	for _, k := range keys {
		assert.True(t, strings.HasPrefix(k, "test:run:"), k)
	}
}
