// Package values layers Helm values files the way `helm -f a.yaml -f b.yaml` does and
// reads fields out of the result. Every consumer (policy gate, renderer, sandbox) starts
// from the same merged tree, so a broken value breaks all of them alike.
package values

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

// Layerings the project ships: helm-values/base.yaml plus one overlay.
const (
	LayeringHomelab = "homelab"
	LayeringKind    = "kind"
)

// ErrNotFound is returned by Lookup when a path does not exist.
var ErrNotFound = errors.New("value not found")

// Tree is a merged values document.
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

// LoadLayered reads the project's layering from root and then each extra file on top.
func LoadLayered(root, layering string, extra ...string) (Tree, error) {
	files, err := ProjectFiles(root, layering)
	if err != nil {
		return nil, err
	}
	return LoadFiles(append(files, extra...)...)
}

// LoadFiles merges the files in order; later files win.
func LoadFiles(files ...string) (Tree, error) {
	merged := Tree{}
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("read values file: %w", err)
		}
		layer, err := Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("values file %s: %w", file, err)
		}
		merged = Merge(merged, layer)
	}
	return merged, nil
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

// Merge returns base with overlay applied like Helm: maps merge key by key, any other
// value (lists included) replaces, and an explicit null deletes the key.
func Merge(base, overlay Tree) Tree {
	out := make(Tree, len(base))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range overlay {
		if v == nil {
			delete(out, k)
			continue
		}
		overlayMap, overlayIsMap := v.(map[string]any)
		baseMap, baseIsMap := out[k].(map[string]any)
		if overlayIsMap && baseIsMap {
			out[k] = map[string]any(Merge(baseMap, overlayMap))
			continue
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
