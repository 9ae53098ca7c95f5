package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redis-shared/conformance/tools/probe"
	"github.com/redis-shared/conformance/tools/loadgen/localredis"
)

func TestChecksBadInputExitsTwoWithOneLine(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"replication without replicas", []string{"replication", "-prefix", "conformance:x:"}, "-replicas"},
		{"replication replica without port", []string{"replication", "-prefix", "conformance:x:", "-replicas", "replica"}, "not host:port"},
		{"replication zero writes", []string{"replication", "-prefix", "conformance:x:", "-replicas", "r:1", "-writes", "0"}, "-writes"},
		{"replication wait too long", []string{"replication", "-prefix", "conformance:x:", "-replicas", "r:1", "-wait", "2m"}, "-wait"},
		{"replication no prefix", []string{"replication", "-replicas", "r:1"}, "-prefix"},
		{"auth without addrs", []string{"auth"}, "-addrs"},
		{"auth zero attempts", []string{"auth", "-addrs", "m:1", "-n", "0"}, "-n"},
		{"prom without url", []string{"prom", "-path", "/api/v1/targets"}, "prometheus URL"},
		{"prom other scheme", []string{"prom", "-url", "file:///etc", "-path", "/api/v1/targets"}, "want http(s)"},
		{"prom outside the API", []string{"prom", "-url", "http://p:9090", "-path", "/-/quit"}, "/api/v1/"},
		{"prom climbing out", []string{"prom", "-url", "http://p:9090", "-path", "/api/v1/../../-/quit"}, "/api/v1/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runProbe(t, nil, tc.args...)
			assert.Equal(t, probe.ExitBadArgs, code)
			assert.Empty(t, out)
			assert.Contains(t, errOut, tc.want)
			assert.Equal(t, 1, strings.Count(strings.TrimSpace(errOut), "\n")+1, "one line: %q", errOut)
		})
	}
}

// replicaOf makes replica a replica of master (both with the same password) and
// waits for the link: what the chart's replica StatefulSet does.
func replicaOf(t *testing.T, replica, master *localredis.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := replica.Client()
	defer c.Close()
	host, port, _ := strings.Cut(master.Addr, ":")
	require.NoError(t, c.ConfigSet(ctx, "masterauth", master.Password).Err())
	require.NoError(t, c.Do(ctx, "REPLICAOF", host, port).Err())
	for {
		info, err := c.Info(ctx, "replication").Result()
		require.NoError(t, err)
		if strings.Contains(info, "master_link_status:up") {
			return
		}
		require.NoError(t, ctx.Err(), "replication link of %s: %s", replica.Addr, info)
		time.Sleep(50 * time.Millisecond)
	}
}

func startRedis(t *testing.T, password string) *localredis.Server {
	t.Helper()
	srv, err := localredis.Start(context.Background(), localredis.Options{Dir: t.TempDir(), Password: password})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop() })
	return srv
}

// TestReplicationAgainstRealRedis: a master and a real replica on loopback, named
// with the spec's DNS names through the resolve hook; then a standalone server in
// the replica's place, where the check must fail.
func TestReplicationAgainstRealRedis(t *testing.T) {
	if ok, why := localredis.Available(); !ok {
		t.Skip(why)
	}
	master := startRedis(t, "")
	replica := startRedis(t, master.Password)
	standalone := startRedis(t, master.Password)
	replicaOf(t, replica, master)
	const replicaName = "redis-shared-replicas-0.redis-shared-headless.redis.svc.cluster.local"
	vars := map[string]string{
		probe.PasswordEnv: master.Password,
		probe.ResolveEnv:  probe.DefaultAddr[:strings.LastIndex(probe.DefaultAddr, ":")] + "=" + master.Addr + "," + replicaName + "=" + replica.Addr,
	}
	code, out, errOut := runProbe(t, vars, "replication", "-prefix", "conformance:probetest:fr006:", "-replicas", replicaName+":6379", "-writes", "10", "-wait", "2s", "-ttl", "1m")
	require.Equal(t, probe.ExitOK, code, errOut)
	var rep probe.ReplicationReport
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	assert.Equal(t, "master", rep.Role)
	assert.Equal(t, 1, rep.ConnectedSlaves)
	require.Len(t, rep.Replicas, 1)
	view := rep.Replicas[0]
	assert.Empty(t, view.Error)
	assert.Equal(t, "slave", view.Role)
	assert.Equal(t, "up", view.LinkStatus)
	assert.Equal(t, 10, view.Writes)
	assert.Equal(t, 10, view.Seen)
	assert.Positive(t, view.MaxMillis)
	assert.Less(t, view.MaxMillis, 2000.0)
	require.NotNil(t, rep.Cleanup)
	assert.Equal(t, 10, rep.Cleanup.Deleted)
	assert.Equal(t, map[string]int{probe.DefaultAddr: 0, replicaName + ":6379": 0}, rep.Cleanup.Remaining)
	assert.NotContains(t, out+errOut, master.Password)

	// No replication: the standalone server never sees the write.
	code, out, errOut = runProbe(t, vars, "replication", "-prefix", "conformance:probetest:fr006:", "-replicas", standalone.Addr, "-writes", "3", "-wait", "200ms")
	require.Equal(t, probe.ExitOK, code, errOut)
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	require.Len(t, rep.Replicas, 1)
	assert.Equal(t, "master", rep.Replicas[0].Role, "a standalone server reports role master")
	assert.Zero(t, rep.Replicas[0].Seen)
	assert.Contains(t, rep.Replicas[0].Error, "not read back")
	assert.Zero(t, rep.Cleanup.Left())
}

