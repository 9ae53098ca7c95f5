package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redis-shared/conformance/tools/exitcode"
	"github.com/redis-shared/conformance/tools/loadgen"
	"github.com/redis-shared/conformance/tools/loadgen/localredis"
	"github.com/redis-shared/conformance/tools/probe"
)

// runProbe runs the command with stdin as given and returns its exit code and streams.
func runProbe(t *testing.T, vars map[string]string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	s := streams{in: strings.NewReader(stdin), out: &out, errOut: &errOut}
	code := run(context.Background(), args, s, func(k string) string { return vars[k] })
	return code, out.String(), errOut.String()
}

// request runs req through the command's stdin and decodes the report.
func request(t *testing.T, vars map[string]string, req probe.Request) (int, probe.Report, string) {
	t.Helper()
	raw, err := json.Marshal(req)
	require.NoError(t, err)
	code, out, errOut := runProbe(t, vars, string(raw))
	var rep probe.Report
	require.NoError(t, json.Unmarshal([]byte(out), &rep), "stdout %q, stderr %q", out, errOut)
	assert.Equal(t, req.Kind, rep.Kind)
	return code, rep, out + errOut
}

func TestBadInputExitsTwoWithOneLine(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		stdin string
		args  []string
		want  string
	}{
		{"an argument", nil, "", []string{"commands"}, `unexpected argument "commands"`},
		{"no request", nil, "", nil, "read the request"},
		{"not JSON", nil, "kind=commands", nil, "read the request"},
		{"unknown field", nil, `{"kind":"dial","adr":"x:1"}`, nil, `unknown field "adr"`},
		{"unknown kind", nil, `{"kind":"flush"}`, nil, `kind "flush" is not one of`},
		{"no prefix", nil, `{"kind":"commands","addr":"r:6379","ttl":1000000000}`, nil, "prefix"},
		{"glob prefix", nil, `{"kind":"cleanup","addr":"r:6379","prefix":"a*"}`, nil, "prefix"},
		{"addr without port", nil, `{"kind":"commands","addr":"redis","prefix":"conformance:x:","ttl":1000000000}`, nil, "not host:port"},
		{"latency closed loop", nil, `{"kind":"latency","addr":"r:6379","prefix":"conformance:x:","ttl":1000000000,"load":{"mode":"closed","duration":1000000000,"connections":1,"set_ratio":0.5}}`, nil, "open loop"},
		{"load without duration", nil, `{"kind":"load","addr":"r:6379","prefix":"conformance:x:","ttl":1000000000,"load":{"mode":"open","rate":10,"connections":1,"set_ratio":0.5}}`, nil, "load.duration"},
		{"dial zero timeout", nil, `{"kind":"dial","addr":"127.0.0.1:1"}`, nil, "timeout"},
		{"auth without addrs", nil, `{"kind":"auth","count":1,"timeout":1000000000}`, nil, "addrs"},
		{"replication zero writes", nil, `{"kind":"replication","addr":"m:1","prefix":"conformance:x:","ttl":1000000000,"addrs":["r:1"],"replication":{"wait":1000000000}}`, nil, "count 0"},
		{"durability zero writers", nil, `{"kind":"durability","addr":"m:1","prefix":"conformance:x:","ttl":1000000000,"durability":{"duration":1000000000,"every":5000000,"recover":1000000000,"pipeline":1}}`, nil, "writers"},
		{"outage without read addr", nil, `{"kind":"outage","addr":"m:1","prefix":"conformance:x:","ttl":1000000000,"outage":{"duration":1000000000,"every":5000000,"recover":1000000000}}`, nil, "read_addr"},
		{"prom outside the API", nil, `{"kind":"prom","timeout":1000000000,"prom":{"url":"http://p:9090","path":"/-/quit"}}`, nil, "/api/v1/"},
		{"prom climbing out", nil, `{"kind":"prom","timeout":1000000000,"prom":{"url":"http://p:9090","path":"/api/v1/../../-/quit"}}`, nil, "/api/v1/"},
		{"prom other scheme", nil, `{"kind":"prom","timeout":1000000000,"prom":{"url":"file:///etc","path":"/api/v1/targets"}}`, nil, "want http(s)"},
		{"bad resolve hook", map[string]string{probe.ResolveEnv: "name=nowhere"}, `{"kind":"dial","addr":"127.0.0.1:1","timeout":1000000000}`, nil, probe.ResolveEnv},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runProbe(t, tc.env, tc.stdin, tc.args...)
			assert.Equal(t, exitcode.CouldNotRun, code)
			assert.Empty(t, out)
			assert.Contains(t, errOut, tc.want)
			assert.Equal(t, 1, strings.Count(strings.TrimSpace(errOut), "\n")+1, "one line: %q", errOut)
		})
	}
}

// TestRequestNeedsNoEndOfInput: kwok's exec never closes stdin, so one JSON value
// must be enough.
func TestRequestNeedsNoEndOfInput(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	pr, pw := net.Pipe()
	defer pw.Close()
	go func() {
		_, _ = pw.Write([]byte(`{"kind":"dial","addr":"` + l.Addr().String() + `","timeout":1000000000}` + "\n"))
	}()
	var out, errOut bytes.Buffer
	code := run(context.Background(), nil, streams{in: pr, out: &out, errOut: &errOut}, func(string) string { return "" })
	require.Equal(t, exitcode.OK, code, errOut.String())
	assert.Contains(t, out.String(), `"outcome":"open"`)
}

