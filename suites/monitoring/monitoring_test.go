package monitoring

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/redis-shared/conformance/suites/internal/harness"
	"github.com/redis-shared/conformance/suites/internal/judge"
	"github.com/redis-shared/conformance/tools/evidence"
	"github.com/redis-shared/conformance/tools/probe"
	"github.com/redis-shared/conformance/tools/project"
	"github.com/redis-shared/conformance/tools/target"
)

// instanceDownMetric is what an instance-down alert must watch: the exporter's
// redis_up (DESIGN §4 lists the metric names to rely on).
const instanceDownMetric = "redis_up"

func TestMetrics(t *testing.T) {
	scraped := features.New("Prometheus scrapes both instances").
		WithLabel("req", "FR-009").
		Assess("both instances are scrape targets that are up", assessTargetsUp).
		Assess("the alert rules are loaded and healthy", assessRulesLoaded).
		Feature()
	metricSet := features.New("metrics for both instances").
		WithLabel("req", "FR-008").
		Assess("uptime, memory, clients, ops per second and replication status for each instance", assessMetricSet).
		Feature()
	fresh := features.New("metric freshness").
		WithLabel("req", "SC-005").
		Assess("samples of each instance are updated within the catalog bound", assessFreshness).
		Feature()
	testenv.Test(t, scraped, metricSet, fresh)
}

func TestAlerts(t *testing.T) {
	down := features.New("instance-down alert").
		WithLabel("req", "FR-009").
		WithLabel("req", "SC-005").
		WithLabel("type", "disruptive").
		Setup(harness.Disruptive).
		Setup(harness.NeedsVantage(target.Cluster)).
		Assess("with one instance stopped the alert fires within the catalog bound and the other keeps serving, and it clears after the restart", assessInstanceDownAlert).
		Feature()
	testenv.Test(t, down)
}

func prometheus(ctx context.Context, t *testing.T) *target.Prometheus {
	t.Helper()
	// On kube every API call goes through the probe pod (`redisprobe prom`): the
	// cluster's Prometheus answers at a Service address only a pod reaches.
	prom, err := harness.From(ctx).Target.Prometheus()
	harness.SkipUnsupported(t, "queries to the Prometheus that scrapes the deployment", err)
	require.NoError(t, err, "monitoring")
	return prom
}

// waitTimeout bounds waits for Prometheus to have what a check needs: a few scrape
// intervals at the catalog's freshness bound.
func waitTimeout(t *testing.T, r *harness.Run) time.Duration {
	return 4 * harness.Seconds(t, r.Threshold(t, "SC-005"))
}

func assessTargetsUp(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r := harness.From(ctx)
	prom := prometheus(ctx, t)
	ep := harness.Endpoints(ctx, t)
	health := map[string]string{}
	err := harness.WaitFor(ctx, "every instance's scrape target to be up", waitTimeout(t, r), time.Second, func(ctx context.Context) (bool, error) {
		targets, err := prom.Targets(ctx)
		if err != nil {
			return false, nil // Prometheus may still be starting; the timeout bounds it
		}
		health = map[string]string{}
		for _, tg := range targets {
			health[tg.Labels["pod"]] = tg.Health
		}
		for _, inst := range ep.Instances {
			if health[inst.Pod] != "up" {
				return false, nil
			}
		}
		return true, nil
	})
	up := 0
	for _, inst := range ep.Instances {
		r.Note(t, "scrape target %s: %s", inst.Pod, orNone(health[inst.Pod]))
		if health[inst.Pod] == "up" {
			up++
		}
	}
	r.Figures(t, evidence.Figure{Name: "instances", Value: float64(len(ep.Instances)), Unit: "count"},
		evidence.Figure{Name: "scrape targets up", Value: float64(up), Unit: "count"})
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(ep.Instances), 2, "instances to monitor")
	return ctx
}

func orNone(s string) string {
	if s == "" {
		return "not a target"
	}
	return s
}

