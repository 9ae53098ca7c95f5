// Command render writes the manifests a chart renders with the project's layered
// values (see package render). `make render` runs it.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/redis-shared/conformance/tools/render"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := render.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
