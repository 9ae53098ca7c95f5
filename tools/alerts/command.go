package alerts

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/redis-shared/conformance/tools/exitcode"
	"github.com/redis-shared/conformance/tools/project"
	"github.com/redis-shared/conformance/tools/values"
)

// MetricNamesFixture is the metric-name list used when no exporter can be run.
const MetricNamesFixture = "fixtures/exporter/metric-names.txt"

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

// Command is `alertrules [-layering homelab] [-values extra.yaml]... [-o rules.yml]`:
// it writes the Prometheus rule file of the project's helm-values. Exit 0 on success,
// 2 on bad flags or values.
func Command(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("alertrules", flag.ContinueOnError)
	fs.SetOutput(stderr)
	layering := fs.String("layering", values.LayeringHomelab, "helm-values layering: homelab or kind")
	root := fs.String("root", "", "project root (default: found from the working directory)")
	outPath := fs.String("o", "-", "output file, - for stdout")
	var extra stringList
	fs.Var(&extra, "values", "extra values file layered on top (repeatable)")
	if code := exitcode.ParseFlags(fs, args, stderr); code != exitcode.Continue {
		return code
	}
	if *root == "" {
		found, err := project.Root()
		if err != nil {
			fmt.Fprintf(stderr, "alertrules: %v\n", err)
			return exitcode.CouldNotRun
		}
		*root = found
	}
	if err := writeTo(*outPath, func(w io.Writer) error {
		return WriteRuleFile(*root, *layering, extra, w)
	}, stdout); err != nil {
		fmt.Fprintf(stderr, "alertrules: %v\n", err)
		return exitcode.CouldNotRun
	}
	return exitcode.OK
}

// writeTo renders into memory first so a failed render leaves no half-written file.
func writeTo(path string, render func(io.Writer) error, stdout io.Writer) error {
	var buf strings.Builder
	if err := render(&buf); err != nil {
		return err
	}
	if path == "-" {
		_, err := io.WriteString(stdout, buf.String())
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create folder for %s: %w", path, err)
	}
	if err := os.WriteFile(path, []byte(buf.String()), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// ExporterMetricsCommand is `exportermetrics [-o file] [-timeout 30s]`: it scrapes a
// real redis_exporter against real redis-servers and writes the metric-name list the
// metric-name test falls back to (default fixtures/exporter/metric-names.txt).
func ExporterMetricsCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("exportermetrics", flag.ContinueOnError)
	fs.SetOutput(stderr)
	outPath := fs.String("o", "", "output file, - for stdout (default: the fixture in the project)")
	timeout := fs.Duration("timeout", 30*time.Second, "deadline for starting, waiting and scraping")
	if code := exitcode.ParseFlags(fs, args, stderr); code != exitcode.Continue {
		return code // one line per usage error
	}
	root, err := project.Root()
	if err != nil {
		fmt.Fprintf(stderr, "exportermetrics: %v\n", err)
		return exitcode.CouldNotRun
	}
	if *outPath == "" {
		*outPath = filepath.Join(root, MetricNamesFixture)
	}
	// Redis runs with the homelab's configuration, as the chart would start it.
	redisConfig, err := homelabRedisConfig(root)
	if err != nil {
		fmt.Fprintf(stderr, "exportermetrics: %v\n", err)
		return exitcode.CouldNotRun
	}
	bin, err := FindExporterBinaries()
	if err != nil {
		fmt.Fprintf(stderr, "exportermetrics: %v (Debian packages redis-server and prometheus-redis-exporter)\n", err)
		return exitcode.CouldNotRun
	}
	workDir, err := os.MkdirTemp("", "exportermetrics-")
	if err != nil {
		fmt.Fprintf(stderr, "exportermetrics: %v\n", err)
		return exitcode.CouldNotRun
	}
	defer os.RemoveAll(workDir)
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	scrape, err := ScrapeExporters(ctx, bin, workDir, redisConfig)
	if err != nil {
		fmt.Fprintf(stderr, "exportermetrics: %v\n", err)
		return exitcode.CouldNotRun
	}
	if err := writeTo(*outPath, func(w io.Writer) error { return WriteMetricNames(w, scrape) }, stdout); err != nil {
		fmt.Fprintf(stderr, "exportermetrics: %v\n", err)
		return exitcode.CouldNotRun
	}
	fmt.Fprintf(stderr, "exportermetrics: %d names from redis_exporter %s, redis-server %s\n", len(scrape.Names), scrape.ExporterVersion, scrape.RedisVersion)
	return exitcode.OK
}

// homelabRedisConfig is the master's effective redis.conf directives of the homelab
// layering.
func homelabRedisConfig(root string) (map[string]string, error) {
	tree, err := values.LoadLayered(root, values.LayeringHomelab)
	if err != nil {
		return nil, err
	}
	return tree.EffectiveRedisConfig("master")
}