// TestAuthAgainstRealRedis: every attempt on a password-protected server is rejected
// and the positive control passes; a server without a password serves them.
func TestAuthAgainstRealRedis(t *testing.T) {
	if ok, why := localredis.Available(); !ok {
		t.Skip(why)
	}
	protected := startRedis(t, "")
	open := startRedis(t, protected.Password)
	vars := map[string]string{probe.PasswordEnv: protected.Password}

	code, out, errOut := runProbe(t, vars, "auth", "-addrs", protected.Addr, "-n", "200", "-timeout", "2s")
	require.Equal(t, probe.ExitOK, code, errOut)
	var rep probe.AuthReport
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	require.Len(t, rep.Controls, 1)
	assert.True(t, rep.Controls[0].OK, rep.Controls[0].Error)
	require.Len(t, rep.Tallies, 3)
	for _, tally := range rep.Tallies {
		assert.Equal(t, 200, tally.Attempts, tally.Kind)
		assert.Equal(t, 200, tally.Rejected, "%s: %v", tally.Kind, tally.Replies)
		assert.Equal(t, 200, tally.Replies["PING NOAUTH"], "%s: %v", tally.Kind, tally.Replies)
	}
	assert.Equal(t, 200, rep.Tallies[1].Replies["AUTH WRONGPASS"], "wrong password: %v", rep.Tallies[1].Replies)
	assert.Equal(t, 200, rep.Tallies[2].Replies["AUTH WRONGPASS"], "unknown user: %v", rep.Tallies[2].Replies)
	total, rejected := rep.Totals()
	assert.Equal(t, 600, total)
	assert.Equal(t, 600, rejected)
	assert.NotContains(t, out+errOut, protected.Password)

	// Authentication off: the check must see attempts served.
	c := open.Client()
	require.NoError(t, c.ConfigSet(context.Background(), "requirepass", "").Err())
	_ = c.Close()
	code, out, errOut = runProbe(t, map[string]string{}, "auth", "-addrs", open.Addr, "-n", "50")
	require.Equal(t, probe.ExitOK, code, errOut)
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	require.Len(t, rep.Tallies, 3)
	assert.Equal(t, 50, rep.Tallies[0].Accepted, "no password: %v", rep.Tallies[0].Replies)
	assert.Equal(t, 50, rep.Tallies[0].Replies["PING PONG"])

	// Nothing listening: unanswered, never counted as rejected.
	code, out, errOut = runProbe(t, vars, "auth", "-addrs", closedPort(t), "-n", "5", "-timeout", "1s")
	require.Equal(t, probe.ExitOK, code, errOut)
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	assert.False(t, rep.Controls[0].OK)
	assert.Equal(t, 5, rep.Tallies[0].Unanswered)
	assert.Zero(t, rep.Tallies[0].Rejected)
}

func TestWrongPasswordIsRandom(t *testing.T) {
	a, err := probe.WrongPassword("secret")
	require.NoError(t, err)
	b, err := probe.WrongPassword("secret")
	require.NoError(t, err)
	assert.NotEqual(t, a, b)
	assert.NotContains(t, a, "secret")
}

// TestPromAgainstHTTPTest: the query path and the verbatim answer, against an
// httptest stand-in for the Prometheus API (the suites read a real Prometheus).
func TestPromAgainstHTTPTest(t *testing.T) {
	const body = `{"status":"success","data":{"resultType":"vector","result":[]}}`
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.Method+" "+r.URL.RequestURI())
		if r.URL.Path != "/api/v1/query" {
			http.Error(w, `{"status":"error","error":"not found"}`, http.StatusNotFound)
			return
		}
		_, _ = w.Write([]byte(body))
	}))
	defer srv.Close()
	// The resolve hook names the stand-in with the in-cluster Service name.
	vars := map[string]string{probe.ResolveEnv: "prometheus-operated.monitoring.svc=" + srv.Listener.Addr().String()}
	tests := []struct {
		name, path string
		status     int
	}{
		{"query", "/api/v1/query?query=redis_up%5B45s%5D", 200},
		{"unknown endpoint", "/api/v1/nothing", 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runProbe(t, vars, "prom", "-url", "http://prometheus-operated.monitoring.svc:9090", "-path", tc.path)
			require.Equal(t, probe.ExitOK, code, errOut)
			var rep probe.PromReply
			require.NoError(t, json.Unmarshal([]byte(out), &rep))
			assert.Equal(t, tc.status, rep.StatusCode)
			assert.Equal(t, "http://prometheus-operated.monitoring.svc:9090"+tc.path, rep.URL)
			if tc.status == 200 {
				assert.Equal(t, body, rep.Body)
			}
			assert.Equal(t, "GET "+tc.path, asked[len(asked)-1])
		})
	}
	code, out, errOut := runProbe(t, nil, "prom", "-url", "http://"+closedPort(t), "-path", "/api/v1/targets", "-timeout", "2s")
	assert.Equal(t, probe.ExitFailed, code)
	assert.Contains(t, out, `"error"`)
	assert.Contains(t, errOut, "refused")
}
