package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/redis-shared/conformance/tools/probe"
	"github.com/redis-shared/conformance/tools/loadgen"
)

type streams struct {
	out, errOut io.Writer
}

const usage = "usage: redisprobe latency|load|commands|cleanup|dial|durability|outage|replication|auth|prom [flags] (redisprobe <command> -h lists them)"

// maxRun bounds any measurement so that a probe never outlives its pod's purpose.
const maxRun = 10 * time.Minute

func run(ctx context.Context, args []string, s streams, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprintln(s.errOut, usage)
		return probe.ExitBadArgs
	}
	cmds := map[string]func(context.Context, []string, streams, env) int{
		"latency": runLatency, "load": runLoad, "commands": runCommands, "cleanup": runCleanup, "dial": runDial,
		"durability": runDurability, "outage": runOutage,
		"replication": runReplication, "auth": runAuth, "prom": runProm,
	}
	if args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(s.out, usage)
		return probe.ExitOK
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(s.errOut, "redisprobe: unknown command %q; %s\n", args[0], usage)
		return probe.ExitBadArgs
	}
	resolver, err := probe.ParseResolve(getenv(probe.ResolveEnv))
	if err != nil {
		fmt.Fprintf(s.errOut, "redisprobe %s: %v\n", args[0], err)
		return probe.ExitBadArgs
	}
	return cmd(ctx, args[1:], s, env{password: getenv(probe.PasswordEnv), resolver: resolver})
}

// env is what the probe takes from its environment.
type env struct {
	password string
	resolver probe.Resolver
}

// common flags of the commands that talk to Redis.
type common struct {
	addr, prefix string
}

func (c *common) register(fs *flag.FlagSet, needPrefix bool) {
	fs.StringVar(&c.addr, "addr", probe.DefaultAddr, "host:port of the Redis server")
	if needPrefix {
		fs.StringVar(&c.prefix, "prefix", "", "key prefix; every key the probe touches starts with it (required)")
	}
}

func (c *common) check(needPrefix bool) error {
	var errs []error
	if _, port, err := splitAddr(c.addr); err != nil || port == "" {
		errs = append(errs, fmt.Errorf("-addr %q is not host:port", c.addr))
	}
	if needPrefix {
		if err := loadgen.ValidatePrefix(c.prefix); err != nil {
			errs = append(errs, fmt.Errorf("-prefix: %w", err))
		}
	}
	return errors.Join(errs...)
}

func splitAddr(addr string) (string, string, error) {
	i := strings.LastIndex(addr, ":")
	if i <= 0 {
		return "", "", fmt.Errorf("no port in %q", addr)
	}
	return addr[:i], addr[i+1:], nil
}

