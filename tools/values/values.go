// Package values layers Helm values files and coalesces them with the pinned chart's
// defaults with Helm's own code, and reads fields out of the result. Every consumer
// (policy gate, renderer, sandbox, alert rules) starts from the same coalesced tree
// (what the chart's templates see as .Values), so a broken value breaks all of them
// alike.
//
// Two steps, as in `helm template -f a.yaml -f b.yaml`:
//   - MergeFiles: helm's pkg/cli/values.Options{ValueFiles}.MergeValues. Maps merge key
//     by key, anything else (lists included) replaces, and an explicit null is kept.
//   - Coalesce: helm's chartutil.ProcessDependenciesWithMerge + ToRenderValues against
//     the chart. Here a null removes the key together with the chart's default, the
//     chart's defaults fill every key left out, and values.schema.json is enforced.
package values

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	helmchart "helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	helmvalues "helm.sh/helm/v3/pkg/cli/values"
	"helm.sh/helm/v3/pkg/getter"
	"sigs.k8s.io/yaml"

	"github.com/redis-shared/conformance/tools/chart"
	"github.com/redis-shared/conformance/tools/project"
	"github.com/redis-shared/conformance/tools/safeio"
)

// Layerings the project ships: helm-values/base.yaml plus one overlay.
const (
	LayeringHomelab = "homelab"
	LayeringKind    = "kind"
)

// ErrNotFound is returned by Lookup when a path does not exist.
var ErrNotFound = errors.New("value not found")

// Tree is a values document.
type Tree map[string]any

// ProjectFiles returns the project's own files for a layering, in merge order.
func ProjectFiles(root, layering string) ([]string, error) {
	switch layering {
	case LayeringHomelab, LayeringKind:
	default:
		return nil, fmt.Errorf("unknown values layering %q (want %q or %q)", layering, LayeringHomelab, LayeringKind)
	}
	dir := filepath.Join(root, "helm-values")
	return []string{filepath.Join(dir, "base.yaml"), filepath.Join(dir, layering+".yaml")}, nil
}

// Project is one layering of the project's values against the pinned chart.
type Project struct {
	// Files are the values files in merge order (project files, then extras).
	Files []string
	// User is the merge of Files as `helm -f` hands it to the chart (nulls kept).
	User Tree
	// Values is User coalesced with the chart's defaults: the templates' .Values.
	Values Tree
	// Chart is the pinned chart Values was coalesced against.
	Chart chart.Pinned
}

// LoadProject merges the project's layering plus extra files with Helm and coalesces
// them with the pinned chart (assembled under bin/chart when missing).
func LoadProject(ctx context.Context, root, layering string, extra ...string) (Project, error) {
	files, err := ProjectFiles(root, layering)
	if err != nil {
		return Project{}, err
	}
	return LoadProjectFiles(ctx, root, append(files, extra...)...)
}

// LoadProjectFiles is LoadProject with an explicit file list.
func LoadProjectFiles(ctx context.Context, root string, files ...string) (Project, error) {
	pinned, err := chart.Ensure(ctx, root)
	if err != nil {
		return Project{}, err
	}
	user, err := MergeFiles(files...)
	if err != nil {
		return Project{}, err
	}
	coalesced, err := CoalesceDir(pinned.Dir, user)
	if err != nil {
		return Project{}, err
	}
	return Project{Files: files, User: user, Values: coalesced, Chart: pinned}, nil
}

// LoadLayered returns the coalesced values (chart defaults included) of the project's
// layering from root with each extra file on top.
func LoadLayered(root, layering string, extra ...string) (Tree, error) {
	p, err := LoadProject(context.Background(), root, layering, extra...)
	if err != nil {
		return nil, err
	}
	return p.Values, nil
}

// LoadCoalesced merges files (project files first) and coalesces them with the
// project's pinned chart.
func LoadCoalesced(ctx context.Context, root string, files ...string) (Tree, error) {
	p, err := LoadProjectFiles(ctx, root, files...)
	if err != nil {
		return nil, err
	}
	return p.Values, nil
}

// LoadFiles merges the files in order like `helm -f` (see MergeFiles); not coalesced.
func LoadFiles(files ...string) (Tree, error) {
	return MergeFiles(files...)
}

// MergeFiles merges values files in order with helm's own code. Only regular files are
// read: "-" (helm's stdin), URLs, FIFOs and devices are refused.
func MergeFiles(files ...string) (Tree, error) {
	for _, file := range files {
		info, err := os.Stat(file)
		if err != nil {
			return nil, fmt.Errorf("read values file: %w", err)
		}
		if !info.Mode().IsRegular() {
			return nil, fmt.Errorf("values file %s: not a regular file", file)
		}
		// Parsed here first for an error that says what is wrong; helm's says less.
		raw, err := safeio.ReadInput(file, safeio.ValuesLimit)
		if err != nil {
			return nil, fmt.Errorf("read values file: %w", err)
		}
		if _, err := Parse(raw); err != nil {
			return nil, fmt.Errorf("values file %s: %w", file, err)
		}
	}
	opts := helmvalues.Options{ValueFiles: files}
	merged, err := opts.MergeValues(getter.Providers{})
	if err != nil {
		return nil, fmt.Errorf("values files: %s", strings.Join(strings.Fields(err.Error()), " "))
	}
	return Tree(merged), nil
}

// CoalesceDir loads the chart at dir and coalesces user with it (see Coalesce).
func CoalesceDir(dir string, user Tree) (Tree, error) {
	c, err := loader.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("load chart %s: %w", dir, err)
	}
	return Coalesce(c, user)
}

