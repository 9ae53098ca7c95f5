package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/redis-shared/conformance/tools/policy/manifest"
	"github.com/redis-shared/conformance/tools/policy/tofu"
	"github.com/redis-shared/conformance/tools/safeio"
	"github.com/redis-shared/conformance/tools/values"
)

// Input is what one evaluation of the gate reads; see doc.go for the document shape.
// A nil section was not given.
type Input struct {
	Values    map[string]any
	Manifests []any
	Tofu      map[string]any
	Plan      map[string]any
	// Layering is the values layering ("homelab" or "kind"); rules read it where the
	// layerings legitimately differ (kind's StorageClass name).
	Layering string
	// Sources say where each section came from, for Run.Inputs.
	Sources []string
	// Chart is the chart the manifests were rendered from, when the gate rendered them.
	Chart *ChartInput
}

// Document is the OPA input document.
func (in Input) Document() map[string]any {
	doc := map[string]any{}
	if in.Values != nil {
		doc["values"] = in.Values
	}
	if in.Manifests != nil {
		doc["manifests"] = in.Manifests
	}
	if in.Tofu != nil {
		doc["tofu"] = in.Tofu
	}
	if in.Plan != nil {
		doc["plan"] = in.Plan
	}
	if in.Layering != "" {
		doc["layering"] = in.Layering
	}
	return doc
}

// has reports whether a section is present.
func (in Input) has(section string) bool {
	switch section {
	case "values":
		return in.Values != nil
	case "manifests":
		return in.Manifests != nil
	case "tofu":
		return in.Tofu != nil
	case "plan":
		return in.Plan != nil
	}
	return false
}

// describe names the given sections a rule reads, for its evidence when it names no
// objects itself.
func (in Input) describe(sections []string) string {
	parts := make([]string, 0, len(sections))
	for _, section := range sections {
		switch section {
		case "values":
			what := "the merged values"
			if in.Chart != nil {
				what += " (coalesced with " + in.Chart.Name + "@" + in.Chart.Version + ")"
			}
			parts = append(parts, what)
		case "manifests":
			parts = append(parts, fmt.Sprintf("%d rendered objects", len(in.Manifests)))
		case "tofu":
			parts = append(parts, fmt.Sprintf("the tofu module (%d resources)", tofuResources(in.Tofu)))
		case "plan":
			parts = append(parts, "the tofu plan")
		}
	}
	return strings.Join(parts, ", ")
}

func tofuResources(doc map[string]any) int {
	list, _ := doc["resources"].([]any)
	return len(list)
}

// Sources names the files of one gate input; empty fields are not given.
type Sources struct {
	// ValuesFiles are merged in order like `helm -f`.
	ValuesFiles []string
	Rendered    string
	TofuDir     string
	Plan        string
	Layering    string
}

// LoadInput reads and checks every given source. Any unreadable or malformed source
// is an *InputError naming it.
func LoadInput(src Sources) (Input, error) {
	in := Input{Layering: src.Layering}
	if len(src.ValuesFiles) > 0 {
		tree, err := values.LoadFiles(src.ValuesFiles...)
		if err != nil {
			return Input{}, &InputError{Err: err}
		}
		if in.Values, err = NormalizeValues(tree); err != nil {
			return Input{}, &InputError{Err: fmt.Errorf("%w (%s)", err, strings.Join(src.ValuesFiles, ", "))}
		}
		in.Sources = append(in.Sources, "values: "+strings.Join(src.ValuesFiles, ", "))
		if src.Layering != "" {
			in.Sources = append(in.Sources, "layering: "+src.Layering)
		}
	}
	if src.Rendered != "" {
		objs, err := LoadManifests(src.Rendered)
		if err != nil {
			return Input{}, &InputError{Err: err}
		}
		in.Manifests = objs
		in.Sources = append(in.Sources, "manifests: "+src.Rendered)
	}
	if err := in.addTofu(src.TofuDir, src.Plan); err != nil {
		return Input{}, err
	}
	return in, nil
}

// NormalizeValues turns a merged values tree into plain JSON types.
func NormalizeValues(values map[string]any) (map[string]any, error) {
	raw, err := json.Marshal(values)
	if err != nil {
		return nil, fmt.Errorf("encode values: %w", err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("decode values: %w", err)
	}
	if len(out) == 0 {
		return nil, errors.New("values: the merged document is empty")
	}
	return out, nil
}

// LoadManifests reads a multi-document YAML file of Kubernetes objects (see
// manifest.Parse).
func LoadManifests(path string) ([]any, error) {
	raw, err := safeio.ReadInput(path, safeio.ManifestsLimit)
	if err != nil {
		return nil, fmt.Errorf("read manifests: %w", err)
	}
	objs, err := manifest.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("manifests %s: %w", path, err)
	}
	return objs, nil
}

// LoadPlan reads the JSON of `tofu show -json PLANFILE`.
func LoadPlan(path string) (map[string]any, error) {
	raw, err := safeio.ReadInput(path, safeio.PlanLimit)
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	plan, err := ParsePlan(raw)
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", path, err)
	}
	return plan, nil
}

// ParsePlan checks that raw is a plan document: a JSON object with format_version and
// planned_values.
func ParsePlan(raw []byte) (map[string]any, error) {
	var plan map[string]any
	if err := json.Unmarshal(raw, &plan); err != nil {
		return nil, fmt.Errorf("parse JSON: %w", err)
	}
	if _, ok := plan["format_version"].(string); !ok {
		return nil, errors.New("no format_version: not the output of `tofu show -json`")
	}
	if _, ok := plan["planned_values"].(map[string]any); !ok {
		return nil, errors.New("no planned_values: not a plan (a state has values instead)")
	}
	return plan, nil
}

// GoodFixture is the hand-written input every rule passes on: fixtures/policy/good
// under the project root (values.yaml, rendered.yaml, tofu/).
func GoodFixture(root string) (Input, error) {
	dir := filepath.Join(root, "fixtures", "policy", "good")
	return LoadInput(Sources{
		ValuesFiles: []string{filepath.Join(dir, "values.yaml")},
		Rendered:    filepath.Join(dir, "rendered.yaml"),
		TofuDir:     filepath.Join(dir, "tofu"),
		Layering:    "homelab",
	})
}

// addTofu reads the tofu module in dir and the plan file into in (either may be "").
func (in *Input) addTofu(dir, planFile string) error {
	if dir != "" {
		doc, err := tofu.ParseDir(dir)
		if err != nil {
			return &InputError{Err: err}
		}
		in.Tofu = doc
		in.Sources = append(in.Sources, "tofu: "+dir)
	}
	if planFile != "" {
		plan, err := LoadPlan(planFile)
		if err != nil {
			return &InputError{Err: err}
		}
		in.Plan = plan
		in.Sources = append(in.Sources, "plan: "+planFile)
	}
	return nil
}
