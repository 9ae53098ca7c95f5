package kubeenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
)

// fieldManager owns what kubeenv applies.
const fieldManager = "kubeenv"

// ParseObjects reads a multi-document YAML (or JSON) stream into objects, skipping
// empty documents.
func ParseObjects(stream []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(stream), 4096)
	var objs []*unstructured.Unstructured
	for i := 0; ; i++ {
		var raw map[string]any
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		if len(raw) == 0 {
			continue
		}
		obj := &unstructured.Unstructured{Object: raw}
		if obj.GetKind() == "" || obj.GetAPIVersion() == "" {
			return nil, fmt.Errorf("document %d: no kind or apiVersion", i+1)
		}
		objs = append(objs, obj)
	}
}

// ApplyFiles applies every object of the files (see Apply).
func (e *Env) ApplyFiles(ctx context.Context, files ...string) error {
	var stream bytes.Buffer
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("apply: %w", err)
		}
		stream.WriteString("\n---\n")
		stream.Write(raw)
	}
	objs, err := ParseObjects(stream.Bytes())
	if err != nil {
		return fmt.Errorf("apply %v: %w", files, err)
	}
	return e.Apply(ctx, objs)
}

// Apply creates the objects, or server-side applies them when they exist.
// Namespaces and CRDs go first; the rest waits until the CRDs are served.
func (e *Env) Apply(ctx context.Context, objs []*unstructured.Unstructured) error {
	dyn, err := dynamic.NewForConfig(e.Config)
	if err != nil {
		return fmt.Errorf("dynamic client: %w", err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(e.Config)
	if err != nil {
		return fmt.Errorf("discovery client: %w", err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	var first, rest []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == "Namespace" || o.GetKind() == "CustomResourceDefinition" {
			first = append(first, o)
		} else {
			rest = append(rest, o)
		}
	}
	for _, batch := range [][]*unstructured.Unstructured{first, rest} {
		for _, o := range batch {
			mapping, err := e.mapping(ctx, mapper, o.GroupVersionKind())
			if err != nil {
				return err
			}
			if err := createOrApply(ctx, dyn, mapping, o); err != nil {
				return err
			}
		}
	}
	// Controllers started next (MetalLB) fail on kinds not served yet.
	for _, o := range first {
		if o.GetKind() != "CustomResourceDefinition" {
			continue
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &crd); err != nil {
			return fmt.Errorf("decode CustomResourceDefinition %s: %w", o.GetName(), err)
		}
		for _, v := range crd.Spec.Versions {
			gvk := schema.GroupVersionKind{Group: crd.Spec.Group, Version: v.Name, Kind: crd.Spec.Names.Kind}
			if _, err := e.mapping(ctx, mapper, gvk); err != nil {
				return err
			}
		}
	}
	return nil
}

// mapping resolves a kind, waiting (bounded) for a CRD applied just before to be served.
func (e *Env) mapping(ctx context.Context, mapper *restmapper.DeferredDiscoveryRESTMapper, gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	var mapping *meta.RESTMapping
	err := e.poll(ctx, "API of "+gvk.String(), func(context.Context) (bool, error) {
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			mapper.Reset()
			return false, nil
		}
		mapping = m
		return true, nil
	})
	return mapping, err
}

func createOrApply(ctx context.Context, dyn dynamic.Interface, mapping *meta.RESTMapping, obj *unstructured.Unstructured) error {
	var res dynamic.ResourceInterface = dyn.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		ns := obj.GetNamespace()
		if ns == "" {
			ns = metav1.NamespaceDefault
		}
		res = dyn.Resource(mapping.Resource).Namespace(ns)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	what := obj.GetKind() + " " + obj.GetNamespace() + "/" + obj.GetName()
	// Create keeps a Node's status (capacity) as written; apply is for re-applying.
	_, err := res.Create(ctx, obj, metav1.CreateOptions{FieldManager: fieldManager})
	if err == nil {
		return nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create %s: %w", what, err)
	}
	body, err := obj.MarshalJSON()
	if err != nil {
		return fmt.Errorf("encode %s: %w", what, err)
	}
	force := true
	if _, err := res.Patch(ctx, obj.GetName(), types.ApplyPatchType, body, metav1.PatchOptions{FieldManager: fieldManager, Force: &force}); err != nil {
		return fmt.Errorf("apply %s: %w", what, err)
	}
	return nil
}
