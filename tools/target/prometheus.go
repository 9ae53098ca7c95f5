package target

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// promCallTimeout bounds every Prometheus API call that the caller's ctx leaves open.
const promCallTimeout = 5 * time.Second

// Prometheus is the HTTP API of the Prometheus that scrapes the deployment. It works
// for any target that can hand out an HTTP client reaching it.
type Prometheus struct {
	// URL is the base URL, e.g. http://10.244.0.5:9090.
	URL    string
	Client *http.Client
}

// Sample is one element of an instant vector.
type Sample struct {
	Labels map[string]string
	Value  float64
	// Time is the evaluation time of the query.
	Time time.Time
}

// PromTarget is one active scrape target.
type PromTarget struct {
	Labels     map[string]string `json:"labels"`
	ScrapePool string            `json:"scrapePool"`
	Health     string            `json:"health"`
	LastError  string            `json:"lastError"`
	LastScrape time.Time         `json:"lastScrape"`
	// LastScrapeDuration is in seconds.
	LastScrapeDuration float64 `json:"lastScrapeDuration"`
	// ScrapeInterval is the target's configured interval as Prometheus prints it ("15s").
	ScrapeInterval string `json:"scrapeInterval"`
}

// PromRule is one loaded rule with its group.
type PromRule struct {
	Group  string `json:"-"`
	Name   string `json:"name"`
	Type   string `json:"type"`
	State  string `json:"state"`
	Health string `json:"health"`
	Query  string `json:"query"`
	// Duration is an alerting rule's `for` in seconds.
	Duration float64 `json:"duration"`
}

// PromAlert is one pending or firing alert.
type PromAlert struct {
	Labels   map[string]string `json:"labels"`
	State    string            `json:"state"`
	ActiveAt time.Time         `json:"activeAt"`
}

// Query evaluates an instant query now.
func (p *Prometheus) Query(ctx context.Context, expr string) ([]Sample, error) {
	var data struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	}
	if err := p.get(ctx, "/api/v1/query?query="+url.QueryEscape(expr), &data); err != nil {
		return nil, err
	}
	if data.ResultType != "vector" {
		return nil, fmt.Errorf("prometheus query %q: result type %q, want vector", expr, data.ResultType)
	}
	out := make([]Sample, 0, len(data.Result))
	for _, r := range data.Result {
		at, v, err := parseSample(r.Value)
		if err != nil {
			return nil, fmt.Errorf("prometheus query %q: %w", expr, err)
		}
		out = append(out, Sample{Labels: r.Metric, Value: v, Time: at})
	}
	return out, nil
}

// Targets returns the active scrape targets.
func (p *Prometheus) Targets(ctx context.Context) ([]PromTarget, error) {
	var data struct {
		ActiveTargets []PromTarget `json:"activeTargets"`
	}
	if err := p.get(ctx, "/api/v1/targets?state=active", &data); err != nil {
		return nil, err
	}
	return data.ActiveTargets, nil
}

// Rules returns every loaded rule.
func (p *Prometheus) Rules(ctx context.Context) ([]PromRule, error) {
	var data struct {
		Groups []struct {
			Name  string     `json:"name"`
			Rules []PromRule `json:"rules"`
		} `json:"groups"`
	}
	if err := p.get(ctx, "/api/v1/rules", &data); err != nil {
		return nil, err
	}
	var out []PromRule
	for _, g := range data.Groups {
		for _, r := range g.Rules {
			r.Group = g.Name
			out = append(out, r)
		}
	}
	return out, nil
}

// Alerts returns the pending and firing alerts.
func (p *Prometheus) Alerts(ctx context.Context) ([]PromAlert, error) {
	var data struct {
		Alerts []PromAlert `json:"alerts"`
	}
	if err := p.get(ctx, "/api/v1/alerts", &data); err != nil {
		return nil, err
	}
	return data.Alerts, nil
}

func (p *Prometheus) get(ctx context.Context, path string, into any) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, promCallTimeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+path, nil)
	if err != nil {
		return fmt.Errorf("prometheus %s: %w", path, err)
	}
	resp, err := p.Client.Do(req)
	if err != nil {
		return fmt.Errorf("prometheus %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("prometheus %s: read body: %w", path, err)
	}
	var envelope struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &envelope); err != nil {
		return fmt.Errorf("prometheus %s: HTTP %d: %w", path, resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK || envelope.Status != "success" {
		return fmt.Errorf("prometheus %s: HTTP %d, status %q: %s", path, resp.StatusCode, envelope.Status, envelope.Error)
	}
	if err := json.Unmarshal(envelope.Data, into); err != nil {
		return fmt.Errorf("prometheus %s: decode data: %w", path, err)
	}
	return nil
}

// Series is one series of a range-vector result: its labels and sample times.
type Series struct {
	Labels  map[string]string
	Samples []time.Time
	Values  []float64
}

// QueryRange evaluates an instant query whose result is a range vector (a selector
// like `redis_up[2m]`) and returns the raw samples of every series.
func (p *Prometheus) QueryRange(ctx context.Context, expr string) ([]Series, error) {
	var data struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Values [][2]any          `json:"values"`
		} `json:"result"`
	}
	if err := p.get(ctx, "/api/v1/query?query="+url.QueryEscape(expr), &data); err != nil {
		return nil, err
	}
	if data.ResultType != "matrix" {
		return nil, fmt.Errorf("prometheus query %q: result type %q, want matrix", expr, data.ResultType)
	}
	out := make([]Series, 0, len(data.Result))
	for _, r := range data.Result {
		s := Series{Labels: r.Metric}
		for _, v := range r.Values {
			at, value, err := parseSample(v)
			if err != nil {
				return nil, fmt.Errorf("prometheus query %q: %w", expr, err)
			}
			s.Samples = append(s.Samples, at)
			s.Values = append(s.Values, value)
		}
		out = append(out, s)
	}
	return out, nil
}

// parseSample reads a [unix seconds, "value"] pair.
func parseSample(v [2]any) (time.Time, float64, error) {
	ts, ok := v[0].(float64)
	text, ok2 := v[1].(string)
	if !ok || !ok2 {
		return time.Time{}, 0, fmt.Errorf("malformed sample %v", v)
	}
	value, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("sample value %q: %w", text, err)
	}
	return time.UnixMilli(int64(ts*1000 + 0.5)), value, nil
}

// PodSampleTimes returns the timestamps of every sample of a pod's series, oldest
// first. A pod can have more than one series (a pod recreated with a new address is
// a new instance label), and Prometheus orders series by labels, not time.
func PodSampleTimes(series []Series, pod string) []time.Time {
	var times []time.Time
	for _, s := range series {
		if s.Labels["pod"] == pod {
			times = append(times, s.Samples...)
		}
	}
	slices.SortFunc(times, time.Time.Compare)
	return times
}

// LargestSampleAge is the largest age of a pod's newest sample at any moment from start
// on: every gap between two consecutive samples that ends after start, plus visible
// (the time a sample takes to become visible once stamped), and endAge, the newest
// sample's age at the end. ok is false when no sample is from start or before: the
// window is not covered yet. count is the number of samples after start.
func LargestSampleAge(series []Series, pod string, start time.Time, endAge, visible time.Duration) (age time.Duration, count int, ok bool) {
	times := PodSampleTimes(series, pod)
	if len(times) == 0 || times[0].After(start) {
		return 0, 0, false
	}
	age = endAge
	for i := 1; i < len(times); i++ {
		if times[i].After(start) {
			age, count = max(age, times[i].Sub(times[i-1])+visible), count+1
		}
	}
	return age, count, true
}
