package dataplane

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/redis-shared/conformance/suites/internal/harness"
	"github.com/redis-shared/conformance/suites/internal/judge"
	"github.com/redis-shared/conformance/tools/probe"
	"github.com/redis-shared/conformance/tools/evidence"
	"github.com/redis-shared/conformance/tools/loadgen"
	"github.com/redis-shared/conformance/tools/target"
)

// Generator shapes: enough connections that the generator's own concurrency never
// caps the rate (Little's law: with appendfsync always a SET waits for an fsync of a
// few ms, so 10k ops/s needs tens of requests in flight), no pipelining so every
// request's latency is its own.
const (
	probeConnections   = 32
	sustainConnections = 64
	saturationConns    = 64
	setRatio           = 0.5
	keySpace           = 10_000
	visibilityWrites   = 20
)

func TestClusterAccess(t *testing.T) {
	latency := features.New("in-cluster SET and GET latency").
		WithLabel("req", "FR-003").
		WithLabel("req", "SC-001").
		Setup(clusterVantage).
		Assess("p95 under the catalog threshold at a fixed rate through the master Service", assessClusterLatency).
		Feature()
	commands := features.New("standard commands and data structures").
		WithLabel("req", "FR-014").
		Setup(clusterVantage).
		Assess("strings, lists, sets, sorted sets and hashes round-trip", assessDataStructures).
		Feature()
	replication := features.New("replication to the second instance").
		WithLabel("req", "FR-006").
		Setup(clusterVantage).
		Assess("both instances report healthy with the replication link up", assessReplicationHealth).
		Assess("a write on the master is visible on the replica within the catalog bound", assessReplicaVisibility).
		Feature()
	testenv.Test(t, latency, commands, replication)
}

func TestThroughput(t *testing.T) {
	sustained := features.New("sustained throughput without degradation").
		WithLabel("req", "SC-006").
		Setup(clusterVantage).
		Assess("baseline latency at the catalog baseline rate", assessBaseline).
		Assess("the sustained rate for the sustain duration without errors or degradation", assessSustained).
		Assess("saturation rate in closed loop as evidence", assessSaturation).
		Feature()
	testenv.Test(t, sustained)
}

func assessClusterLatency(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r := harness.From(ctx)
	ep := harness.Endpoints(ctx, t)
	threshold := r.Threshold(t, "SC-001")
	require.Equal(t, "ms", threshold.Unit, "SC-001 threshold unit")
	cfg := loadgen.Config{
		Mode:        loadgen.OpenLoop,
		Rate:        harness.Number(t, r.Bound(t, "SC-001", "probe_rate")),
		Duration:    harness.Seconds(t, r.Bound(t, "SC-001", "probe_duration")),
		Connections: probeConnections,
		SetRatio:    setRatio,
		KeySpace:    keySpace,
	}
	res, err := load(ctx, t, "sc001", cfg)
	r.Figures(t, harness.LoadFigures("", res)...)
	r.Series(t, harness.LoadSeries("", res)...)
	r.Note(t, "open loop SET/GET 50/50 from %s to the master Service %s; latency counted from each request's intended send time", vantageName(ctx), ep.Master)
	require.NoError(t, err)
	assert.Zero(t, res.Errors, "failed requests (samples: %v)", res.ErrorSamples)
	assert.Zero(t, res.Unsent, "requests the schedule could not send")
	harness.Holds(t, "SC-001", threshold, res.Latency.P95)
	return ctx
}

func assessDataStructures(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r := harness.From(ctx)
	ep := harness.Endpoints(ctx, t)
	client, err := r.Target.Client(target.Cluster, ep.Master, target.Valid)
	require.NoError(t, err)
	defer client.Close()
	// The same round trips the probe pod runs on the kube target.
	structures := probe.RoundTrips(ctx, client, r.Key("fr014", ""), harness.KeyTTL)
	passed := 0
	for _, s := range structures {
		if !s.OK {
			t.Errorf("%s round trip on %s: %s", s.Name, ep.Master, s.Error)
			continue
		}
		if s.TTLMillis <= 0 {
			t.Errorf("%s key has no TTL (PTTL %d ms, %s)", s.Name, s.TTLMillis, s.Error)
			continue
		}
		passed++
	}
	r.Figures(t, evidence.Figure{Name: "data structures round-tripped", Value: float64(passed), Unit: "count"},
		evidence.Figure{Name: "data structures tried", Value: float64(len(structures)), Unit: "count"})
	r.Note(t, "string, list, set, sorted set and hash written, read back and modified on the master Service from the cluster vantage point")
	return ctx
}

