package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/redis-shared/conformance/tools/probe"
)

// runProm: one GET on the Prometheus HTTP API from inside the cluster (SC-005,
// FR-009), answered verbatim; exit 1 when no HTTP answer came.
func runProm(ctx context.Context, args []string, s streams, e env) int {
	var base, path string
	var timeout time.Duration
	fs := flag.NewFlagSet("redisprobe prom", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&base, "url", "", "base URL of the Prometheus, e.g. http://prometheus-operated.monitoring.svc:9090 (required)")
	fs.StringVar(&path, "path", "", "API path with query, under "+probe.PromAPIPrefix+" (required)")
	fs.DurationVar(&timeout, "timeout", 10*time.Second, "deadline of the request")
	if err := parse("prom", fs, args); err != nil {
		return badArgs(s, "prom", err)
	}
	errs := []error{probe.CheckPromURL(base), probe.CheckPromPath(path)}
	if timeout <= 0 || timeout > time.Minute {
		errs = append(errs, fmt.Errorf("-timeout %s: want > 0 and <= 1m", timeout))
	}
	if err := errors.Join(errs...); err != nil {
		return badArgs(s, "prom", err)
	}
	rep := probe.PromGet(ctx, e.resolver, base, path, timeout)
	var err error
	if rep.Error != "" {
		err = errors.New(rep.Error)
	}
	return finish(s, "prom", rep, err, nil)
}
