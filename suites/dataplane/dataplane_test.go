package dataplane

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/redis-shared/conformance/suites/internal/harness"
	"github.com/redis-shared/conformance/suites/internal/judge"
	"github.com/redis-shared/conformance/tools/evidence"
	"github.com/redis-shared/conformance/tools/loadgen"
	"github.com/redis-shared/conformance/tools/probe"
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

// Every feature here measures from the cluster vantage point through Target.Probe:
// the same tools/probe code in-process in the sandbox's cluster network namespace and
// in the kube target's probe pod.
func TestClusterAccess(t *testing.T) {
	latency := features.New("in-cluster SET and GET latency").
		WithLabel("req", "FR-003").
		WithLabel("req", "SC-001").
		Assess("p95 under the catalog threshold at a fixed rate through the master Service", assessClusterLatency).
		Feature()
	commands := features.New("standard commands and data structures").
		WithLabel("req", "FR-014").
		Assess("strings, lists, sets, sorted sets and hashes round-trip", assessDataStructures).
		Feature()
	replication := features.New("replication to the second instance").
		WithLabel("req", "FR-006").
		Assess("the replication link is up and a write on the master is read back on each replica within the catalog bound", assessReplication).
		Feature()
	testenv.Test(t, latency, commands, replication)
}

func TestThroughput(t *testing.T) {
	sustained := features.New("sustained throughput without degradation").
		WithLabel("req", "SC-006").
		Assess("baseline latency at the catalog baseline rate", assessBaseline).
		Assess("the sustained rate for the sustain duration without errors or degradation", assessSustained).
		Assess("saturation rate in closed loop as evidence", assessSaturation).
		Feature()
	testenv.Test(t, sustained)
}

// load runs the generator from the cluster vantage point against the master Service.
func load(ctx context.Context, t *testing.T, name string, cfg loadgen.Config) (loadgen.Result, string, error) {
	t.Helper()
	r := harness.From(ctx)
	ep := harness.Endpoints(ctx, t)
	return r.ProbeLoad(ctx, t, target.Cluster, ep.Master, name, cfg)
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
	res, from, err := load(ctx, t, "sc001", cfg)
	r.Figures(t, harness.LoadFigures("", res)...)
	r.Series(t, harness.LoadSeries("", res)...)
	r.Note(t, "open loop SET/GET 50/50 from %s to the master Service %s; latency counted from each request's intended send time", from, ep.Master)
	require.NoError(t, err)
	assert.Zero(t, res.Errors, "failed requests (samples: %v)", res.ErrorSamples)
	assert.Zero(t, res.Unsent, "requests the schedule could not send")
	harness.Holds(t, "SC-001", threshold, res.Latency.P95)
	return ctx
}

func assessDataStructures(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r := harness.From(ctx)
	ep := harness.Endpoints(ctx, t)
	rep, err := r.Probe(ctx, t, "FR-014 round trips from the cluster vantage point", target.Cluster,
		probe.Request{Kind: probe.KindCommands, Addr: ep.Master, Prefix: r.Key("fr014") + ":", TTL: harness.KeyTTL})
	require.NoError(t, err)
	require.NotNil(t, rep.Commands, "the report has no commands part")
	for _, s := range rep.Commands.Structures {
		if !s.OK {
			t.Errorf("%s round trip on %s: %s", s.Name, ep.Master, s.Error)
		} else if s.TTLMillis <= 0 {
			t.Errorf("%s key has no TTL (PTTL %d ms)", s.Name, s.TTLMillis)
		}
	}
	assert.Len(t, rep.Commands.Structures, len(probe.RoundTripNames()), "data structures tried")
	r.Figures(t, evidence.Figure{Name: "data structures round-tripped", Value: float64(rep.Commands.Passed()), Unit: "count"},
		evidence.Figure{Name: "data structures tried", Value: float64(len(rep.Commands.Structures)), Unit: "count"})
	r.Note(t, "string, list, set, sorted set and hash written, read back and modified on the master Service from %s", rep.Vantage)
	return ctx
}

