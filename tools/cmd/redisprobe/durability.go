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

// Bounds of the disruptive commands' flags.
const (
	maxRecover = 5 * time.Minute
	maxWriters = 64
	minEvery   = time.Millisecond
)

// runDurability is `redisprobe durability`: acknowledged writes across a master kill
// the caller makes during the run (SC-007, FR-007).
func runDurability(ctx context.Context, args []string, s streams, e env) int {
	var c common
	cfg := probe.DurabilityConfig{}
	fs := flag.NewFlagSet("redisprobe durability", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.register(fs, true)
	fs.DurationVar(&cfg.Duration, "duration", 20*time.Second, "how long to write")
	fs.DurationVar(&cfg.TTL, "ttl", 10*time.Minute, "TTL of every written key (> 0)")
	fs.IntVar(&cfg.Writers, "writers", 4, "connections writing")
	fs.IntVar(&cfg.Pipeline, "pipeline", 16, "SETs per round trip")
	fs.DurationVar(&cfg.Every, "every", 5*time.Millisecond, "pause between a writer's round trips")
	fs.DurationVar(&cfg.Recover, "recover", 2*time.Minute, "longest wait for the master to answer again")
	if err := parse("durability", fs, args); err != nil {
		return badArgs(s, "durability", err)
	}
	cfg.Prefix = c.prefix
	errs := []error{c.check(true), checkRun(cfg.Duration, cfg.TTL, cfg.Every, cfg.Recover)}
	if cfg.Writers <= 0 || cfg.Writers > maxWriters {
		errs = append(errs, fmt.Errorf("-writers %d: want 1..%d", cfg.Writers, maxWriters))
	}
	if cfg.Pipeline <= 0 || cfg.Pipeline > 1000 {
		errs = append(errs, fmt.Errorf("-pipeline %d: want 1..1000", cfg.Pipeline))
	}
	if err := errors.Join(errs...); err != nil {
		return badArgs(s, "durability", err)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration+2*cfg.Recover+time.Minute)
	defer cancel()
	// Lost writes are a verdict the caller draws from the JSON; only a master that
	// never came back (or keys left) makes the exit code 1.
	rep, err := probe.Durability(ctx, e.resolver, e.resolver.Endpoint(c.addr, e.password), cfg)
	return finish(s, "durability", rep, err, rep.Cleanup)
}

// runOutage is `redisprobe outage`: replica reads and master writes across a master
// kill the caller makes during the run (SC-002).
func runOutage(ctx context.Context, args []string, s streams, e env) int {
	var c common
	cfg := probe.OutageConfig{}
	fs := flag.NewFlagSet("redisprobe outage", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.register(fs, true)
	fs.StringVar(&cfg.ReadAddr, "read-addr", "", "host:port the reader reads from (the replicas Service; required)")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "shortest run; an outage going on then is followed until writes come back")
	fs.DurationVar(&cfg.Every, "every", 10*time.Millisecond, "one read and one write each this often")
	fs.DurationVar(&cfg.TTL, "ttl", 10*time.Minute, "TTL of every written key (> 0)")
	fs.DurationVar(&cfg.Recover, "recover", 2*time.Minute, "longest write outage followed")
	fs.DurationVar(&cfg.SeedWithin, "seed-within", 5*time.Second, "longest wait for the seed key written on the master to read back from -read-addr")
	if err := parse("outage", fs, args); err != nil {
		return badArgs(s, "outage", err)
	}
	cfg.Prefix = c.prefix
	errs := []error{c.check(true), checkRun(cfg.Duration, cfg.TTL, cfg.Every, cfg.Recover)}
	if _, port, err := splitAddr(cfg.ReadAddr); err != nil || port == "" {
		errs = append(errs, fmt.Errorf("-read-addr %q is not host:port", cfg.ReadAddr))
	}
	if cfg.SeedWithin <= 0 || cfg.SeedWithin > maxRecover {
		errs = append(errs, fmt.Errorf("-seed-within %s: want > 0 and <= %s", cfg.SeedWithin, maxRecover))
	}
	if err := errors.Join(errs...); err != nil {
		return badArgs(s, "outage", err)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.SeedWithin+cfg.Duration+cfg.Recover+time.Minute)
	defer cancel()
	rep, err := probe.Outage(ctx, e.resolver, e.resolver.Endpoint(c.addr, e.password), cfg)
	return finish(s, "outage", rep, err, rep.Cleanup)
}

// checkRun checks the time flags both disruptive commands share.
func checkRun(duration, ttl, every, recover time.Duration) error {
	var errs []error
	if duration <= 0 || duration > maxRun {
		errs = append(errs, fmt.Errorf("-duration %s: want > 0 and <= %s", duration, maxRun))
	}
	if ttl <= 0 {
		errs = append(errs, fmt.Errorf("-ttl %s: want > 0", ttl))
	}
	if every < minEvery || every > time.Second {
		errs = append(errs, fmt.Errorf("-every %s: want %s..1s", every, minEvery))
	}
	if recover <= 0 || recover > maxRecover {
		errs = append(errs, fmt.Errorf("-recover %s: want > 0 and <= %s", recover, maxRecover))
	}
	return errors.Join(errs...)
}
