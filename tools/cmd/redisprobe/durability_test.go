package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redis-shared/conformance/tools/probe"
	"github.com/redis-shared/conformance/tools/loadgen/localredis"
)

func TestDisruptiveCommandsBadInput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"durability without prefix", []string{"durability"}, "-prefix"},
		{"durability zero writers", []string{"durability", "-prefix", "conformance:x:", "-writers", "0"}, "-writers"},
		{"durability huge pipeline", []string{"durability", "-prefix", "conformance:x:", "-pipeline", "5000"}, "-pipeline"},
		{"durability too long", []string{"durability", "-prefix", "conformance:x:", "-duration", "1h"}, "-duration"},
		{"durability no recover", []string{"durability", "-prefix", "conformance:x:", "-recover", "0s"}, "-recover"},
		{"outage without read addr", []string{"outage", "-prefix", "conformance:x:"}, "-read-addr"},
		{"outage every too fast", []string{"outage", "-prefix", "conformance:x:", "-read-addr", "r:6379", "-every", "1us"}, "-every"},
		{"outage zero seed wait", []string{"outage", "-prefix", "conformance:x:", "-read-addr", "r:6379", "-seed-within", "0s"}, "-seed-within"},
		{"outage zero ttl", []string{"outage", "-prefix", "conformance:x:", "-read-addr", "r:6379", "-ttl", "0s"}, "-ttl"},
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

// Without a fault both commands answer JSON with nothing failed and nothing left.
func TestDisruptiveCommandsWithoutAFault(t *testing.T) {
	if ok, why := localredis.Available(); !ok {
		t.Skip(why)
	}
	srv, err := localredis.Start(t.Context(), localredis.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop() })
	vars := map[string]string{probe.PasswordEnv: srv.Password}

	code, out, errOut := runProbe(t, vars, "durability", "-addr", srv.Addr, "-prefix", "conformance:cli:sc007:", "-duration", "300ms", "-recover", "2s")
	require.Equal(t, probe.ExitOK, code, errOut)
	var dur probe.DurabilityReport
	require.NoError(t, json.Unmarshal([]byte(out), &dur))
	assert.Positive(t, dur.Acknowledged)
	assert.Zero(t, dur.FailedWrites)
	assert.Zero(t, dur.Lost)
	assert.Equal(t, "1", dur.AOFEnabled)
	require.NotNil(t, dur.Cleanup)
	assert.Zero(t, dur.Cleanup.Left())

	// The loopback server has no replica: it stands for the replicas Service too.
	code, out, errOut = runProbe(t, vars, "outage", "-addr", srv.Addr, "-read-addr", srv.Addr, "-prefix", "conformance:cli:sc002:", "-duration", "300ms")
	require.Equal(t, probe.ExitOK, code, errOut)
	var outage probe.OutageReport
	require.NoError(t, json.Unmarshal([]byte(out), &outage))
	assert.Positive(t, outage.Reads)
	assert.Zero(t, outage.FailedReads)
	assert.Zero(t, outage.FailedWrites)
	assert.True(t, outage.WritesRecovered)
	assert.NotContains(t, out+errOut, srv.Password)
}
