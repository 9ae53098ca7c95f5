// Command redisprobe is the static probe the kube target streams into its probe pod
// (no image registry needed): it reads one probe.Request as JSON on stdin, carries it
// out with tools/probe from inside the cluster, and writes the probe.Report as JSON
// on stdout. The sandbox runs the same probe.Run in-process.
//
//	echo '{"kind":"commands","addr":"redis-shared-master.redis.svc.cluster.local:6379","prefix":"conformance:x:","ttl":600000000000}' | redisprobe
//
// The password comes from $REDISPROBE_PASSWORD, never from the request or a flag,
// and is never printed. $REDISPROBE_RESOLVE (NAME=IP:PORT,...) is a test hook only.
// Exit codes (tools/exitcode): 0 done (a refusal or a lost write is a result, not a
// failure), 1 the measurement could not be carried out or left keys behind, 2 bad
// request.
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
	code := run(ctx, os.Args[1:], streams{in: os.Stdin, out: os.Stdout, errOut: os.Stderr}, os.Getenv)
	stop()
	os.Exit(code)
}

type discardLogger struct{}

func (discardLogger) Printf(context.Context, string, ...any) {}
