// Package manifest reads rendered Kubernetes manifests (a multi-document YAML stream)
// for the policy gate. It is its own small package so its fuzz target builds quickly.
package manifest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Parse splits a multi-document YAML stream into objects. Every document must
// be a Kubernetes object with apiVersion, kind and metadata.name (a List is expanded);
// a stream without any object is an error, so an empty rendering never passes.
func Parse(raw []byte) ([]any, error) {
	reader := k8syaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
	var objs []any
	for i := 1; ; i++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		var obj any
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if obj == nil {
			continue
		}
		m, ok := obj.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("document %d: is %T, want a Kubernetes object", i, obj)
		}
		if m["kind"] == "List" {
			items, _ := m["items"].([]any)
			for j, item := range items {
				if err := checkObject(item); err != nil {
					return nil, fmt.Errorf("document %d item %d: %w", i, j, err)
				}
				objs = append(objs, item)
			}
			continue
		}
		if err := checkObject(m); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		objs = append(objs, m)
	}
	if len(objs) == 0 {
		return nil, errors.New("no Kubernetes objects")
	}
	return objs, nil
}

func checkObject(obj any) error {
	m, ok := obj.(map[string]any)
	if !ok {
		return fmt.Errorf("is %T, want a Kubernetes object", obj)
	}
	for _, key := range []string{"apiVersion", "kind"} {
		if s, ok := m[key].(string); !ok || s == "" {
			return fmt.Errorf("missing %s", key)
		}
	}
	meta, ok := m["metadata"].(map[string]any)
	if !ok {
		return fmt.Errorf("%s without metadata", m["kind"])
	}
	if s, ok := meta["name"].(string); !ok || s == "" {
		return fmt.Errorf("%s without metadata.name", m["kind"])
	}
	return nil
}
