package monitoring

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/redis-shared/conformance/suites/internal/harness"
	"github.com/redis-shared/conformance/tools/target"
)

// The monitoring checks on the kube target: the cluster's Prometheus answers at a
// Service address only a pod reaches, so every API call goes through the probe pod
// (`redisprobe prom`), and the judgements are the sandbox's own (assessTargetsUp,
// assessMetricSet, assessFreshness).
func TestMetricsFromProbe(t *testing.T) {
	scraped := features.New("Prometheus scrapes both instances, queried from the probe pod").
		WithLabel("target", "kube").
		WithLabel("req", "FR-009").
		Setup(viaProbePrometheus).
		Assess("both instances are scrape targets that are up", assessTargetsUp).
		Assess("the alert rules are loaded and healthy", assessRulesLoaded).
		Feature()
	metricSet := features.New("metrics for both instances, queried from the probe pod").
		WithLabel("target", "kube").
		WithLabel("req", "FR-008").
		Setup(viaProbePrometheus).
		Assess("uptime, memory, clients, ops per second and replication status for each instance", assessMetricSet).
		Feature()
	fresh := features.New("metric freshness, queried from the probe pod").
		WithLabel("target", "kube").
		WithLabel("req", "SC-005").
		Setup(viaProbePrometheus).
		Assess("samples of each instance are updated within the catalog bound", assessFreshness).
		Feature()
	testenv.Test(t, scraped, metricSet, fresh)
}

type probePromKey struct{}

// viaProbePrometheus is the Setup: the target queries Prometheus from its probe pod,
// at the URL the user gave (--prometheus-url); without one the feature skips with
// that reason before the pod is started.
func viaProbePrometheus(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	t.Helper()
	r := harness.From(ctx)
	checker, ok := r.Target.(target.ProbeChecker)
	if !ok {
		t.Skipf("the %s target has no in-cluster probe pod", r.Target.Name())
	}
	prom, err := checker.ProbePrometheus()
	harness.SkipUnsupported(t, "queries to the cluster's Prometheus from the probe pod", err)
	require.NoError(t, err)
	_, err = checker.ProbeStart(ctx)
	harness.SkipUnsupported(t, "the in-cluster probe pod", err)
	require.NoError(t, err, "start the probe pod")
	return context.WithValue(ctx, probePromKey{}, prom)
}
