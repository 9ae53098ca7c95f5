package dataplane

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/redis-shared/conformance/suites/internal/harness"
	"github.com/redis-shared/conformance/tools/probe"
	"github.com/redis-shared/conformance/tools/evidence"
	"github.com/redis-shared/conformance/tools/loadgen"
	"github.com/redis-shared/conformance/tools/target"
)

// The same measurements from the kube target's probe pod: a pod in the cluster runs
// the static redisprobe binary (streamed in over exec) against the master Service.
// The unlabelled features above need clients from the cluster vantage point, which
// only the sandbox hands out; these run only on kube.
func TestProbeInCluster(t *testing.T) {
	latency := features.New("in-cluster SET and GET latency from the probe pod").
		WithLabel("target", "kube").
		WithLabel("req", "FR-003").
		WithLabel("req", "SC-001").
		Setup(viaProbe).
		Assess("p95 under the catalog threshold at a fixed rate through the master Service", assessClusterLatency).
		Feature()
	commands := features.New("standard commands and data structures from the probe pod").
		WithLabel("target", "kube").
		WithLabel("req", "FR-014").
		Setup(viaProbe).
		Assess("strings, lists, sets, sorted sets and hashes round-trip", assessProbeCommands).
		Feature()
	sustained := features.New("sustained throughput from the probe pod").
		WithLabel("target", "kube").
		WithLabel("req", "SC-006").
		Setup(viaProbe).
		Assess("baseline latency at the catalog baseline rate", assessBaseline).
		Assess("the sustained rate for the sustain duration without errors or degradation", assessSustained).
		Assess("saturation rate in closed loop as evidence", assessSaturation).
		Feature()
	refused := features.New("a pod outside the LAN is refused at the LoadBalancer").
		WithLabel("target", "kube").
		WithLabel("req", "FR-005").
		WithLabel("req", "SC-004").
		Setup(viaProbe).
		Setup(podOutsideSourceRanges).
		Assess("a TCP connect from the probe pod to the LoadBalancer IP does not open", assessPodRefusedAtLB).
		Feature()
	testenv.Test(t, latency, commands, sustained, refused)
}

type viaProbeKey struct{}

// viaProbe is the Setup of the probe features: the target must measure through an
// in-cluster probe (target.Prober), and the loads below go through it.
func viaProbe(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	t.Helper()
	r := harness.From(ctx)
	prober, ok := r.Target.(target.Prober)
	if !ok {
		t.Skipf("the %s target has no in-cluster probe pod", r.Target.Name())
	}
	// Start it here, so that a probe the target cannot offer skips the whole feature.
	_, err := prober.ProbeStart(ctx)
	harness.SkipUnsupported(t, "the in-cluster probe pod", err)
	require.NoError(t, err, "start the probe pod")
	return context.WithValue(ctx, viaProbeKey{}, prober)
}

// clusterVantage is the Setup of the features that need clients from the cluster
// vantage point: a target that cannot hand them out skips the feature with its reason.
func clusterVantage(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	t.Helper()
	r := harness.From(ctx)
	ep := harness.Endpoints(ctx, t)
	dialer, err := r.Target.LoadDialer(target.Cluster, ep.Master, 1)
	harness.SkipUnsupported(t, "clients from the cluster vantage point", err)
	require.NoError(t, err, "load dialer from the cluster vantage point")
	_ = dialer.Close()
	return ctx
}

func proberOf(ctx context.Context) (target.Prober, bool) {
	p, ok := ctx.Value(viaProbeKey{}).(target.Prober)
	return p, ok
}

func vantageName(ctx context.Context) string {
	if p, ok := proberOf(ctx); ok {
		return "probe pod " + p.ProbePod()
	}
	return "the cluster vantage point"
}

// load runs the generator from the feature's vantage point: the probe pod (which
// deletes its keys afterwards and proves it) or a client from the cluster vantage.
func load(ctx context.Context, t *testing.T, name string, cfg loadgen.Config) (loadgen.Result, error) {
	t.Helper()
	r := harness.From(ctx)
	ep := harness.Endpoints(ctx, t)
	prober, ok := proberOf(ctx)
	if !ok {
		res, err := r.Load(ctx, target.Cluster, ep.Master, name, cfg)
		harness.SkipUnsupported(t, "load from the cluster vantage point", err)
		return res, err
	}
	cfg.KeyPrefix = r.Key(name) + ":"
	cfg.TTL = harness.KeyTTL
	rep, err := prober.ProbeLoad(ctx, ep.Master, cfg)
	harness.SkipUnsupported(t, "load from the probe pod", err)
	if err == nil && rep.Cleanup != nil && rep.Cleanup.Left() > 0 {
		err = fmt.Errorf("the probe left %d keys under %s", rep.Cleanup.Left(), cfg.KeyPrefix)
	}
	if err != nil {
		return rep.Result, fmt.Errorf("load %s from probe pod %s: %w", name, prober.ProbePod(), err)
	}
	return rep.Result, nil
}

