// Command beersystem is a small stand-in for the beersystem app (user story 4): an
// HTTP server that keeps login sessions and a cache of beer lookups in Redis, reading
// its Redis settings from the env vars the real Deployment sets. The sandbox runs it
// to rehearse the cutover against real processes. See `beersystem -h`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
