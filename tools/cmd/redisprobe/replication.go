package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/redis-shared/conformance/tools/probe"
)

// maxWrites bounds the writes per replica of `redisprobe replication`.
const maxWrites = 10_000

// splitAddrs reads a comma-separated list of host:port (empty entries dropped).
func splitAddrs(flagName, list string) ([]string, error) {
	var out []string
	for _, a := range strings.Split(list, ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		if _, port, err := splitAddr(a); err != nil || port == "" {
			return nil, fmt.Errorf("%s: %q is not host:port", flagName, a)
		}
		out = append(out, a)
	}
	return out, nil
}

// runReplication: FR-006 from inside the cluster. Writes that do not show on a
// replica are a verdict the caller draws from the JSON; only a cleanup that left keys
// makes the exit code 1.
func runReplication(ctx context.Context, args []string, s streams, e env) int {
	var c common
	var replicas string
	opts := probe.ReplicationOptions{}
	fs := flag.NewFlagSet("redisprobe replication", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.register(fs, true)
	fs.StringVar(&replicas, "replicas", "", "comma-separated host:port of the replicas to read back on (required)")
	fs.IntVar(&opts.Writes, "writes", 20, "writes per replica")
	fs.DurationVar(&opts.Wait, "wait", time.Second, "how long one write may take to show on a replica")
	fs.DurationVar(&opts.TTL, "ttl", 10*time.Minute, "TTL of every written key (> 0)")
	if err := parse("replication", fs, args); err != nil {
		return badArgs(s, "replication", err)
	}
	errs := []error{c.check(true)}
	var err error
	if opts.Replicas, err = splitAddrs("-replicas", replicas); err != nil {
		errs = append(errs, err)
	} else if len(opts.Replicas) == 0 {
		errs = append(errs, errors.New("-replicas: at least one host:port"))
	}
	if opts.Writes <= 0 || opts.Writes > maxWrites {
		errs = append(errs, fmt.Errorf("-writes %d: want 1..%d", opts.Writes, maxWrites))
	}
	if opts.Wait <= 0 || opts.Wait > time.Minute {
		errs = append(errs, fmt.Errorf("-wait %s: want > 0 and <= 1m", opts.Wait))
	}
	if opts.TTL <= 0 {
		errs = append(errs, fmt.Errorf("-ttl %s: want > 0", opts.TTL))
	}
	if err := errors.Join(errs...); err != nil {
		return badArgs(s, "replication", err)
	}
	opts.Prefix = c.prefix
	ctx, cancel := context.WithTimeout(ctx, maxRun)
	defer cancel()
	rep := probe.Replication(ctx, e.resolver, e.resolver.Endpoint(c.addr, e.password), opts)
	return finish(s, "replication", rep, nil, rep.Cleanup)
}