func info(ctx context.Context, t *testing.T, r *harness.Run, addr, section string) string {
	t.Helper()
	client, err := r.Target.Client(target.Cluster, addr, target.Valid)
	require.NoError(t, err)
	defer client.Close()
	text, err := client.Info(ctx, section).Result()
	require.NoError(t, err, "INFO %s on %s", section, addr)
	return text
}

func assessReplicationHealth(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r := harness.From(ctx)
	ep := harness.Endpoints(ctx, t)
	replicas := ep.ByRole(target.RoleReplica)
	require.NotEmpty(t, replicas, "the deployment runs no replica: there is no second instance to replicate to")
	masterInfo := info(ctx, t, r, ep.Master, "replication")
	assert.Equal(t, "master", target.InfoField(masterInfo, "role"), "role of %s", ep.Master)
	connected, _ := strconv.Atoi(target.InfoField(masterInfo, "connected_slaves"))
	assert.Equal(t, len(replicas), connected, "replicas connected to the master")
	masterOffset, _ := strconv.ParseFloat(target.InfoField(masterInfo, "master_repl_offset"), 64)
	figs := []evidence.Figure{{Name: "connected replicas", Value: float64(connected), Unit: "count"}}
	for _, inst := range replicas {
		ri := info(ctx, t, r, inst.Addr, "replication")
		assert.Equal(t, "slave", target.InfoField(ri, "role"), "role of %s", inst.Name)
		assert.Equal(t, "up", target.InfoField(ri, "master_link_status"), "replication link of %s", inst.Name)
		offset, _ := strconv.ParseFloat(target.InfoField(ri, "slave_repl_offset"), 64)
		lastIO, _ := strconv.ParseFloat(target.InfoField(ri, "master_last_io_seconds_ago"), 64)
		figs = append(figs,
			evidence.Figure{Name: inst.Name + " replication lag", Value: max(masterOffset-offset, 0), Unit: "bytes"},
			evidence.Figure{Name: inst.Name + " last master I/O", Value: lastIO, Unit: "s"})
		// Health of an instance as a pod would see it: PING answers PONG.
		client, err := r.Target.Client(target.Cluster, inst.Addr, target.Valid)
		require.NoError(t, err)
		pong, err := client.Ping(ctx).Result()
		_ = client.Close()
		assert.NoError(t, err, "PING %s", inst.Name)
		assert.Equal(t, "PONG", pong, "PING %s", inst.Name)
	}
	r.Figures(t, figs...)
	return ctx
}

func assessReplicaVisibility(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r := harness.From(ctx)
	ep := harness.Endpoints(ctx, t)
	bound := harness.Seconds(t, r.Bound(t, "FR-006", "replica_visibility"))
	replicas := ep.ByRole(target.RoleReplica)
	require.NotEmpty(t, replicas, "the deployment runs no replica: a write cannot become visible on a second instance")
	master, err := r.Target.Client(target.Cluster, ep.Master, target.Valid)
	require.NoError(t, err)
	defer master.Close()
	var worst time.Duration
	var delays []float64
	for _, inst := range replicas {
		replica, err := r.Target.Client(target.Cluster, inst.Addr, target.Valid)
		require.NoError(t, err)
		for i := range visibilityWrites {
			key := r.Key("fr006", inst.Name, strconv.Itoa(i))
			value := fmt.Sprintf("written-%d-%d", i, time.Now().UnixNano())
			require.NoError(t, master.Set(ctx, key, value, harness.KeyTTL).Err(), "SET on the master")
			written := time.Now()
			seen, err := visibleWithin(ctx, replica, key, value, bound)
			if err != nil {
				t.Errorf("write %d not visible on %s within %s: %v", i, inst.Name, bound, err)
				break
			}
			delay := seen.Sub(written)
			worst = max(worst, delay)
			delays = append(delays, float64(delay)/float64(time.Millisecond))
		}
		_ = replica.Close()
	}
	sort.Float64s(delays)
	figs := []evidence.Figure{{Name: "writes checked", Value: float64(len(delays)), Unit: "count"},
		{Name: "max visibility delay", Value: float64(worst) / float64(time.Millisecond), Unit: "ms"}}
	if len(delays) > 0 {
		figs = append(figs, evidence.Figure{Name: "median visibility delay", Value: delays[len(delays)/2], Unit: "ms"})
	}
	r.Figures(t, figs...)
	harness.Holds(t, "FR-006", r.Bound(t, "FR-006", "replica_visibility"), worst.Seconds())
	return ctx
}

