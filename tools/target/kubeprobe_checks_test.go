package target

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redis-shared/conformance/tools/probe"
)

func promAnswer(t *testing.T, status int, body string) fakeAnswer {
	t.Helper()
	raw, err := json.Marshal(probe.PromReply{URL: "x", StatusCode: status, Body: body})
	require.NoError(t, err)
	return fakeAnswer{stdout: string(raw)}
}

// The kube target's Prometheus is the same API client as the sandbox's, with every
// GET made by `redisprobe prom` in the probe pod.
func TestProbePrometheusGoesThroughTheProbe(t *testing.T) {
	const targets = `{"status":"success","data":{"activeTargets":[{"labels":{"pod":"redis-shared-master-0"},"health":"up","scrapeInterval":"15s"}]}}`
	tests := []struct {
		name    string
		answer  func(t *testing.T) fakeAnswer
		wantErr string
	}{
		{"answered", func(t *testing.T) fakeAnswer { return promAnswer(t, 200, targets) }, ""},
		{"HTTP error passed on", func(t *testing.T) fakeAnswer {
			return promAnswer(t, 503, `{"status":"error","error":"not ready"}`)
		}, "HTTP 503"},
		{"no answer from Prometheus", func(*testing.T) fakeAnswer {
			return fakeAnswer{stdout: `{"url":"x","status_code":0,"body":"","error":"connection refused"}`, stderr: "redisprobe prom: connection refused", code: probe.ExitFailed}
		}, "connection refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			exec := &fakeExecer{answers: map[string]fakeAnswer{"prom": tc.answer(t)}}
			k, _ := probeKube(t, probeCluster(t), exec)
			k.opts.PrometheusURL = "http://prometheus-operated.monitoring.svc:9090/"
			prom, err := k.ProbePrometheus()
			require.NoError(t, err)
			got, err := prom.Targets(context.Background())
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Len(t, got, 1)
			assert.Equal(t, "redis-shared-master-0", got[0].Labels["pod"])
			assert.Equal(t, "15s", got[0].ScrapeInterval)
			last := exec.calls[len(exec.calls)-1]
			assert.Equal(t, []string{"prom", "-url", "http://prometheus-operated.monitoring.svc:9090", "-path", "/api/v1/targets?state=active"}, last[1:])
		})
	}
}

func TestProbePrometheusNeedsAURL(t *testing.T) {
	k, _ := probeKube(t, probeCluster(t), &fakeExecer{})
	_, err := k.ProbePrometheus()
	reason, ok := IsUnsupported(err)
	require.True(t, ok, "%v", err)
	assert.Contains(t, reason, "--prometheus-url")
	k.opts.PrometheusURL = "ftp://prometheus:9090"
	_, err = k.ProbePrometheus()
	_, ok = IsUnsupported(err)
	assert.False(t, ok)
	require.ErrorContains(t, err, "--prometheus-url")
}

func TestProbeChecksBuildTheirFlags(t *testing.T) {
	exec := &fakeExecer{answers: map[string]fakeAnswer{
		"replication": {stdout: `{"master":"m:6379","role":"master","connected_slaves":1,"replicas":[{"addr":"r:6379","role":"slave","master_link_status":"up","writes":3,"seen":3}]}`},
		"auth":        {stdout: `{"controls":[{"addr":"m:6379","ok":true}],"tallies":[{"addr":"m:6379","kind":"no password","attempts":5,"rejected":5}]}`},
	}}
	k, _ := probeKube(t, probeCluster(t), exec)
	rep, err := k.ProbeReplication(context.Background(), "m:6379", []string{"r:6379", "s:6379"}, "conformance:r:fr006:", 3, time.Second, time.Minute)
	require.NoError(t, err)
	assert.Equal(t, 3, rep.Replicas[0].Seen)
	auth, err := k.ProbeAuth(context.Background(), []string{"m:6379", "r:6379"}, 5, 2*time.Second)
	require.NoError(t, err)
	total, rejected := auth.Totals()
	assert.Equal(t, 5, total)
	assert.Equal(t, 5, rejected)
	var args []string
	for _, c := range exec.calls {
		args = append(args, strings.Join(c[1:], " "))
	}
	assert.Contains(t, args, "replication -addr m:6379 -replicas r:6379,s:6379 -prefix conformance:r:fr006: -writes 3 -wait 1s -ttl 1m0s")
	assert.Contains(t, args, "auth -addrs m:6379,r:6379 -n 5 -timeout 2s")
	_, err = k.ProbeReplication(context.Background(), "m:6379", nil, "conformance:r:fr006:", 3, time.Second, time.Minute)
	require.ErrorContains(t, err, "no replica")
}
