// Command exportermetrics scrapes a real redis_exporter (against real redis-servers on
// loopback) and writes the metric-name list kept in fixtures/exporter/.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/redis-shared/conformance/tools/alerts"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := alerts.ExporterMetricsCommand(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
