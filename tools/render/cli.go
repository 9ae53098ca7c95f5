package render

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/redis-shared/conformance/tools/chart"
	"github.com/redis-shared/conformance/tools/exitcode"
	"github.com/redis-shared/conformance/tools/project"
	"github.com/redis-shared/conformance/tools/values"
)

// FixtureChart is the small chart render's own unit tests use, relative to the
// repository root. Nothing else renders it: commands render the pinned chart.
const FixtureChart = "fixtures/charts/redis-mini"

// Main is the `render` command: it renders a chart with the project's layered values
// (merged by helm). Without -chart it renders the pinned chart of
// helm-values/chart.lock, assembling it under bin/chart first when missing; -assemble
// only assembles and verifies it. Errors are one line on stderr.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("render", flag.ContinueOnError)
	flags.SetOutput(stderr)
	chartPath := flags.String("chart", "", "chart directory or .tgz (default: the pinned chart of "+chart.LockFile+")")
	assembleOnly := flags.Bool("assemble", false, "only fetch, verify and assemble the pinned chart; print its folder")
	root := flags.String("root", ".", "repository root holding helm-values/")
	layering := flags.String("layering", values.LayeringHomelab, "values layering on top of base.yaml: homelab or kind")
	extra := flags.String("values", "", "extra values files applied after the layering, separated by spaces or commas")
	output := flags.String("o", "-", "output file; - writes the manifests to stdout")
	releaseName := flags.String("release", project.Release, "release name")
	namespace := flags.String("namespace", project.Namespace, "release namespace")
	kubeVersion := flags.String("kube-version", "", "Kubernetes version the chart sees, e.g. v1.33.0 (default: helm's)")
	if code := exitcode.ParseFlags(flags, args, stderr); code != exitcode.Continue {
		return code // one line per usage error; -h prints the usage
	}

	chartToRender := *chartPath
	if chartToRender == "" || *assembleOnly {
		pinned, err := chart.Ensure(ctx, *root)
		if err != nil {
			fmt.Fprintf(stderr, "render: pinned chart: %s\n", oneLine(err))
			return exitcode.CouldNotRun
		}
		if *assembleOnly {
			fmt.Fprintf(stdout, "chart: %s@%s (%s@%s %s) assembled in %s\n", pinned.Name, pinned.Version, pinned.Lock.Module, pinned.Lock.Version, pinned.Lock.Sum, pinned.Dir)
			return exitcode.OK
		}
		chartToRender = pinned.Dir
	}
	if _, err := os.Stat(chartToRender); err != nil {
		fmt.Fprintf(stderr, "render: chart %s: %s\n", chartToRender, oneLine(err))
		return exitcode.CouldNotRun
	}

	extraFiles := splitList(*extra)
	files, err := values.ProjectFiles(*root, *layering)
	if err == nil {
		var vals values.Tree
		vals, err = values.MergeFiles(append(files, extraFiles...)...)
		if err == nil {
			return renderAndWrite(ctx, renderJob{chart: chartToRender, vals: vals, layering: *layering, extras: len(extraFiles), output: *output,
				opts: Options{ReleaseName: *releaseName, Namespace: *namespace, KubeVersion: *kubeVersion}}, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "render: values (layering %s, %d extra files): %s\n", *layering, len(extraFiles), oneLine(err))
	return exitcode.CouldNotRun
}

type renderJob struct {
	chart    string
	vals     values.Tree
	layering string
	extras   int
	output   string
	opts     Options
}

func renderAndWrite(ctx context.Context, job renderJob, stdout, stderr io.Writer) int {
	chartToRender, vals, layering, output := job.chart, job.vals, &job.layering, &job.output
	manifests, err := Manifests(ctx, chartToRender, vals, job.opts)
	if err != nil {
		fmt.Fprintf(stderr, "render: %s\n", oneLine(err))
		return exitcode.CouldNotRun
	}
	stream := Join(manifests)

	if *output == "-" || *output == "" {
		if _, err := stdout.Write(stream); err != nil {
			fmt.Fprintf(stderr, "render: write manifests: %s\n", oneLine(err))
			return exitcode.Failed
		}
		fmt.Fprintf(stderr, "render: %d objects from %s (layering %s, %d extra values files)\n", len(manifests), chartToRender, *layering, job.extras)
		return exitcode.OK
	}
	if err := writeFile(*output, stream); err != nil {
		fmt.Fprintf(stderr, "render: %s\n", oneLine(err))
		return exitcode.Failed
	}
	fmt.Fprintf(stdout, "render: wrote %d objects from %s (layering %s, %d extra values files) to %s\n", len(manifests), chartToRender, *layering, job.extras, *output)
	for _, m := range manifests {
		fmt.Fprintf(stdout, "  %s\n", m.ID())
	}
	return exitcode.OK
}

func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create folder for %s: %w", path, err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// splitList accepts `VALUES="a.yaml b.yaml"` from make as well as a comma list.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
}

// oneLine folds multi-line errors (helm's fail messages have blank lines) into one.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