// visibleWithin polls the replica until key holds value; it returns when it saw it.
func visibleWithin(ctx context.Context, replica *redis.Client, key, value string, bound time.Duration) (time.Time, error) {
	deadline := time.Now().Add(bound)
	for {
		got, err := replica.Get(ctx, key).Result()
		now := time.Now()
		if err == nil && got == value {
			return now, nil
		}
		if now.After(deadline) {
			if err != nil && err != redis.Nil {
				return now, err
			}
			return now, fmt.Errorf("replica still has %q", got)
		}
		if ctx.Err() != nil {
			return now, ctx.Err()
		}
		time.Sleep(time.Millisecond) // a poll step, not a wait for a condition
	}
}

type baselineKey struct{}

func assessBaseline(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r := harness.From(ctx)
	cfg := loadgen.Config{
		Mode:        loadgen.OpenLoop,
		Rate:        harness.Number(t, r.Bound(t, "SC-006", "baseline_rate")),
		Duration:    harness.Seconds(t, r.Bound(t, "SC-006", "baseline_duration")),
		Connections: sustainConnections,
		SetRatio:    setRatio,
		KeySpace:    keySpace,
	}
	res, err := load(ctx, t, "sc006-baseline", cfg)
	r.Figures(t, harness.LoadFigures("baseline", res)...)
	r.Series(t, harness.LoadSeries("baseline", res)...)
	require.NoError(t, err)
	require.Zero(t, res.Errors, "baseline errors (samples: %v)", res.ErrorSamples)
	return context.WithValue(ctx, baselineKey{}, res)
}

func assessSustained(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r := harness.From(ctx)
	baseline, ok := ctx.Value(baselineKey{}).(loadgen.Result)
	require.True(t, ok, "the baseline assessment did not run")
	duration := harness.Seconds(t, r.Bound(t, "SC-006", "sustain_duration"))
	offered, err := judge.OfferedRate(r.Catalog)
	require.NoError(t, err)
	cfg := loadgen.Config{
		Mode:        loadgen.OpenLoop,
		Rate:        offered,
		Duration:    duration,
		Connections: sustainConnections,
		SetRatio:    setRatio,
		KeySpace:    keySpace,
	}
	res, err := load(ctx, t, "sc006-sustained", cfg)
	bound, boundErr := probe.DegradationBound(baseline.Latency.P95,
		harness.Number(t, r.Bound(t, "SC-006", "p95_degradation_ratio")),
		harness.Number(t, r.Bound(t, "SC-006", "p95_degradation_slack")))
	require.NoError(t, boundErr)
	lowest, highest := res.MinMaxSecondOps()
	// The judged figure leads: the achieved rate over the whole run (first send to
	// last reply), then the slowest full second and the p95 beside it.
	figs := append([]evidence.Figure{
		{Name: "sustained rate (achieved over the whole run)", Value: res.AchievedRate, Unit: "ops/s"},
		{Name: "slowest second", Value: float64(lowest), Unit: "ops"},
		{Name: "sustained p95", Value: res.Latency.P95, Unit: "ms"},
		{Name: "p95 degradation bound", Value: bound, Unit: "ms"},
		{Name: "fastest second", Value: float64(highest), Unit: "ops"},
		{Name: "drain after the schedule", Value: res.DurationSeconds - duration.Seconds(), Unit: "s"},
	}, harness.LoadFigures("sustained", res)...)
	r.Figures(t, figs...)
	r.Series(t, harness.LoadSeries("sustained", res)...)
	r.Note(t, "open loop offering %.0f ops/s for %s (the threshold plus the catalog's headroom); judged: successful requests over the whole run, first send to last reply, with no allowance", offered, duration)
	require.NoError(t, err)
	for _, problem := range judge.Sustained(r.Catalog, res, bound) {
		t.Error(problem)
	}
	return ctx
}

func assessSaturation(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r := harness.From(ctx)
	cfg := loadgen.Config{
		Mode:        loadgen.ClosedLoop,
		Duration:    harness.Seconds(t, r.Bound(t, "SC-006", "saturation_duration")),
		Connections: saturationConns,
		SetRatio:    setRatio,
		KeySpace:    keySpace,
	}
	res, err := load(ctx, t, "sc006-saturation", cfg)
	r.Figures(t, harness.LoadFigures("saturation", res)...)
	r.Series(t, harness.LoadSeries("saturation", res)...)
	r.Note(t, "closed loop, %d connections, no pipelining: the most this client reaches on this machine, for comparison only", saturationConns)
	require.NoError(t, err)
	assert.Zero(t, res.Errors, "errors at saturation (samples: %v)", res.ErrorSamples)
	return ctx
}