func parse(name string, fs *flag.FlagSet, args []string) error {
	// badArgs prefixes "redisprobe NAME:"; the flag package's message names the flag.
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

func badArgs(s streams, name string, err error) int {
	fmt.Fprintf(s.errOut, "redisprobe %s: %s\n", name, oneLine(err))
	return probe.ExitBadArgs
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }

type loadFlags struct {
	common
	cfg    loadgen.Config
	mode   string
	client string
	clean  bool
}

func (l *loadFlags) register(fs *flag.FlagSet) {
	l.common.register(fs, true)
	fs.StringVar(&l.mode, "mode", string(loadgen.OpenLoop), "open (fixed rate) or closed (max throughput)")
	fs.Float64Var(&l.cfg.Rate, "rate", 0, "open loop: target ops/s")
	fs.DurationVar(&l.cfg.Duration, "duration", 0, "run length")
	fs.IntVar(&l.cfg.Connections, "conns", 32, "connections")
	fs.Float64Var(&l.cfg.SetRatio, "set-ratio", 0.5, "fraction of SETs, 0..1")
	fs.IntVar(&l.cfg.KeySpace, "keyspace", loadgen.DefaultKeySpace, "distinct keys")
	fs.DurationVar(&l.cfg.TTL, "ttl", 10*time.Minute, "TTL of every written key (> 0)")
	fs.StringVar(&l.client, "client", loadgen.DefaultClient, "client library: "+strings.Join(loadgen.Clients(), ", "))
	fs.BoolVar(&l.clean, "cleanup", true, "delete the prefix's keys afterwards and count what is left")
}

func (l *loadFlags) check() error {
	l.cfg.Mode = loadgen.Mode(l.mode)
	l.cfg.KeyPrefix = l.prefix
	errs := []error{l.common.check(true), l.cfg.Validate()}
	if l.cfg.Duration <= 0 || l.cfg.Duration > maxRun {
		errs = append(errs, fmt.Errorf("-duration %s: want > 0 and <= %s", l.cfg.Duration, maxRun))
	}
	if l.cfg.Connections <= 0 {
		errs = append(errs, errors.New("-conns must be > 0"))
	}
	return errors.Join(errs...)
}

func runLatency(ctx context.Context, args []string, s streams, e env) int {
	var l loadFlags
	fs := flag.NewFlagSet("redisprobe latency", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	l.register(fs)
	if err := parse("latency", fs, args); err != nil {
		return badArgs(s, "latency", err)
	}
	if l.mode != string(loadgen.OpenLoop) || l.cfg.Rate <= 0 {
		return badArgs(s, "latency", errors.New("a latency sample is open loop at a fixed -rate > 0"))
	}
	return doLoad(ctx, "latency", l, s, e)
}

func runLoad(ctx context.Context, args []string, s streams, e env) int {
	var l loadFlags
	fs := flag.NewFlagSet("redisprobe load", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	l.register(fs)
	if err := parse("load", fs, args); err != nil {
		return badArgs(s, "load", err)
	}
	return doLoad(ctx, "load", l, s, e)
}

func doLoad(ctx context.Context, name string, l loadFlags, s streams, e env) int {
	if err := l.check(); err != nil {
		return badArgs(s, name, err)
	}
	if !contains(loadgen.Clients(), l.client) {
		return badArgs(s, name, fmt.Errorf("-client %q is not one of %s", l.client, strings.Join(loadgen.Clients(), ", ")))
	}
	rep, err := probe.Load(ctx, e.resolver, e.resolver.Endpoint(l.addr, e.password), l.cfg, l.client, l.clean)
	if err != nil {
		err = errors.New(probe.Redact(err.Error(), e.password))
	}
	return finish(s, name, rep, err, rep.Cleanup)
}

func runCommands(ctx context.Context, args []string, s streams, e env) int {
	var c common
	var ttl time.Duration
	fs := flag.NewFlagSet("redisprobe commands", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.register(fs, true)
	fs.DurationVar(&ttl, "ttl", 10*time.Minute, "TTL of every written key (> 0)")
	if err := parse("commands", fs, args); err != nil {
		return badArgs(s, "commands", err)
	}
	if err := c.check(true); err != nil {
		return badArgs(s, "commands", err)
	}
	if ttl <= 0 {
		return badArgs(s, "commands", fmt.Errorf("-ttl %s: want > 0", ttl))
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	// Failed round trips are a verdict the caller draws from the JSON, not a failure
	// to measure: only a cleanup that left keys makes the exit code 1.
	rep := probe.Commands(ctx, e.resolver, e.resolver.Endpoint(c.addr, e.password), c.prefix, ttl)
	return finish(s, "commands", rep, nil, rep.Cleanup)
}

func runCleanup(ctx context.Context, args []string, s streams, e env) int {
	var c common
	var verify string
	fs := flag.NewFlagSet("redisprobe cleanup", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.register(fs, true)
	fs.StringVar(&verify, "verify", "", "comma-separated host:port of other instances (replicas) on which SCAN must find no key left")
	if err := parse("cleanup", fs, args); err != nil {
		return badArgs(s, "cleanup", err)
	}
	if err := c.check(true); err != nil {
		return badArgs(s, "cleanup", err)
	}
	var others []string
	for _, a := range strings.Split(verify, ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		if _, port, err := splitAddr(a); err != nil || port == "" {
			return badArgs(s, "cleanup", fmt.Errorf("-verify: %q is not host:port", a))
		}
		others = append(others, a)
	}
	rep := probe.CleanupPrefix(ctx, e.resolver, e.resolver.Endpoint(c.addr, e.password), c.prefix, others)
	return finish(s, "cleanup", rep, nil, &rep)
}

func runDial(ctx context.Context, args []string, s streams, e env) int {
	var addr string
	var timeout time.Duration
	fs := flag.NewFlagSet("redisprobe dial", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&addr, "addr", "", "IP:port to connect to (required)")
	fs.DurationVar(&timeout, "timeout", 2*time.Second, "connect deadline")
	if err := parse("dial", fs, args); err != nil {
		return badArgs(s, "dial", err)
	}
	if _, port, err := splitAddr(addr); err != nil || port == "" {
		return badArgs(s, "dial", fmt.Errorf("-addr %q is not host:port", addr))
	}
	if timeout <= 0 || timeout > time.Minute {
		return badArgs(s, "dial", fmt.Errorf("-timeout %s: want > 0 and <= 1m", timeout))
	}
	rep := probe.DialOnce(ctx, e.resolver, addr, timeout)
	return finish(s, "dial", rep, nil, nil)
}

// finish prints the report and turns the outcome into the exit code: 1 when the
// measurement failed or its keys were not all gone.
func finish(s streams, name string, rep any, runErr error, clean *probe.Cleanup) int {
	if err := json.NewEncoder(s.out).Encode(rep); err != nil {
		fmt.Fprintf(s.errOut, "redisprobe %s: write json: %v\n", name, err)
		return probe.ExitFailed
	}
	code := probe.ExitOK
	if runErr != nil {
		fmt.Fprintf(s.errOut, "redisprobe %s: %v\n", name, runErr)
		code = probe.ExitFailed
	}
	if clean != nil && clean.Error != "" {
		fmt.Fprintf(s.errOut, "redisprobe %s: cleanup of %q: %s\n", name, clean.Prefix, clean.Error)
		code = probe.ExitFailed
	}
	if clean != nil && clean.Left() > 0 {
		fmt.Fprintf(s.errOut, "redisprobe %s: %d keys left under %q\n", name, clean.Left(), clean.Prefix)
		code = probe.ExitFailed
	}
	return code
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