func assessRulesLoaded(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r := harness.From(ctx)
	rules, err := prometheus(ctx, t).Rules(ctx)
	require.NoError(t, err)
	alerting, unhealthy := 0, 0
	var names []string
	for _, rule := range rules {
		if rule.Type == "alerting" {
			alerting++
			names = append(names, rule.Name)
		}
		// "unknown" is a rule not evaluated yet; only "err" is broken.
		if rule.Health == "err" {
			unhealthy++
			t.Errorf("rule %s in group %s fails to evaluate", rule.Name, rule.Group)
		}
	}
	r.Figures(t, evidence.Figure{Name: "rules loaded", Value: float64(len(rules)), Unit: "count"},
		evidence.Figure{Name: "alerting rules", Value: float64(alerting), Unit: "count"},
		evidence.Figure{Name: "rules failing to evaluate", Value: float64(unhealthy), Unit: "count"})
	r.Note(t, "alerting rules: %s", strings.Join(names, ", "))
	assert.NotZero(t, alerting, "no alerting rule is loaded")
	_, found := instanceDownRule(rules)
	assert.True(t, found, "no alerting rule watches %s (an instance-down alert)", instanceDownMetric)
	return ctx
}

// instanceDownRule finds the alerting rule that watches redis_up.
func instanceDownRule(rules []target.PromRule) (target.PromRule, bool) {
	for _, rule := range rules {
		if rule.Type == "alerting" && strings.Contains(rule.Query, instanceDownMetric) {
			return rule, true
		}
	}
	return target.PromRule{}, false
}

// metricCheck is one metric the spec asks for, per instance role.
type metricCheck struct {
	name  string
	query string
	// roles the metric applies to; empty means every instance.
	roles []string
	unit  string
}

func metricChecks() []metricCheck {
	return []metricCheck{
		{"uptime", "redis_uptime_in_seconds", nil, "s"},
		{"memory used", "redis_memory_used_bytes", nil, "bytes"},
		{"connected clients", "redis_connected_clients", nil, "count"},
		// Older exporters lack instantaneous ops/s; the rate works everywhere.
		{"ops per second", "rate(redis_commands_processed_total[1m])", nil, "ops/s"},
		{"connected replicas", "redis_connected_slaves", []string{target.RoleMaster}, "count"},
		{"replication link up", "redis_master_link_up", []string{target.RoleReplica}, "bool"},
	}
}

func appliesTo(mc metricCheck, role string) bool {
	if len(mc.roles) == 0 {
		return true
	}
	for _, r := range mc.roles {
		if r == role {
			return true
		}
	}
	return false
}

func assessMetricSet(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r := harness.From(ctx)
	prom := prometheus(ctx, t)
	ep := harness.Endpoints(ctx, t)
	require.NotEmpty(t, ep.Instances)
	values := map[string]map[string]float64{} // metric -> pod -> value
	missing := func() []string {
		var out []string
		for _, mc := range metricChecks() {
			for _, inst := range ep.Instances {
				if _, ok := values[mc.name][inst.Pod]; appliesTo(mc, inst.Role) && !ok {
					out = append(out, mc.name+" of "+inst.Pod)
				}
			}
		}
		return out
	}
	// A rate needs two scrapes: wait, bounded, until every metric has every instance.
	err := harness.WaitFor(ctx, "every metric for every instance", waitTimeout(t, r), time.Second, func(ctx context.Context) (bool, error) {
		for _, mc := range metricChecks() {
			samples, err := prom.Query(ctx, mc.query)
			if err != nil {
				return false, nil
			}
			values[mc.name] = map[string]float64{}
			for _, s := range samples {
				values[mc.name][s.Labels["pod"]] = s.Value
			}
		}
		return len(missing()) == 0, nil
	})
	var figs []evidence.Figure
	for _, mc := range metricChecks() {
		for _, inst := range ep.Instances {
			if v, ok := values[mc.name][inst.Pod]; ok && appliesTo(mc, inst.Role) {
				figs = append(figs, evidence.Figure{Name: fmt.Sprintf("%s %s", inst.Name, mc.name), Value: v, Unit: mc.unit})
			}
		}
	}
	r.Figures(t, figs...)
	require.NoError(t, err, "missing: %s", strings.Join(missing(), ", "))
	for _, inst := range ep.ByRole(target.RoleReplica) {
		assert.Equal(t, 1.0, values["replication link up"][inst.Pod], "redis_master_link_up of %s", inst.Pod)
	}
	return ctx
}

