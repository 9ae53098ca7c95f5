package security

import (
	"context"
	"fmt"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/redis-shared/conformance/suites/internal/harness"
	"github.com/redis-shared/conformance/suites/internal/judge"
	"github.com/redis-shared/conformance/tools/probe"
	"github.com/redis-shared/conformance/tools/evidence"
	"github.com/redis-shared/conformance/tools/target"
)

// FR-011 and SC-008 on the kube target: the probe pod makes the unauthorized attempts
// inside the cluster on every instance (each on a fresh connection), and this machine
// makes them at the LoadBalancer when it is on the LAN.
func TestAuthenticationFromProbe(t *testing.T) {
	auth := features.New("authentication on every connection from the probe pod").
		WithLabel("target", "kube").
		WithLabel("req", "FR-011").
		WithLabel("req", "SC-008").
		Setup(viaProbeChecker).
		Assess("unauthorized attempts on the master and every replica from inside the cluster are all rejected", assessProbeUnauthorized).
		Assess("unauthorized attempts at the LoadBalancer from the LAN are all rejected", assessLBUnauthorized).
		Feature()
	testenv.Test(t, auth)
}

type checkerKey struct{}

// viaProbeChecker is the Setup: the target measures through an in-cluster probe that
// can make the attempts; it starts the pod so that a probe the target cannot offer
// skips the whole feature with the reason.
func viaProbeChecker(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	t.Helper()
	r := harness.From(ctx)
	checker, ok := r.Target.(target.ProbeChecker)
	if !ok {
		t.Skipf("the %s target has no in-cluster probe pod", r.Target.Name())
	}
	_, err := checker.ProbeStart(ctx)
	harness.SkipUnsupported(t, "the in-cluster probe pod", err)
	require.NoError(t, err, "start the probe pod")
	return context.WithValue(ctx, checkerKey{}, checker)
}

func assessProbeUnauthorized(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r := harness.From(ctx)
	ep := harness.Endpoints(ctx, t)
	checker, ok := ctx.Value(checkerKey{}).(target.ProbeChecker)
	require.True(t, ok, "the probe setup did not run")
	perKind := int(harness.Number(t, r.Bound(t, "SC-008", "attempts_per_kind")))
	require.NotEmpty(t, ep.Instances, "no instance to try")
	names := map[string]string{}
	var addrs []string
	for _, inst := range ep.Instances {
		addrs = append(addrs, inst.Addr)
		names[inst.Addr] = inst.Name
	}
	rep, err := checker.ProbeAuth(ctx, addrs, perKind, probeIOTimeout)
	harness.SkipUnsupported(t, "unauthorized attempts from the probe pod", err)
	require.NoError(t, err)
	// Positive control: each address is a Redis that serves the real password, so a
	// rejection is authentication at work, not a dead endpoint.
	for _, c := range rep.Controls {
		assert.True(t, c.OK, "PING with the valid password on %s from the probe pod: %s", names[c.Addr], c.Error)
	}
	assert.Len(t, rep.Controls, len(addrs), "positive controls")
	for _, tally := range rep.Tallies {
		label := fmt.Sprintf("%s %s", names[tally.Addr], tally.Kind)
		r.Figures(t,
			evidence.Figure{Name: label + " attempts", Value: float64(tally.Attempts), Unit: "count"},
			evidence.Figure{Name: label + " rejected", Value: percentOf(tally.Rejected, tally.Attempts), Unit: "%"})
		if tally.Accepted > 0 || tally.Unanswered > 0 || tally.Other > 0 {
			t.Errorf("%s from the probe pod: %d of %d attempts served, %d unanswered, %d refused otherwise than for authentication (replies %v; %s)", label, tally.Accepted, tally.Attempts, tally.Unanswered, tally.Other, tally.Replies, tally.Error)
		}
		assert.GreaterOrEqual(t, tally.Attempts, perKind, "%s attempts", label)
	}
	assert.Len(t, rep.Tallies, len(addrs)*3, "kinds tried on each instance")
	total, rejected := rep.Totals()
	percent := percentOf(rejected, total)
	r.Figures(t,
		evidence.Figure{Name: "unauthorized attempts from the probe pod", Value: float64(total), Unit: "count"},
		evidence.Figure{Name: "rejected", Value: percent, Unit: "%"})
	r.Note(t, "probe pod %s: each attempt is a fresh connection sending AUTH (none, a random wrong password, or an unknown user) and PING; %s", checker.ProbePod(), rejectedMeans)
	for _, problem := range judge.Rejected(r.Catalog, total, rejected) {
		t.Error(problem)
	}
	return ctx
}

// rejectedMeans is SC-008's one definition (probe.IsRejection), said in the evidence
// of both targets.
const rejectedMeans = "rejected means PING was not served and the refusal was NOAUTH, WRONGPASS or another AUTH error; any other error or a closed connection is not a rejection"

// assessLBUnauthorized is the LoadBalancer half of the sandbox's check, from the LAN
// vantage point of the kube target (this machine on the LAN); it skips with the
// target's reason where this machine is not on the LAN.
func assessLBUnauthorized(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r := harness.From(ctx)
	ep := harness.Endpoints(ctx, t)
	if ep.LoadBalancer == "" {
		t.Skip("the LoadBalancer Service has no ingress IP yet: there is nothing to try from the LAN (FR-004's inventory check reports it)")
	}
	perKind := int(harness.Number(t, r.Bound(t, "SC-008", "attempts_per_kind")))
	client := r.Client(t, "SC-008 positive control at the LoadBalancer", target.LAN, ep.LoadBalancer, target.Valid)
	err := client.Ping(ctx).Err()
	_ = client.Close()
	harness.SkipUnsupported(t, "a PING at the LoadBalancer from the LAN", err)
	require.NoError(t, err, "PING with the valid password at the LoadBalancer from the LAN")
	bogus := randomText(t)
	total, rejected := 0, 0
	for _, kind := range probe.AttemptKinds() {
		dial := func(ctx context.Context) (net.Conn, error) { return r.Target.Dial(ctx, target.LAN, ep.LoadBalancer) }
		tally, err := probe.ProbeUnauthorized(ctx, dial, kind, perKind, bogus, probeIOTimeout)
		harness.SkipUnsupported(t, "unauthorized attempts at the LoadBalancer from the LAN", err)
		if err != nil {
			t.Errorf("%s attempts at the LoadBalancer: %v", kind, err)
		}
		total += tally.Attempts
		rejected += tally.Rejected
		if tally.Accepted > 0 || tally.Unanswered > 0 {
			t.Errorf("%s at the LoadBalancer: %d of %d attempts served, %d unanswered (replies %v)", kind, tally.Accepted, tally.Attempts, tally.Unanswered, tally.Replies)
		}
	}
	percent := percentOf(rejected, total)
	r.Figures(t,
		evidence.Figure{Name: "unauthorized attempts at the LoadBalancer", Value: float64(total), Unit: "count"},
		evidence.Figure{Name: "rejected at the LoadBalancer", Value: percent, Unit: "%"})
	harness.Holds(t, "SC-008", r.Threshold(t, "SC-008"), percent)
	return ctx
}

func percentOf(part, whole int) float64 {
	if whole == 0 {
		return 0
	}
	return 100 * float64(part) / float64(whole)
}
