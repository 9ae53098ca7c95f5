package harness

import (
	"context"
	"fmt"

	"github.com/redis-shared/conformance/tools/evidence"
	"github.com/redis-shared/conformance/tools/loadgen"
	"github.com/redis-shared/conformance/tools/target"
)

// Load runs the generator against addr from a vantage point with the valid
// credentials. Keys go under the run's prefix plus name, with KeyTTL.
func (r *Run) Load(ctx context.Context, from target.Vantage, addr, name string, cfg loadgen.Config) (loadgen.Result, error) {
	dialer, err := r.Target.LoadDialer(from, addr, cfg.Connections)
	if err != nil {
		return loadgen.Result{}, fmt.Errorf("load %s: %w", name, err)
	}
	defer dialer.Close()
	cfg.KeyPrefix = r.Key(name) + ":"
	cfg.TTL = KeyTTL
	res, err := loadgen.Run(ctx, cfg, dialer)
	if err != nil {
		return res, fmt.Errorf("load %s against %s from %s: %w", name, addr, from, err)
	}
	return res, nil
}

// LoadFigures are the evidence of one load run; label prefixes every name
// ("baseline p95"), empty for none.
func LoadFigures(label string, res loadgen.Result) []evidence.Figure {
	name := func(s string) string {
		if label == "" {
			return s
		}
		return label + " " + s
	}
	figs := []evidence.Figure{}
	if res.TargetRate > 0 {
		figs = append(figs, evidence.Figure{Name: name("target rate"), Value: res.TargetRate, Unit: "ops/s"})
	}
	figs = append(figs,
		evidence.Figure{Name: name("achieved rate"), Value: res.AchievedRate, Unit: "ops/s"},
		evidence.Figure{Name: name("duration"), Value: res.DurationSeconds, Unit: "s"},
		evidence.Figure{Name: name("requests"), Value: float64(res.Requests), Unit: "count"},
		evidence.Figure{Name: name("errors"), Value: float64(res.Errors), Unit: "count"},
		evidence.Figure{Name: name("unsent"), Value: float64(res.Unsent), Unit: "count"},
		evidence.Figure{Name: name("p50"), Value: res.Latency.P50, Unit: "ms"},
		evidence.Figure{Name: name("p95"), Value: res.Latency.P95, Unit: "ms"},
		evidence.Figure{Name: name("p99"), Value: res.Latency.P99, Unit: "ms"},
		evidence.Figure{Name: name("max"), Value: res.Latency.Max, Unit: "ms"},
	)
	return figs
}