func assessFreshness(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r := harness.From(ctx)
	prom := prometheus(ctx, t)
	ep := harness.Endpoints(ctx, t)
	threshold := r.Threshold(t, "SC-005")
	window := 3 * harness.Seconds(t, threshold)
	selector := fmt.Sprintf("%s[%ds]", instanceDownMetric, int(window.Seconds()))
	// Enough samples per instance to see at least two update intervals.
	const wantSamples = 3
	var series []target.Series
	err := harness.WaitFor(ctx, fmt.Sprintf("%d samples of %s per instance", wantSamples, instanceDownMetric), 2*window, time.Second, func(ctx context.Context) (bool, error) {
		s, err := prom.QueryRange(ctx, selector)
		if err != nil {
			return false, nil
		}
		series = s
		for _, inst := range ep.Instances {
			if samplesOf(series, inst.Pod) < wantSamples {
				return false, nil
			}
		}
		return true, nil
	})
	configured, cfgErr := scrapeIntervals(ctx, prom)
	now := time.Now()
	jitter := harness.Seconds(t, r.Bound(t, "SC-005", "scrape_jitter"))
	var figs []evidence.Figure
	for _, inst := range ep.Instances {
		gaps, age, ok := updateGaps(series, inst.Pod, now)
		if !ok {
			t.Errorf("fewer than %d samples of %s for %s in %s", wantSamples, instanceDownMetric, inst.Pod, window)
			continue
		}
		every, known := configured[inst.Pod]
		if !known {
			t.Errorf("Prometheus reports no scrape interval for %s", inst.Pod)
		}
		mean, longest := meanGap(gaps), probe.Percentile(gaps, 100)
		figs = append(figs,
			evidence.Figure{Name: inst.Name + " scrape interval", Value: every.Seconds(), Unit: "s"},
			evidence.Figure{Name: inst.Name + " mean gap between samples", Value: mean, Unit: "s"},
			evidence.Figure{Name: inst.Name + " longest gap between samples", Value: longest, Unit: "s"},
			evidence.Figure{Name: inst.Name + " sample age", Value: age.Seconds(), Unit: "s"})
		// The samples must show the interval is honoured: no missed scrape, no drift.
		if longest > every.Seconds()+jitter.Seconds() || math.Abs(mean-every.Seconds()) > jitter.Seconds() {
			t.Errorf("SC-005: %s samples every %.3f s on average, longest gap %.3f s, against a configured %s (scrape jitter allowed: %s)", inst.Pod, mean, longest, every, jitter)
		}
	}
	r.Figures(t, figs...)
	require.NoError(t, err)
	require.NoError(t, cfgErr)

	// The judged figure: the largest age of the newest sample of each instance at any
	// moment of the last observe_for, from the samples Prometheus stored.
	observeFor := harness.Seconds(t, r.Bound(t, "SC-005", "observe_for"))
	maxAge, observations, ageErr := measureSampleAges(ctx, prom, ep, observeFor, 2*harness.Seconds(t, threshold))
	refresh, refreshErr := dashboardRefresh()
	ageFigs := []evidence.Figure{{Name: "metric age (largest measured)", Value: maxAge.Seconds(), Unit: "s"}}
	for _, inst := range ep.Instances {
		ageFigs = append(ageFigs, evidence.Figure{Name: inst.Name + " largest sample age", Value: observations.maxByPod[inst.Pod].Seconds(), Unit: "s"})
	}
	ageFigs = append(ageFigs,
		evidence.Figure{Name: "samples in the window", Value: float64(observations.count), Unit: "count"},
		evidence.Figure{Name: "window", Value: observations.span.Seconds(), Unit: "s"},
		evidence.Figure{Name: "longest scrape (time to visibility)", Value: observations.longestScrape.Seconds(), Unit: "s"},
		evidence.Figure{Name: "dashboard refresh", Value: refresh.Seconds(), Unit: "s"})
	r.Figures(t, ageFigs...)
	r.Note(t, "metric age measured over the last %s of %s samples stored by Prometheus: at every moment, the time since each instance's newest sample became visible (the longest gap between two samples plus the scrape's duration, or the newest sample's age at the end); the largest is judged, with the dashboard's refresh (%s)", observations.span.Round(time.Second), instanceDownMetric, dashboardFile)
	require.NoError(t, ageErr)
	require.NoError(t, refreshErr)
	for _, problem := range judge.Freshness(r.Catalog, maxAge, observations.span, refresh, observations.count) {
		t.Error(problem)
	}
	return ctx
}

// dashboardFile is the Grafana dashboard the chart ships (relative to the project root).
const dashboardFile = "helm-values/dashboards/redis-shared.json"

