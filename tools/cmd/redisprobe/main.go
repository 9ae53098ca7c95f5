// Command redisprobe is the static probe the kube target streams into its probe pod
// (no image registry needed): it measures from inside the cluster and prints one JSON
// line. Subcommands:
//
//	redisprobe latency  -addr A -prefix P -rate R -duration D [-conns N]   SC-001 sample (open loop)
//	redisprobe load     -addr A -prefix P -mode open|closed ...            SC-006 (tools/loadgen)
//	redisprobe commands -addr A -prefix P [-ttl D]                         FR-014 round trips
//	redisprobe cleanup  -addr A -prefix P [-verify A2,A3]                  delete + SCAN proof
//	redisprobe dial     -addr IP:PORT [-timeout D]                         FR-005/SC-004 TCP connect
//
// The password comes from $REDISPROBE_PASSWORD, never from a flag, and is never
// printed. $REDISPROBE_RESOLVE (NAME=IP:PORT,...) is a test hook only. Exit codes:
// 0 done (a dial's refusal is a result, not a failure), 1 the measurement could not
// be carried out or left keys behind, 2 bad flags.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/redis/go-redis/v9"
)

func main() {
	// Failures go into the JSON; go-redis' own log lines would only mix with it.
	redis.SetLogger(discardLogger{})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], streams{out: os.Stdout, errOut: os.Stderr}, os.Getenv)
	stop()
	os.Exit(code)
}

type discardLogger struct{}

func (discardLogger) Printf(context.Context, string, ...any) {}
