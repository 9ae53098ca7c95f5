package target

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redis-shared/conformance/tools/exitcode"
	"github.com/redis-shared/conformance/tools/probe"
)

func promAnswer(t *testing.T, status int, body string) fakeAnswer {
	t.Helper()
	raw, err := json.Marshal(probe.Report{Kind: probe.KindProm, Prom: &probe.PromReply{URL: "x", StatusCode: status, Body: body}})
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
			return fakeAnswer{stdout: `{"kind":"prom","prom":{"url":"x","status_code":0,"body":"","error":"connection refused"},"error":"connection refused"}`, stderr: "redisprobe prom: connection refused", code: exitcode.Failed}
		}, "connection refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			exec := &fakeExecer{answers: map[probe.Kind]fakeAnswer{probe.KindProm: tc.answer(t)}}
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
			last := exec.requests[len(exec.requests)-1]
			assert.Equal(t, &probe.PromRequest{URL: "http://prometheus-operated.monitoring.svc:9090", Path: "/api/v1/targets?state=active"}, last.Prom)
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