// dashboardRefresh reads the dashboard's auto-refresh setting.
func dashboardRefresh() (time.Duration, error) {
	root, err := project.Root()
	if err != nil {
		return 0, err
	}
	raw, err := os.ReadFile(filepath.Join(root, dashboardFile))
	if err != nil {
		return 0, fmt.Errorf("dashboard refresh: %w", err)
	}
	var dash struct {
		Refresh string `json:"refresh"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		return 0, fmt.Errorf("dashboard refresh: %s: %w", dashboardFile, err)
	}
	d, err := time.ParseDuration(dash.Refresh)
	if err != nil {
		return 0, fmt.Errorf("dashboard refresh: %s: refresh %q: %w", dashboardFile, dash.Refresh, err)
	}
	return d, nil
}

type ageObservations struct {
	count         int
	span          time.Duration
	longestScrape time.Duration
	maxByPod      map[string]time.Duration
}

// measureSampleAges measures how old the newest redis_up sample of each instance was
// at every moment of the last window, from what Prometheus stored rather than by
// asking once a second while the window passes: the age rises until the next sample
// becomes visible, so its largest value is the longest gap between two consecutive
// samples plus the time a scrape takes (a sample is stamped when its scrape starts
// and is visible when it ends: max_over_time(scrape_duration_seconds)), or the newest
// sample's age at the end (time() - timestamp(redis_up), Prometheus's own clock).
// When Prometheus has not been scraping an instance for the whole window yet, it
// waits until it has. lookback is how far before the window a sample is looked for.
func measureSampleAges(ctx context.Context, prom *target.Prometheus, ep target.Endpoints, window, lookback time.Duration) (time.Duration, ageObservations, error) {
	var (
		obs     ageObservations
		largest time.Duration
		missing string
	)
	secs := func(d time.Duration) int { return int(d.Round(time.Second).Seconds()) }
	err := harness.WaitFor(ctx, fmt.Sprintf("%s of stored %s samples for every instance", window, instanceDownMetric), window+lookback+time.Minute, time.Second, func(ctx context.Context) (bool, error) {
		ends, err := prom.Query(ctx, fmt.Sprintf("time() - timestamp(%s)", instanceDownMetric))
		if err != nil {
			return false, err
		}
		series, err := prom.QueryRange(ctx, fmt.Sprintf("%s[%ds]", instanceDownMetric, secs(window+lookback)))
		if err != nil {
			return false, err
		}
		scrapes, err := prom.Query(ctx, fmt.Sprintf("max_over_time(scrape_duration_seconds[%ds])", secs(window)))
		if err != nil {
			return false, err
		}
		obs, largest = ageObservations{span: window, maxByPod: map[string]time.Duration{}}, 0
		for _, inst := range ep.Instances {
			end, ok := sampleOf(ends, inst.Pod)
			if !ok {
				missing = "no newest " + instanceDownMetric + " sample of " + inst.Pod
				return false, nil
			}
			scrape, ok := sampleOf(scrapes, inst.Pod)
			if !ok {
				missing = "no scrape_duration_seconds of " + inst.Pod
				return false, nil
			}
			visible := time.Duration(scrape.Value * float64(time.Second))
			age, count, ok := target.LargestSampleAge(series, inst.Pod, end.Time.Add(-window), time.Duration(end.Value*float64(time.Second)), visible)
			if !ok {
				missing = fmt.Sprintf("Prometheus holds no %s sample of %s from before %s ago", instanceDownMetric, inst.Pod, window)
				return false, nil
			}
			obs.maxByPod[inst.Pod], obs.count = age, obs.count+count
			obs.longestScrape = max(obs.longestScrape, visible)
			largest = max(largest, age)
		}
		return true, nil
	})
	if err != nil && missing != "" {
		err = fmt.Errorf("%w (%s)", err, missing)
	}
	return largest, obs, err
}

// sampleOf returns the sample of one pod's series in an instant query's result.
func sampleOf(samples []target.Sample, pod string) (target.Sample, bool) {
	for _, s := range samples {
		if s.Labels["pod"] == pod {
			return s, true
		}
	}
	return target.Sample{}, false
}

// scrapeIntervals returns the configured scrape interval of each target by pod.
func scrapeIntervals(ctx context.Context, prom *target.Prometheus) (map[string]time.Duration, error) {
	targets, err := prom.Targets(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]time.Duration{}
	for _, tg := range targets {
		d, err := time.ParseDuration(tg.ScrapeInterval)
		if err != nil {
			return nil, fmt.Errorf("scrape interval %q of %s: %w", tg.ScrapeInterval, tg.Labels["pod"], err)
		}
		out[tg.Labels["pod"]] = d
	}
	return out, nil
}

func meanGap(gaps []float64) float64 {
	sum := 0.0
	for _, g := range gaps {
		sum += g
	}
	return sum / float64(len(gaps))
}

func samplesOf(series []target.Series, pod string) int {
	return len(target.PodSampleTimes(series, pod))
}

// updateGaps returns the gaps (seconds) between consecutive samples of a pod and
// the age of its newest sample at now.
func updateGaps(series []target.Series, pod string, now time.Time) (gaps []float64, age time.Duration, ok bool) {
	times := target.PodSampleTimes(series, pod)
	if len(times) < 2 {
		return nil, 0, false
	}
	for i := 1; i < len(times); i++ {
		gaps = append(gaps, times[i].Sub(times[i-1]).Seconds())
	}
	return gaps, max(now.Sub(times[len(times)-1]), 0), true
}

func assessInstanceDownAlert(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r := harness.From(ctx)
	prom := prometheus(ctx, t)
	ep := harness.Endpoints(ctx, t)
	bound := harness.Seconds(t, r.Bound(t, "SC-005", "alert_fire_within"))
	rules, err := prom.Rules(ctx)
	require.NoError(t, err)
	rule, found := instanceDownRule(rules)
	require.True(t, found, "no alerting rule watches %s", instanceDownMetric)
	replicas := ep.ByRole(target.RoleReplica)
	require.NotEmpty(t, replicas, "no second instance to stop while the other keeps serving")
	victim := replicas[0]

	stopped := time.Now()
	revert, err := r.Target.Stop(ctx, victim.Name)
	require.NoError(t, err, "stop %s", victim.Name)
	t.Cleanup(func() { harness.MustRevert(t, ctx, "restart "+victim.Name, revert) })

	firing := func(ctx context.Context) (bool, error) {
		alerts, err := prom.Alerts(ctx)
		if err != nil {
			return false, nil
		}
		for _, a := range alerts {
			if a.Labels["alertname"] == rule.Name && a.State == "firing" && (a.Labels["pod"] == victim.Pod || a.Labels["pod"] == "") {
				return true, nil
			}
		}
		return false, nil
	}
	// The other instance keeps serving while the alert is pending.
	serveErrs, served := 0, 0
	master := r.Client(t, "SC-005 writes while the alert is pending", target.Cluster, ep.Master, target.Valid)
	defer master.Close()
	err = harness.WaitFor(ctx, fmt.Sprintf("alert %s to fire for %s", rule.Name, victim.Pod), bound, time.Second, func(ctx context.Context) (bool, error) {
		key := r.Key("us3", "alive")
		if err := master.Set(ctx, key, time.Now().String(), harness.KeyTTL).Err(); err != nil {
			serveErrs++
		} else if err := master.Get(ctx, key).Err(); err != nil {
			serveErrs++
		} else {
			served++
		}
		return firing(ctx)
	})
	fired := time.Since(stopped)
	r.Figures(t,
		evidence.Figure{Name: "alert fired after", Value: fired.Seconds(), Unit: "s"},
		evidence.Figure{Name: "master SET+GET while the alert was pending", Value: float64(served), Unit: "count"},
		evidence.Figure{Name: "master errors while the alert was pending", Value: float64(serveErrs), Unit: "count"})
	r.Note(t, "stopped %s; alert rule %s (for: the rule's own duration) watched in Prometheus", victim.Pod, rule.Name)
	require.NoError(t, err)
	assert.Zero(t, serveErrs, "the master failed requests while %s was down", victim.Name)
	harness.Holds(t, "SC-005", r.Bound(t, "SC-005", "alert_fire_within"), fired.Seconds())

	restarted := time.Now()
	require.NoError(t, harness.Revert(ctx, revert), "restart %s", victim.Name)
	err = harness.WaitFor(ctx, fmt.Sprintf("alert %s to clear", rule.Name), bound, time.Second, func(ctx context.Context) (bool, error) {
		on, err := firing(ctx)
		return !on, err
	})
	cleared := time.Since(restarted)
	r.Figures(t, evidence.Figure{Name: "alert cleared after restart", Value: cleared.Seconds(), Unit: "s"})
	require.NoError(t, err)
	return ctx
}
