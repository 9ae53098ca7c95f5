// Command conform is the redis-shared conformance CLI. See `conform help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/redis-shared/conformance/tools/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	stop()
	os.Exit(code)
}
