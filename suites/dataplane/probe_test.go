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
	"github.com/redis-shared/conformance/tools/evidence"
	"github.com/redis-shared/conformance/tools/probe"
	"github.com/redis-shared/conformance/tools/target"
)

// FR-005/SC-004 from a pod: kube-proxy also drops pod traffic to the LoadBalancer IP
// from sources outside the ranges. Only the kube target has a pod with its own IP
// (the sandbox's outside host is checked by the security suite).
func TestPodRefusedAtLB(t *testing.T) {
	refused := features.New("a pod outside the LAN is refused at the LoadBalancer").
		WithLabel("target", "kube").
		WithLabel("req", "FR-005").
		WithLabel("req", "SC-004").
		Setup(podOutsideSourceRanges).
		Assess("a TCP connect from the probe pod to the LoadBalancer IP does not open", assessPodRefusedAtLB).
		Feature()
	testenv.Test(t, refused)
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

// podOutsideSourceRanges is the Setup of the refusal check: the target has a probe
// pod with a pod network, there is a LoadBalancer, and the pod's IP lies outside the
// source ranges.
func podOutsideSourceRanges(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	t.Helper()
	r := harness.From(ctx)
	ep := harness.Endpoints(ctx, t)
	pods, ok := r.Target.(target.PodProber)
	if !ok {
		t.Skipf("the %s target has no probe pod with an IP of its own", r.Target.Name())
	}
	if ep.LoadBalancer == "" {
		t.Skip("the LoadBalancer Service has no ingress IP yet: there is nothing to connect to (FR-005's inventory check reports it)")
	}
	ip, err := pods.ProbePodIP(ctx)
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
	ip, ok := ctx.Value(podIPKey{}).(string)
	require.True(t, ok, "the pod IP setup did not run")
	timeout := harness.Seconds(t, r.Bound(t, "SC-004", "connect_timeout"))
	out, err := r.Probe(ctx, t, "a TCP connect from the probe pod to the LoadBalancer", target.Cluster,
		probe.Request{Kind: probe.KindDial, Addr: ep.LoadBalancer, Timeout: timeout})
	require.NoError(t, err)
	rep := out.Dial
	require.NotNil(t, rep, "the report has no dial part")
	accepted := 0.0
	if rep.Outcome == probe.DialOpen {
		accepted = 1
	}
	lbHost, _, _ := net.SplitHostPort(ep.LoadBalancer)
	r.Figures(t, evidence.Figure{Name: "connections accepted from a pod outside the source ranges", Value: accepted, Unit: "count"},
		evidence.Figure{Name: "connect time", Value: rep.Millis, Unit: "ms"})
	r.Note(t, "%s (IP %s, outside %v) connecting to the LoadBalancer %s: %s %s", out.Vantage, ip, ep.SourceRanges, lbHost, rep.Outcome, rep.Error)
	assert.NotEqual(t, probe.DialOpen, rep.Outcome, "a pod outside the source ranges connected to the LoadBalancer %s (FR-005, SC-004)", ep.LoadBalancer)
	return ctx
}
