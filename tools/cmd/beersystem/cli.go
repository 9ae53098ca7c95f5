package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis-shared/conformance/tools/exitcode"
)

// Env var names: the Redis ones are what tools/cutover guesses on the real
// Deployment (REDIS_HOST, REDIS_PORT, REDIS_PASSWORD).
const (
	EnvRedisHost     = "REDIS_HOST"
	EnvRedisPort     = "REDIS_PORT"
	EnvRedisPassword = "REDIS_PASSWORD"
	EnvPodName       = "POD_NAME"
	EnvListen        = "BEERSYSTEM_LISTEN"
	EnvKeyPrefix     = "BEERSYSTEM_KEY_PREFIX"
	EnvSessionTTL    = "BEERSYSTEM_SESSION_TTL"
	EnvCacheTTL      = "BEERSYSTEM_CACHE_TTL"
)

const shutdownGrace = 5 * time.Second

// errUsagePrinted: exitcode.ParseFlags has printed the one-line usage error.
var errUsagePrinted = errors.New("usage error")

// run parses flags and env, serves until ctx ends and returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := parseConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitcode.OK
	}
	if errors.Is(err, errUsagePrinted) {
		return exitcode.CouldNotRun
	}
	if err != nil {
		fmt.Fprintf(stderr, "beersystem: %v\n", err)
		return exitcode.CouldNotRun
	}
	app := NewApp(cfg)
	defer app.Close()

	listener, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		fmt.Fprintf(stderr, "beersystem: listen on %s: %v\n", cfg.Listen, err)
		return exitcode.Failed
	}
	// The password is never printed: only whether one is set.
	fmt.Fprintf(stdout, "beersystem: listening on %s, Redis %s as client %q (password set: %t), keys under %q\n",
		listener.Addr(), cfg.RedisAddr(), cfg.ClientName, cfg.RedisPassword != "", cfg.KeyPrefix)

	srv := &http.Server{Handler: app.Handler(), ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(listener) }()
	select {
	case err := <-served:
		fmt.Fprintf(stderr, "beersystem: serve: %v\n", err)
		return exitcode.Failed
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		fmt.Fprintf(stderr, "beersystem: shutdown: %v\n", err)
		return exitcode.Failed
	}
	fmt.Fprintln(stdout, "beersystem: stopped")
	return exitcode.OK
}

// parseConfig reads the flags, then the env for whatever the flags leave unset.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("beersystem", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "", "HTTP listen address (env "+EnvListen+", default :8080)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: beersystem [--listen ADDR]\n\nRedis settings come from the env, as on the real Deployment:\n"+
			"  %s (required), %s (default 6379), %s (default: no AUTH)\n"+
			"  %s (client name beersystem-<it>, default the hostname)\n"+
			"  %s (every key starts with it, default beersystem:)\n"+
			"  %s (default 30m), %s (default 5m): every key gets a TTL\n",
			EnvRedisHost, EnvRedisPort, EnvRedisPassword, EnvPodName, EnvKeyPrefix, EnvSessionTTL, EnvCacheTTL)
		fs.PrintDefaults()
	}
	switch exitcode.ParseFlagsAndArgs(fs, args, stderr) {
	case exitcode.OK:
		return Config{}, flag.ErrHelp
	case exitcode.CouldNotRun:
		return Config{}, errUsagePrinted
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments %q (settings come from flags and env)", fs.Args())
	}
	cfg := Config{
		Listen:        firstSet(*listen, getenv(EnvListen), ":8080"),
		RedisHost:     strings.TrimSpace(getenv(EnvRedisHost)),
		RedisPassword: getenv(EnvRedisPassword),
		KeyPrefix:     firstSet(getenv(EnvKeyPrefix), "beersystem:"),
	}
	if cfg.RedisHost == "" {
		return Config{}, fmt.Errorf("env %s is empty: the Redis host is required", EnvRedisHost)
	}
	portText := firstSet(strings.TrimSpace(getenv(EnvRedisPort)), "6379")
	port, err := strconv.Atoi(portText)
	if err != nil || port < 1 || port > 65535 {
		return Config{}, fmt.Errorf("env %s=%q: want a port 1-65535", EnvRedisPort, portText)
	}
	cfg.RedisPort = port
	for _, d := range []struct {
		env  string
		def  string
		into *time.Duration
	}{{EnvSessionTTL, "30m", &cfg.SessionTTL}, {EnvCacheTTL, "5m", &cfg.CacheTTL}} {
		text := firstSet(getenv(d.env), d.def)
		ttl, err := time.ParseDuration(text)
		if err != nil || ttl < time.Second {
			return Config{}, fmt.Errorf("env %s=%q: want a duration of at least 1s (every key needs a TTL)", d.env, text)
		}
		*d.into = ttl
	}
	pod := getenv(EnvPodName)
	if pod == "" {
		if pod, err = os.Hostname(); err != nil {
			return Config{}, fmt.Errorf("env %s is empty and the hostname is unknown: %w", EnvPodName, err)
		}
	}
	cfg.ClientName = "beersystem-" + clientNameSafe(pod)
	return cfg, nil
}

func firstSet(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// clientNameSafe replaces what CLIENT SETNAME refuses (spaces, newlines).
func clientNameSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r <= ' ' || r > '~' {
			return '-'
		}
		return r
	}, s)
}