func TestParseResolve(t *testing.T) {
	r, err := probe.ParseResolve("redis-shared-master.redis.svc.cluster.local=127.0.0.1:7000, other=10.0.0.1:6379")
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:7000", r.Addr("redis-shared-master.redis.svc.cluster.local:6379"))
	assert.Equal(t, "10.0.0.1:6379", r.Addr("other:1"))
	assert.Equal(t, "unknown:6379", r.Addr("unknown:6379"))
	empty, err := probe.ParseResolve("")
	require.NoError(t, err)
	assert.Empty(t, empty)
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

func TestDialReportsOpenAndRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	tests := []struct {
		name, addr, want string
	}{
		{"listening", l.Addr().String(), probe.DialOpen},
		{"nothing listening", closedPort(t), probe.DialRefused},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, rep, _ := request(t, nil, probe.Request{Kind: probe.KindDial, Addr: tc.addr, Timeout: time.Second})
			require.Equal(t, exitcode.OK, code)
			require.NotNil(t, rep.Dial)
			assert.Equal(t, tc.want, rep.Dial.Outcome)
			assert.Equal(t, tc.addr, rep.Dial.Addr)
		})
	}
}

// masterAddr is the spec's in-cluster name of the master Service, which the resolve
// hook sends to the loopback server.
const masterAddr = "redis-shared-master.redis.svc.cluster.local:6379"

// TestAgainstRealRedis runs the Redis requests against a real redis-server on
// loopback, named with the spec's DNS name through the resolve test hook.
func TestAgainstRealRedis(t *testing.T) {
	if ok, why := localredis.Available(); !ok {
		t.Skip(why)
	}
	srv, err := localredis.Start(context.Background(), localredis.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	defer srv.Stop()
	vars := map[string]string{
		probe.PasswordEnv: srv.Password,
		probe.ResolveEnv:  "redis-shared-master.redis.svc.cluster.local=" + srv.Addr,
	}
	prefix := "conformance:probetest:"

	code, rep, text := request(t, vars, probe.Request{Kind: probe.KindCommands, Addr: masterAddr, Prefix: prefix + "fr014:", TTL: time.Minute})
	require.Equal(t, exitcode.OK, code, text)
	require.NotNil(t, rep.Commands)
	assert.Equal(t, 5, rep.Commands.Passed(), "round trips: %+v", rep.Commands.Structures)
	require.NotNil(t, rep.Commands.Cleanup)
	assert.Equal(t, 5, rep.Commands.Cleanup.Deleted)
	assert.Zero(t, rep.Commands.Cleanup.Left())

	latency := probe.Request{Kind: probe.KindLatency, Addr: masterAddr, Prefix: prefix + "sc001:", TTL: time.Minute,
		Load: &probe.LoadRequest{Mode: loadgen.OpenLoop, Rate: 200, Duration: time.Second, Connections: 4, SetRatio: 0.5, KeepKeys: true}}
	code, rep, text = request(t, vars, latency)
	require.Equal(t, exitcode.OK, code, text)
	require.NotNil(t, rep.Load)
	assert.InDelta(t, 200, rep.Load.Result.Requests, 20)
	assert.Zero(t, rep.Load.Result.Errors)
	assert.Positive(t, rep.Load.Result.Latency.P95)
	assert.Nil(t, rep.Load.Cleanup)

	code, rep, text = request(t, vars, probe.Request{Kind: probe.KindCleanup, Addr: masterAddr, Prefix: prefix, Addrs: []string{srv.Addr}})
	require.Equal(t, exitcode.OK, code, text)
	require.NotNil(t, rep.Cleanup)
	assert.Positive(t, rep.Cleanup.Deleted)
	assert.Equal(t, map[string]int{masterAddr: 0, srv.Addr: 0}, rep.Cleanup.Remaining)

	// A wrong password is a failed measurement, and the real one is never printed.
	bad := map[string]string{probe.PasswordEnv: "not-" + srv.Password, probe.ResolveEnv: vars[probe.ResolveEnv]}
	load := probe.Request{Kind: probe.KindLoad, Addr: masterAddr, Prefix: prefix + "bad:", TTL: time.Minute,
		Load: &probe.LoadRequest{Mode: loadgen.ClosedLoop, Duration: 300 * time.Millisecond, Connections: 2, SetRatio: 0.5}}
	code, rep, text = request(t, bad, load)
	assert.Equal(t, exitcode.Failed, code)
	assert.NotEmpty(t, rep.Error)
	assert.NotContains(t, text, srv.Password)
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
	const base = "http://prometheus-operated.monitoring.svc:9090"
	tests := []struct {
		name, path string
		status     int
	}{
		{"query", "/api/v1/query?query=redis_up%5B45s%5D", 200},
		{"unknown endpoint", "/api/v1/nothing", 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, rep, text := request(t, vars, probe.Request{Kind: probe.KindProm, Timeout: 5 * time.Second, Prom: &probe.PromRequest{URL: base, Path: tc.path}})
			require.Equal(t, exitcode.OK, code, text)
			require.NotNil(t, rep.Prom)
			assert.Equal(t, tc.status, rep.Prom.StatusCode)
			assert.Equal(t, base+tc.path, rep.Prom.URL)
			if tc.status == 200 {
				assert.Equal(t, body, rep.Prom.Body)
			}
			assert.Equal(t, "GET "+tc.path, asked[len(asked)-1])
		})
	}
	code, rep, text := request(t, nil, probe.Request{Kind: probe.KindProm, Timeout: 2 * time.Second, Prom: &probe.PromRequest{URL: "http://" + closedPort(t), Path: "/api/v1/targets"}})
	assert.Equal(t, exitcode.Failed, code)
	assert.NotEmpty(t, rep.Error)
	assert.Contains(t, text, "refused")
}
