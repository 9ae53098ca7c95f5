package policy

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/dirhash"
	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/redis-shared/conformance/tools/chart"
	"github.com/redis-shared/conformance/tools/policy/manifest"
	"github.com/redis-shared/conformance/tools/project"
	"github.com/redis-shared/conformance/tools/render"
	"github.com/redis-shared/conformance/tools/values"
)

// ProjectSources is what `conform policy` judges: the project's values layering plus
// overlays, rendered now by the chart, and tofu.
type ProjectSources struct {
	Root     string
	Layering string
	// Overlays are layered after the project's files, like `helm -f`.
	Overlays []string
	// ChartDir renders another copy of the chart; empty means the pinned chart
	// (helm-values/chart.lock), assembled under bin/chart when missing.
	ChartDir string
	// Rendered judges these manifests instead of rendering (never together with
	// Overlays: the file would not reflect them).
	Rendered string
	TofuDir  string
	Plan     string
}

// LoadProjectInput merges the values with helm, coalesces them with the chart, renders
// the chart as release redis-shared in namespace redis, and reads tofu (and a plan).
// Every source is named in Input.Sources and the chart in Input.Chart.
func LoadProjectInput(ctx context.Context, src ProjectSources) (Input, error) {
	if src.Rendered != "" && len(src.Overlays) > 0 {
		return Input{}, &InputError{Err: fmt.Errorf("--rendered %s with --values: the given manifests do not reflect the overlays (leave --rendered out: the gate renders the chart itself)", src.Rendered)}
	}
	files, err := values.ProjectFiles(src.Root, src.Layering)
	if err != nil {
		return Input{}, &InputError{Err: err}
	}
	files = append(files, src.Overlays...)

	chartInfo, err := resolveChart(ctx, src)
	if err != nil {
		return Input{}, &InputError{Err: err}
	}
	user, err := values.MergeFiles(files...)
	if err != nil {
		return Input{}, &InputError{Err: err}
	}
	coalesced, err := values.CoalesceDir(chartInfo.Dir, user)
	if err != nil {
		return Input{}, &InputError{Err: err}
	}
	in := Input{Layering: src.Layering, Chart: &chartInfo}
	if in.Values, err = NormalizeValues(coalesced); err != nil {
		return Input{}, &InputError{Err: err}
	}
	in.Sources = append(in.Sources,
		"values: "+strings.Join(files, ", ")+" (merged by helm, coalesced with the chart's defaults)",
		"layering: "+src.Layering,
		"chart: "+chartInfo.String())

	if src.Rendered != "" {
		objs, err := LoadManifests(src.Rendered)
		if err != nil {
			return Input{}, &InputError{Err: err}
		}
		in.Manifests = objs
		in.Sources = append(in.Sources, fmt.Sprintf("manifests: %s (given, not rendered by this run; %d objects)", src.Rendered, len(objs)))
	} else {
		manifests, err := render.Manifests(ctx, chartInfo.Dir, user, render.Options{})
		if err != nil {
			return Input{}, &InputError{Err: err}
		}
		objs, err := manifest.Parse(render.Join(manifests))
		if err != nil {
			return Input{}, &InputError{Err: fmt.Errorf("rendered chart: %w", err)}
		}
		in.Manifests = objs
		in.Sources = append(in.Sources, fmt.Sprintf("manifests: rendered now from %s@%s as release %s in namespace %s (%d objects)",
			chartInfo.Name, chartInfo.Version, project.Release, project.Namespace, len(objs)))
	}
	if err := in.addTofu(src.TofuDir, src.Plan); err != nil {
		return Input{}, err
	}
	return in, nil
}

func resolveChart(ctx context.Context, src ProjectSources) (ChartInput, error) {
	if src.ChartDir == "" {
		p, err := chart.Ensure(ctx, src.Root)
		if err != nil {
			return ChartInput{}, err
		}
		return ChartInput{
			Name: p.Name, Version: p.Version, AppVersion: p.Lock.AppVersion,
			Module: p.Lock.Module + "@" + p.Lock.Version, Sum: p.Lock.Sum, DirSum: p.DirSum,
			Dir: p.Dir, Pinned: true,
		}, nil
	}
	c, err := loader.Load(src.ChartDir)
	if err != nil {
		return ChartInput{}, fmt.Errorf("load chart %s: %w", src.ChartDir, err)
	}
	info := ChartInput{Name: c.Metadata.Name, Version: c.Metadata.Version, AppVersion: c.Metadata.AppVersion, Dir: src.ChartDir}
	if abs, err := filepath.Abs(src.ChartDir); err == nil {
		info.Dir = abs
	}
	// A folder gets its content hash; a packaged chart has none worth reporting.
	if sum, err := dirhash.HashDir(src.ChartDir, "chart", dirhash.Hash1); err == nil {
		info.DirSum = sum
	}
	return info, nil
}

// ChartInput names the chart the gate rendered.
type ChartInput struct {
	Name       string `json:"name"`
	Version    string `json:"version"`
	AppVersion string `json:"appVersion,omitempty"`
	// Module is the Go module version the pinned chart came from, Sum its h1 sum.
	Module string `json:"module,omitempty"`
	Sum    string `json:"sum,omitempty"`
	// DirSum is the h1 hash of the chart folder that was rendered.
	DirSum string `json:"dirSum,omitempty"`
	Dir    string `json:"dir"`
	// Pinned is true for the chart of helm-values/chart.lock, false for a --chart copy.
	Pinned bool `json:"pinned"`
}

// String is name@version with where it came from.
func (c ChartInput) String() string {
	if c.Pinned {
		return fmt.Sprintf("%s@%s from %s %s", c.Name, c.Version, c.Module, c.Sum)
	}
	return fmt.Sprintf("%s@%s from %s (not the pinned chart; folder hash %s)", c.Name, c.Version, c.Dir, c.DirSum)
}
