package target

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redis-shared/conformance/tools/probe"
)

func TestFaultProbesRunInTheBackground(t *testing.T) {
	durJSON, err := json.Marshal(probe.DurabilityReport{Addr: "m:6379", Acknowledged: 900, FailedWrites: 16, Lost: 3})
	require.NoError(t, err)
	outJSON, err := json.Marshal(probe.OutageReport{Addr: "m:6379", ReadAddr: "r:6379", Reads: 500, FailedWrites: 40, WriteOutageSeconds: 4.5, WritesRecovered: true})
	require.NoError(t, err)
	exec := &fakeExecer{answers: map[string]fakeAnswer{
		"durability": {stdout: string(durJSON), stderr: "redisprobe durability: the master did not answer again", code: probe.ExitFailed},
		"outage":     {stdout: string(outJSON)},
	}}
	k, _ := probeKube(t, probeCluster(t), exec)
	ctx := context.Background()

	waitDur, err := k.ProbeDurability(ctx, "m:6379", "conformance:r:sc007:", 5*time.Second)
	require.NoError(t, err)
	dur, err := waitDur()
	require.ErrorContains(t, err, "did not answer again", "exit 1 is an error that still carries the report")
	assert.Equal(t, 900, dur.Acknowledged)
	assert.Equal(t, 3, dur.Lost)
	again, againErr := waitDur()
	assert.Equal(t, err, againErr)
	assert.Equal(t, dur, again, "wait answers the same every time")

	waitOut, err := k.ProbeOutage(ctx, "m:6379", "r:6379", "conformance:r:sc002:", 10*time.Second)
	require.NoError(t, err)
	out, err := waitOut()
	require.NoError(t, err)
	assert.Equal(t, 4.5, out.WriteOutageSeconds)

	exec.mu.Lock()
	defer exec.mu.Unlock()
	var durArgs []string
	var outArgs [][]string
	for _, c := range exec.calls {
		switch {
		case len(c) > 1 && c[1] == "durability":
			durArgs = c[1:]
		case len(c) > 1 && c[1] == "outage":
			outArgs = append(outArgs, c[1:])
		}
	}
	assert.Equal(t, []string{"durability", "-addr", "m:6379", "-prefix", "conformance:r:sc007:", "-duration", "5s", "-recover", "3m0s", "-ttl", "13m5s"}, durArgs)
	require.Len(t, outArgs, 2, "a short run proves the replica caught up before the one measured in the background")
	assert.Equal(t, []string{"outage", "-addr", "m:6379", "-read-addr", "r:6379", "-prefix", "conformance:r:sc002:", "-duration", "100ms", "-seed-within", "2m0s", "-ttl", "15m10s"}, outArgs[0])
	assert.Equal(t, []string{"outage", "-addr", "m:6379", "-read-addr", "r:6379", "-prefix", "conformance:r:sc002:", "-duration", "10s", "-recover", "3m0s", "-every", "10ms", "-ttl", "15m10s"}, outArgs[1])
}

func TestFaultProbeWithoutBinaryFailsBeforeTheFault(t *testing.T) {
	exec := &fakeExecer{}
	k, _ := probeKube(t, probeCluster(t), exec)
	k.opts.ProbeBinary = ""
	_, err := k.ProbeDurability(context.Background(), "m:6379", "conformance:r:sc007:", time.Second)
	_, unsupported := IsUnsupported(err)
	assert.True(t, unsupported, "%v", err)
	_, err = k.ProbeOutage(context.Background(), "m:6379", "r:6379", "conformance:r:sc002:", time.Second)
	_, unsupported = IsUnsupported(err)
	assert.True(t, unsupported, "%v", err)
	assert.Empty(t, exec.calls, "nothing ran")
}

func TestFaultProbeRefusesAReplicaThatHasNotCaughtUp(t *testing.T) {
	exec := &fakeExecer{answers: map[string]fakeAnswer{
		"outage": {stdout: `{"error":"the seed key did not reach r:6379 within 2m0s"}`, stderr: "redisprobe outage: the seed key did not reach r:6379 within 2m0s", code: probe.ExitFailed},
	}}
	k, _ := probeKube(t, probeCluster(t), exec)
	wait, err := k.ProbeOutage(context.Background(), "m:6379", "r:6379", "conformance:r:sc002:", time.Second)
	require.ErrorContains(t, err, "before the fault")
	assert.Contains(t, err.Error(), "seed key did not reach")
	assert.Nil(t, wait)
}