// Coalesce is what `helm template` does with the user's values before rendering:
// dependencies enabled or not by their conditions and tags, then the chart's and its
// dependencies' defaults coalesced in (explicit nulls delete), then the schema. It
// returns the templates' .Values. c is changed (dependencies pruned): pass a chart
// loaded for this call.
func Coalesce(c *helmchart.Chart, user Tree) (Tree, error) {
	vals, err := deepCopy(user)
	if err != nil {
		return nil, err
	}
	if err := chartutil.ProcessDependenciesWithMerge(c, chartutil.Values(vals)); err != nil {
		return nil, fmt.Errorf("chart %s dependencies: %w", c.Name(), err)
	}
	top, err := chartutil.ToRenderValues(c, vals, chartutil.ReleaseOptions{Name: project.Release, Namespace: project.Namespace, IsInstall: true}, chartutil.DefaultCapabilities)
	if err != nil {
		return nil, fmt.Errorf("chart %s values: %s", c.Name(), strings.Join(strings.Fields(err.Error()), " "))
	}
	rendered, ok := top["Values"].(chartutil.Values)
	if !ok {
		return nil, fmt.Errorf("chart %s: coalesced values are %T", c.Name(), top["Values"])
	}
	return deepCopy(Tree(rendered))
}

// deepCopy returns a JSON-typed copy (numbers float64), so callers never share maps
// with helm, which changes the maps it is given.
func deepCopy(t Tree) (Tree, error) {
	if t == nil {
		return Tree{}, nil
	}
	raw, err := json.Marshal(map[string]any(t))
	if err != nil {
		return nil, fmt.Errorf("copy values: %w", err)
	}
	out := Tree{}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("copy values: %w", err)
	}
	return out, nil
}

// Parse reads one YAML values document. An empty document is an empty tree; a
// document whose top level is not a mapping is an error.
func Parse(raw []byte) (Tree, error) {
	if strings.TrimSpace(string(raw)) == "" {
		return Tree{}, nil
	}
	var doc any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("parse YAML: %w", err)
	}
	switch top := doc.(type) {
	case nil:
		return Tree{}, nil
	case map[string]any:
		return Tree(top), nil
	default:
		return nil, fmt.Errorf("top level is %T, want a mapping", doc)
	}
}

// Merge layers overlay on base in memory exactly as helm's MergeValues layers two -f
// files (pkg/cli/values mergeMaps, unexported there): maps merge key by key, any other
// value (lists included) replaces, and an explicit null is kept; Coalesce removes it.
// TestMergeEqualsHelmMergeValues holds the two together.
func Merge(base, overlay Tree) Tree {
	out := make(Tree, len(base))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range overlay {
		if overlayMap, ok := v.(map[string]any); ok {
			if baseMap, ok := out[k].(map[string]any); ok {
				out[k] = map[string]any(Merge(baseMap, overlayMap))
				continue
			}
		}
		out[k] = v
	}
	return out
}

// Lookup returns the value at a dotted path such as "replica.replicaCount".
func (t Tree) Lookup(path string) (any, error) {
	var cur any = map[string]any(t)
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: %w", path, ErrNotFound)
		}
		cur, ok = m[part]
		if !ok {
			return nil, fmt.Errorf("%s: %w", path, ErrNotFound)
		}
	}
	return cur, nil
}

// String returns the string at path; a missing path yields def.
func (t Tree) String(path, def string) (string, error) {
	v, err := t.Lookup(path)
	if errors.Is(err, ErrNotFound) {
		return def, nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s: is %T, want a string", path, v)
	}
	return s, nil
}

// Bool returns the bool at path; a missing path yields def.
func (t Tree) Bool(path string, def bool) (bool, error) {
	v, err := t.Lookup(path)
	if errors.Is(err, ErrNotFound) {
		return def, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("%s: is %T, want true or false", path, v)
	}
	return b, nil
}

// Int returns the integer at path; a missing path yields def.
func (t Tree) Int(path string, def int) (int, error) {
	v, err := t.Lookup(path)
	if errors.Is(err, ErrNotFound) {
		return def, nil
	}
	switch n := v.(type) {
	case float64:
		if n != float64(int(n)) {
			return 0, fmt.Errorf("%s: %v is not a whole number", path, n)
		}
		return int(n), nil
	case int:
		return n, nil
	case int64:
		return int(n), nil
	default:
		return 0, fmt.Errorf("%s: is %T, want a number", path, v)
	}
}

// Strings returns the list of strings at path; a missing path yields nil.
func (t Tree) Strings(path string) ([]string, error) {
	v, err := t.Lookup(path)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s: is %T, want a list", path, v)
	}
	out := make([]string, 0, len(list))
	for i, item := range list {
		s, ok := item.(string)
		if !ok {
			return nil, fmt.Errorf("%s[%d]: is %T, want a string", path, i, item)
		}
		out = append(out, s)
	}
	return out, nil
}

// RedisConfig parses redis.conf-style text (the chart's commonConfiguration and
// master/replica.configuration) into directive -> arguments; later lines win.
func RedisConfig(text string) map[string]string {
	directives := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, args, _ := strings.Cut(line, " ")
		directives[strings.ToLower(name)] = strings.Trim(strings.TrimSpace(args), `"`)
	}
	return directives
}

// EffectiveRedisConfig is what the chart hands a role's redis-server: the common
// configuration, then the role's own lines (role is "master" or "replica").
func (t Tree) EffectiveRedisConfig(role string) (map[string]string, error) {
	common, err := t.String("commonConfiguration", "")
	if err != nil {
		return nil, err
	}
	own, err := t.String(role+".configuration", "")
	if err != nil {
		return nil, err
	}
	merged := RedisConfig(common)
	for k, v := range RedisConfig(own) {
		merged[k] = v
	}
	return merged, nil
}
