package target

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redis-shared/conformance/tools/sandbox"
)

func TestApplyCredentialsOnlyValidCarriesThePassword(t *testing.T) {
	tests := []struct {
		creds        Credentials
		wantUser     string
		wantPassword string
	}{
		{Valid, "", "s3cret"},
		{NoPassword, "", ""},
		{WrongPassword, "", "wrong-bogus"},
		{UnknownUser, "nobody-bogus", "wrong-bogus"},
	}
	for _, tc := range tests {
		t.Run(tc.creds.String(), func(t *testing.T) {
			opts := &redis.Options{}
			applyCredentials(opts, tc.creds, "s3cret", "bogus")
			assert.Equal(t, tc.wantUser, opts.Username)
			assert.Equal(t, tc.wantPassword, opts.Password)
		})
	}
}

// writeState makes a state dir as `conform sandbox up` would leave it.
func writeState(t *testing.T, st sandbox.State, password string) string {
	t.Helper()
	dir := t.TempDir()
	st.SchemaVersion = sandbox.StateSchemaVersion
	st.Dir = dir
	st.PasswordFile = filepath.Join(dir, "redis-password")
	require.NoError(t, os.WriteFile(st.PasswordFile, []byte(password+"\n"), 0o600))
	raw, err := json.Marshal(st)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "state.json"), raw, 0o600))
	return dir
}

func TestSandboxEndpointsComeFromTheStateFile(t *testing.T) {
	dir := writeState(t, sandbox.State{
		ID: "abc123", Phase: sandbox.PhaseRunning, AuthEnabled: true,
		Services: map[string][]string{
			"redis-shared-master.redis.svc.cluster.local":   {"10.244.0.10:6379"},
			"redis-shared-replicas.redis.svc.cluster.local": {"10.244.0.20:6379"},
		},
		Instances: []sandbox.Instance{
			{Name: "master", Role: "master", Pod: "redis-shared-master-0", Addr: "10.244.0.10:6379"},
			{Name: "replica-0", Role: "replica", Pod: "redis-shared-replicas-0", Addr: "10.244.0.20:6379"},
		},
		LoadBalancer: &sandbox.LoadBalancer{Addr: "192.168.4.200:6379", SourceRanges: []string{"192.168.4.0/24"}},
	}, "s3cret-password")
	tgt, err := OpenSandbox(dir)
	require.NoError(t, err)
	ep, err := tgt.Endpoints(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "10.244.0.10:6379", ep.Master)
	assert.Equal(t, "10.244.0.20:6379", ep.Replicas)
	assert.Equal(t, "192.168.4.200:6379", ep.LoadBalancer)
	assert.Equal(t, []string{"192.168.4.0/24"}, ep.SourceRanges)
	require.Len(t, ep.ByRole(RoleReplica), 1)
	inst, err := ep.Instance("replica-0")
	require.NoError(t, err)
	assert.Equal(t, "redis-shared-replicas-0", inst.Pod)
	_, err = ep.Instance("replica-9")
	assert.Error(t, err)

	assert.True(t, tgt.Leaks([]byte("x s3cret-password y")))
	assert.False(t, tgt.Leaks([]byte("nothing here")))
}

func TestOpenSandboxRefusesASandboxThatIsNotRunning(t *testing.T) {
	dir := writeState(t, sandbox.State{ID: "abc123", Phase: sandbox.PhaseStopping}, "pw")
	_, err := OpenSandbox(dir)
	require.ErrorContains(t, err, "stopping")
	_, err = OpenSandbox(t.TempDir())
	require.ErrorContains(t, err, "conform sandbox up")
}

func TestPrometheusClientReadsTheHTTPAPI(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path + "?" + r.URL.Query().Get("query") {
		case "/api/v1/query?redis_up":
			_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"pod":"redis-shared-master-0"},"value":[1700000000.5,"1"]}]}}`))
		case "/api/v1/query?redis_up[1m]":
			_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"pod":"p"},"values":[[1700000000,"1"],[1700000015,"0"]]}]}}`))
		case "/api/v1/query?bad(":
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"status":"error","error":"parse error"}`))
		case "/api/v1/targets?":
			_, _ = w.Write([]byte(`{"status":"success","data":{"activeTargets":[{"labels":{"pod":"p"},"health":"up"}]}}`))
		case "/api/v1/rules?":
			_, _ = w.Write([]byte(`{"status":"success","data":{"groups":[{"name":"g","rules":[{"name":"RedisDown","type":"alerting","query":"redis_up == 0","health":"ok"}]}]}}`))
		case "/api/v1/alerts?":
			_, _ = w.Write([]byte(`{"status":"success","data":{"alerts":[{"labels":{"alertname":"RedisDown"},"state":"firing"}]}}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	prom := &Prometheus{URL: srv.URL, Client: srv.Client()}
	ctx := context.Background()

	samples, err := prom.Query(ctx, "redis_up")
	require.NoError(t, err)
	require.Len(t, samples, 1)
	assert.Equal(t, 1.0, samples[0].Value)
	assert.Equal(t, "redis-shared-master-0", samples[0].Labels["pod"])
	assert.Equal(t, time.UnixMilli(1700000000500), samples[0].Time)

	series, err := prom.QueryRange(ctx, "redis_up[1m]")
	require.NoError(t, err)
	require.Len(t, series, 1)
	assert.Equal(t, 15*time.Second, series[0].Samples[1].Sub(series[0].Samples[0]))
	assert.Equal(t, []float64{1, 0}, series[0].Values)

	_, err = prom.Query(ctx, "redis_up[1m]")
	assert.ErrorContains(t, err, "want vector")
	_, err = prom.Query(ctx, "bad(")
	assert.ErrorContains(t, err, "parse error")

	targets, err := prom.Targets(ctx)
	require.NoError(t, err)
	assert.Equal(t, "up", targets[0].Health)
	rules, err := prom.Rules(ctx)
	require.NoError(t, err)
	assert.Equal(t, "g", rules[0].Group)
	alerts, err := prom.Alerts(ctx)
	require.NoError(t, err)
	assert.Equal(t, "firing", alerts[0].State)
}
