// Command loadgen drives SET/GET load against Redis and prints JSON figures; its
// bench subcommand compares the generator with redis-benchmark on a local server.
// Exit codes: 0 done, 1 the run could not be carried out, 2 bad flags.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/redis/go-redis/v9"
)

func main() {
	// Connection failures are counted and sampled in the JSON; go-redis' own log
	// lines about them would only interleave with it on stderr.
	redis.SetLogger(discardLogger{})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], streams{out: os.Stdout, errOut: os.Stderr}, os.Getenv)
	stop()
	os.Exit(code)
}

type discardLogger struct{}

func (discardLogger) Printf(context.Context, string, ...any) {}