func assessReplication(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r := harness.From(ctx)
	ep := harness.Endpoints(ctx, t)
	bound := r.Bound(t, "FR-006", "replica_visibility")
	replicas := ep.ByRole(target.RoleReplica)
	require.NotEmpty(t, replicas, "the deployment runs no replica: there is no second instance to replicate to")
	var addrs []string
	for _, inst := range replicas {
		addrs = append(addrs, inst.Addr)
	}
	req := probe.Request{Kind: probe.KindReplication, Addr: ep.Master, Prefix: r.Key("fr006") + ":", TTL: harness.KeyTTL,
		Addrs: addrs, Count: visibilityWrites, Replication: &probe.ReplicationRequest{Wait: harness.Seconds(t, bound)}}
	out, err := r.Probe(ctx, t, "FR-006 from the cluster vantage point", target.Cluster, req)
	require.NoError(t, err)
	rep := out.Replication
	require.NotNil(t, rep, "the report has no replication part")
	assert.Empty(t, rep.Error, "master %s", ep.Master)
	assert.Equal(t, "master", rep.Role, "role of %s", ep.Master)
	assert.Equal(t, len(replicas), rep.ConnectedSlaves, "replicas connected to the master")
	figs := []evidence.Figure{{Name: "connected replicas", Value: float64(rep.ConnectedSlaves), Unit: "count"}}
	var worst time.Duration
	var medians []float64
	seen := 0
	for i, view := range rep.Replicas {
		name := replicas[i].Name
		assert.Empty(t, view.Error, "%s (%s)", name, view.Addr)
		assert.Equal(t, "slave", view.Role, "role of %s", name)
		assert.Equal(t, "up", view.LinkStatus, "replication link of %s", name)
		assert.Equal(t, visibilityWrites, view.Seen, "writes read back on %s within %s", name, harness.Seconds(t, bound))
		seen += view.Seen
		worst = max(worst, time.Duration(view.MaxMillis*float64(time.Millisecond)))
		medians = append(medians, view.MedianMillis)
		figs = append(figs,
			evidence.Figure{Name: name + " replication lag", Value: float64(view.LagBytes), Unit: "bytes"},
			evidence.Figure{Name: name + " writes read back", Value: float64(view.Seen), Unit: "count"},
			evidence.Figure{Name: name + " median visibility delay", Value: view.MedianMillis, Unit: "ms"})
	}
	assert.Len(t, rep.Replicas, len(replicas), "replicas read from")
	figs = append(figs, evidence.Figure{Name: "writes checked", Value: float64(seen), Unit: "count"},
		evidence.Figure{Name: "max visibility delay", Value: float64(worst) / float64(time.Millisecond), Unit: "ms"})
	if len(medians) > 0 {
		figs = append(figs, evidence.Figure{Name: "median visibility delay", Value: probe.Percentile(medians, 50), Unit: "ms"})
	}
	r.Figures(t, figs...)
	r.Note(t, "%s wrote %d keys per replica on %s and read each back on the replica's own address", out.Vantage, visibilityWrites, ep.Master)
	require.Equal(t, visibilityWrites*len(replicas), seen, "every write must show on every replica for the delay to mean anything")
	harness.Holds(t, "FR-006", bound, worst.Seconds())
	return ctx
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
	res, _, err := load(ctx, t, "sc006-baseline", cfg)
	r.Figures(t, harness.LoadFigures("baseline", res)...)
	r.Series(t, harness.LoadSeries("baseline", res)...)
	require.NoError(t, err)
	require.Zero(t, res.Errors, "baseline errors (samples: %v)", res.ErrorSamples)
	return context.WithValue(ctx, baselineKey{}, res)
}

func assessSustained(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r := harness.From(ctx)
	baseline, ok := ctx.Value(baselineKey{}).(loadgen.Result)
	if !ok {
		t.Skip("no baseline was measured (the baseline assessment skipped or failed): nothing to judge degradation against")
	}
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
	res, _, err := load(ctx, t, "sc006-sustained", cfg)
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
	}, slices.DeleteFunc(harness.LoadFigures("sustained", res), func(f evidence.Figure) bool {
		return f.Name == "sustained p95" // already beside the bound above
	})...)
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
	res, from, err := load(ctx, t, "sc006-saturation", cfg)
	r.Figures(t, harness.LoadFigures("saturation", res)...)
	r.Series(t, harness.LoadSeries("saturation", res)...)
	r.Note(t, "closed loop from %s, %d connections, no pipelining: the most this client reaches there, for comparison only", from, saturationConns)
	require.NoError(t, err)
	assert.Zero(t, res.Errors, "errors at saturation (samples: %v)", res.ErrorSamples)
	return ctx
}
