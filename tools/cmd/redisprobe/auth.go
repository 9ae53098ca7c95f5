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

// maxAttempts bounds the attempts per kind and address of `redisprobe auth`.
const maxAttempts = 100_000

// runAuth: FR-011 and SC-008 from inside the cluster. The attempts' outcome is a
// verdict the caller draws from the JSON; exit 1 only when the run was cut short.
func runAuth(ctx context.Context, args []string, s streams, e env) int {
	var addrs string
	var n int
	var timeout time.Duration
	fs := flag.NewFlagSet("redisprobe auth", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&addrs, "addrs", "", "comma-separated host:port of the instances to try (required)")
	fs.IntVar(&n, "n", 1000, "attempts per kind (no password, wrong password, unknown user) and address, each on a fresh connection")
	fs.DurationVar(&timeout, "timeout", 5*time.Second, "deadline of each attempt")
	if err := parse("auth", fs, args); err != nil {
		return badArgs(s, "auth", err)
	}
	list, err := splitAddrs("-addrs", addrs)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	} else if len(list) == 0 {
		errs = append(errs, errors.New("-addrs: at least one host:port"))
	}
	if n <= 0 || n > maxAttempts {
		errs = append(errs, fmt.Errorf("-n %d: want 1..%d", n, maxAttempts))
	}
	if timeout <= 0 || timeout > time.Minute {
		errs = append(errs, fmt.Errorf("-timeout %s: want > 0 and <= 1m", timeout))
	}
	if err := errors.Join(errs...); err != nil {
		return badArgs(s, "auth", err)
	}
	ctx, cancel := context.WithTimeout(ctx, maxRun)
	defer cancel()
	// The endpoint carries the real password for the positive control only.
	rep, err := probe.Auth(ctx, e.resolver, e.resolver.Endpoint(list[0], e.password), list, n, timeout)
	if err != nil {
		err = errors.New(probe.Redact(err.Error(), e.password))
	}
	return finish(s, "auth", rep, err, nil)
}
