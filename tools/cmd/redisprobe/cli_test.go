package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redis-shared/conformance/tools/probe"
	"github.com/redis-shared/conformance/tools/loadgen/localredis"
)

func runProbe(t *testing.T, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, streams{out: &out, errOut: &errOut}, func(k string) string { return vars[k] })
	return code, out.String(), errOut.String()
}

func TestBadInputExitsTwoWithOneLine(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no command", nil, nil, "usage: redisprobe"},
		{"unknown command", nil, []string{"flush"}, `unknown command "flush"`},
		{"no prefix", nil, []string{"commands"}, "-prefix"},
		{"glob prefix", nil, []string{"cleanup", "-prefix", "a*"}, "-prefix"},
		{"addr without port", nil, []string{"commands", "-addr", "redis", "-prefix", "conformance:x:"}, "not host:port"},
		{"latency closed loop", nil, []string{"latency", "-prefix", "conformance:x:", "-mode", "closed", "-duration", "1s"}, "open loop"},
		{"load without duration", nil, []string{"load", "-prefix", "conformance:x:", "-rate", "10"}, "-duration"},
		{"dial without addr", nil, []string{"dial"}, "not host:port"},
		{"dial zero timeout", nil, []string{"dial", "-addr", "127.0.0.1:1", "-timeout", "0s"}, "-timeout"},
		{"bad resolve hook", map[string]string{probe.ResolveEnv: "name=nowhere"}, []string{"dial", "-addr", "127.0.0.1:1"}, probe.ResolveEnv},
		{"stray argument", nil, []string{"dial", "-addr", "127.0.0.1:1", "extra"}, "unexpected argument"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runProbe(t, tc.env, tc.args...)
			assert.Equal(t, probe.ExitBadArgs, code)
			assert.Empty(t, out)
			assert.Contains(t, errOut, tc.want)
			assert.Equal(t, 1, strings.Count(strings.TrimSpace(errOut), "\n")+1, "one line: %q", errOut)
		})
	}
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
			code, out, _ := runProbe(t, nil, "dial", "-addr", tc.addr, "-timeout", "1s")
			require.Equal(t, probe.ExitOK, code)
			var rep probe.DialReport
			require.NoError(t, json.Unmarshal([]byte(out), &rep))
			assert.Equal(t, tc.want, rep.Outcome)
			assert.Equal(t, tc.addr, rep.Addr)
		})
	}
}

// TestAgainstRealRedis runs every Redis subcommand against a real redis-server on
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

	code, out, errOut := runProbe(t, vars, "commands", "-prefix", prefix+"fr014:")
	require.Equal(t, probe.ExitOK, code, errOut)
	var cmds probe.CommandsReport
	require.NoError(t, json.Unmarshal([]byte(out), &cmds))
	assert.Equal(t, 5, cmds.Passed(), "round trips: %+v", cmds.Structures)
	require.NotNil(t, cmds.Cleanup)
	assert.Equal(t, 5, cmds.Cleanup.Deleted)
	assert.Zero(t, cmds.Cleanup.Left())

	code, out, errOut = runProbe(t, vars, "latency", "-prefix", prefix+"sc001:", "-rate", "200", "-duration", "1s", "-conns", "4", "-cleanup=false")
	require.Equal(t, probe.ExitOK, code, errOut)
	var lat probe.LoadReport
	require.NoError(t, json.Unmarshal([]byte(out), &lat))
	assert.InDelta(t, 200, lat.Result.Requests, 20)
	assert.Zero(t, lat.Result.Errors)
	assert.Positive(t, lat.Result.Latency.P95)
	assert.Nil(t, lat.Cleanup)

	code, out, errOut = runProbe(t, vars, "cleanup", "-prefix", prefix, "-verify", srv.Addr)
	require.Equal(t, probe.ExitOK, code, errOut)
	var clean probe.Cleanup
	require.NoError(t, json.Unmarshal([]byte(out), &clean))
	assert.Positive(t, clean.Deleted)
	assert.Equal(t, map[string]int{probe.DefaultAddr: 0, srv.Addr: 0}, clean.Remaining)

	// A wrong password is a failed measurement, and the real one is never printed.
	bad := map[string]string{probe.PasswordEnv: "not-" + srv.Password, probe.ResolveEnv: vars[probe.ResolveEnv]}
	code, out, errOut = runProbe(t, bad, "load", "-prefix", prefix+"bad:", "-mode", "closed", "-duration", "300ms", "-conns", "2")
	assert.Equal(t, probe.ExitFailed, code)
	for _, text := range []string{out, errOut} {
		assert.NotContains(t, text, srv.Password)
	}
}
