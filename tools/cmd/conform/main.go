// Command conform is the redis-shared conformance CLI. See `conform help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/redis/go-redis/v9"

	"github.com/redis-shared/conformance/tools/cli"
)

func main() {
	// go-redis logs every failed dial of its pools to stderr; `sandbox up` dials
	// instances that are still starting, and the commands report errors themselves.
	redis.SetLogger(discardLogger{})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	stop()
	os.Exit(code)
}

type discardLogger struct{}

func (discardLogger) Printf(context.Context, string, ...any) {}
