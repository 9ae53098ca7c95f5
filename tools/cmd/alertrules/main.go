// Command alertrules writes the Prometheus rule file of the project's helm-values
// (what the chart renders into its PrometheusRule). See `alertrules -h`.
package main

import (
	"os"

	"github.com/redis-shared/conformance/tools/alerts"
)

func main() {
	os.Exit(alerts.Command(os.Args[1:], os.Stdout, os.Stderr))
}