func assessProbeCommands(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r := harness.From(ctx)
	ep := harness.Endpoints(ctx, t)
	prober, ok := proberOf(ctx)
	require.True(t, ok, "the probe setup did not run")
	rep, err := prober.ProbeCommands(ctx, ep.Master, r.Key("fr014")+":", harness.KeyTTL)
	harness.SkipUnsupported(t, "FR-014 round trips from the probe pod", err)
	require.NoError(t, err)
	for _, s := range rep.Structures {
		if !s.OK {
			t.Errorf("%s round trip on %s: %s", s.Name, ep.Master, s.Error)
		} else if s.TTLMillis <= 0 {
			t.Errorf("%s key has no TTL (PTTL %d ms)", s.Name, s.TTLMillis)
		}
	}
	assert.Len(t, rep.Structures, len(probe.RoundTripNames()), "data structures the probe tried")
	if rep.Cleanup != nil {
		assert.Zero(t, rep.Cleanup.Left(), "keys the probe left under %s", rep.Cleanup.Prefix)
	}
	r.Figures(t, evidence.Figure{Name: "data structures round-tripped", Value: float64(rep.Passed()), Unit: "count"},
		evidence.Figure{Name: "data structures tried", Value: float64(len(rep.Structures)), Unit: "count"})
	r.Note(t, "string, list, set, sorted set and hash written, read back and modified on the master Service from probe pod %s", prober.ProbePod())
	return ctx
}

// inRanges reports whether ip lies in one of the CIDRs.
func inRanges(ip string, cidrs []string) (bool, error) {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return false, fmt.Errorf("pod IP %q: %w", ip, err)
	}
	for _, c := range cidrs {
		prefix, err := netip.ParsePrefix(c)
		if err != nil {
			return false, fmt.Errorf("source range %q: %w", c, err)
		}
		if prefix.Contains(addr) {
			return true, nil
		}
	}
	return false, nil
}

type podIPKey struct{}

// podOutsideSourceRanges is the Setup of the refusal check: there is a LoadBalancer,
// the probe pod has a pod network, and its IP lies outside the source ranges.
func podOutsideSourceRanges(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	t.Helper()
	ep := harness.Endpoints(ctx, t)
	prober, ok := proberOf(ctx)
	require.True(t, ok, "the probe setup did not run")
	if ep.LoadBalancer == "" {
		t.Skip("the LoadBalancer Service has no ingress IP yet: there is nothing to connect to (FR-005's inventory check reports it)")
	}
	ip, err := prober.ProbePodIP(ctx)
	harness.SkipUnsupported(t, "a connect from the probe pod's IP", err)
	require.NoError(t, err)
	inside, err := inRanges(ip, ep.SourceRanges)
	require.NoError(t, err)
	if inside {
		t.Skipf("the probe pod's IP %s lies inside the source ranges %v: it may connect, so it cannot show a refusal", ip, ep.SourceRanges)
	}
	return context.WithValue(ctx, podIPKey{}, ip)
}

func assessPodRefusedAtLB(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r := harness.From(ctx)
	ep := harness.Endpoints(ctx, t)
	prober, ok := proberOf(ctx)
	require.True(t, ok, "the probe setup did not run")
	ip, ok := ctx.Value(podIPKey{}).(string)
	require.True(t, ok, "the pod IP setup did not run")
	timeout := harness.Seconds(t, r.Bound(t, "SC-004", "connect_timeout"))
	rep, err := prober.ProbeDial(ctx, ep.LoadBalancer, timeout)
	harness.SkipUnsupported(t, "a TCP connect from the probe pod to the LoadBalancer", err)
	require.NoError(t, err)
	accepted := 0.0
	if rep.Outcome == "open" {
		accepted = 1
	}
	lbHost, _, _ := net.SplitHostPort(ep.LoadBalancer)
	r.Figures(t, evidence.Figure{Name: "connections accepted from a pod outside the source ranges", Value: accepted, Unit: "count"},
		evidence.Figure{Name: "connect time", Value: rep.Millis, Unit: "ms"})
	r.Note(t, "probe pod %s (IP %s, outside %v) connecting to the LoadBalancer %s: %s %s", prober.ProbePod(), ip, ep.SourceRanges, lbHost, rep.Outcome, rep.Error)
	assert.NotEqual(t, "open", rep.Outcome, "a pod outside the source ranges connected to the LoadBalancer %s (FR-005, SC-004)", ep.LoadBalancer)
	return ctx
}
