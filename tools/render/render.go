// Package render turns a Helm chart plus merged values into the manifests Helm would
// apply, with the helm SDK (not the helm CLI), client-side only: no cluster is
// contacted. The policy gate and the live targets read its output, so rendering is
// deterministic: objects are sorted by install order, then namespace and name.
package render

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/releaseutil"
	"sigs.k8s.io/yaml"

	"github.com/redis-shared/conformance/tools/project"
	"github.com/redis-shared/conformance/tools/values"
)

// ErrNoObjects is returned when a chart renders no Kubernetes object at all.
var ErrNoObjects = errors.New("chart rendered no objects")

// Options says how to render. Zero values take the deployment's defaults.
type Options struct {
	ReleaseName string
	Namespace   string
	// KubeVersion such as "v1.33.0"; empty keeps helm's client default.
	KubeVersion string
	// APIVersions the fake cluster advertises besides the built-in ones, for charts
	// that gate objects on .Capabilities.APIVersions. Nil means DefaultAPIVersions().
	APIVersions []string
}

// DefaultAPIVersions are the extra APIs the homelab serves (kube-prometheus-stack).
func DefaultAPIVersions() []string {
	return []string{"monitoring.coreos.com/v1", "monitoring.coreos.com/v1/ServiceMonitor", "monitoring.coreos.com/v1/PrometheusRule"}
}

// Manifest is one rendered object.
type Manifest struct {
	// Source is the chart template that produced it, e.g. "redis/templates/master/service.yaml".
	Source     string
	APIVersion string
	Kind       string
	Namespace  string
	Name       string
	// Body is the YAML document as rendered, without the "# Source:" line.
	Body string
	// Object is Body decoded (JSON types: numbers are float64).
	Object map[string]any
}

// ID names the object like kubectl does: Kind/namespace/name.
func (m Manifest) ID() string {
	if m.Namespace == "" {
		return m.Kind + "/" + m.Name
	}
	return m.Kind + "/" + m.Namespace + "/" + m.Name
}

// Chart renders chartPath (a chart directory or a packaged .tgz) with vals into one
// multi-document YAML stream. NOTES.txt is rendered (a failing NOTES fails like helm
// install does) but not included; test hooks are left out.
func Chart(ctx context.Context, chartPath string, vals values.Tree, opts Options) ([]byte, error) {
	manifests, err := Manifests(ctx, chartPath, vals, opts)
	if err != nil {
		return nil, err
	}
	return Join(manifests), nil
}

// Join writes manifests as one YAML stream, each with its "# Source:" comment.
func Join(manifests []Manifest) []byte {
	var out bytes.Buffer
	for _, m := range manifests {
		out.WriteString("---\n")
		if m.Source != "" {
			fmt.Fprintf(&out, "# Source: %s\n", m.Source)
		}
		out.WriteString(m.Body)
		out.WriteString("\n")
	}
	return out.Bytes()
}

// Manifests renders like Chart and returns the objects, sorted.
func Manifests(ctx context.Context, chartPath string, vals values.Tree, opts Options) ([]Manifest, error) {
	opts = opts.withDefaults()
	chrt, err := loader.Load(chartPath)
	if err != nil {
		return nil, fmt.Errorf("load chart %s: %w", chartPath, err)
	}
	if deps := chrt.Metadata.Dependencies; len(deps) > 0 {
		if err := action.CheckDependencies(chrt, deps); err != nil {
			return nil, fmt.Errorf("chart %s: %w (copy the dependencies into its charts/ folder)", chartPath, err)
		}
	}
	// The SDK merges dependency values into the map it gets: hand it a copy.
	valsCopy, err := deepCopy(vals)
	if err != nil {
		return nil, fmt.Errorf("copy values: %w", err)
	}

	install, err := newClientOnlyInstall(opts)
	if err != nil {
		return nil, err
	}
	rel, err := install.RunWithContext(ctx, chrt, valsCopy)
	if err != nil {
		return nil, fmt.Errorf("render chart %s as release %s in namespace %s: %w", chartPath, opts.ReleaseName, opts.Namespace, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("render chart %s: %w", chartPath, err)
	}

	docs := splitDocuments(rel.Manifest)
	for _, hook := range rel.Hooks {
		if isTestHook(hook) {
			continue
		}
		docs = append(docs, sourcedDocument{source: hook.Path, body: hook.Manifest})
	}
	manifests := make([]Manifest, 0, len(docs))
	for _, doc := range docs {
		m, ok, err := parseManifest(doc)
		if err != nil {
			return nil, err
		}
		if ok {
			manifests = append(manifests, m)
		}
	}
	if len(manifests) == 0 {
		return nil, fmt.Errorf("chart %s: %w", chartPath, ErrNoObjects)
	}
	Sort(manifests)
	return manifests, nil
}

func (o Options) withDefaults() Options {
	if o.ReleaseName == "" {
		o.ReleaseName = project.Release
	}
	if o.Namespace == "" {
		o.Namespace = project.Namespace
	}
	if o.APIVersions == nil {
		o.APIVersions = DefaultAPIVersions()
	}
	return o
}

// newClientOnlyInstall is `helm install --dry-run` without a cluster, the same path
// `helm template` takes, so schema validation and NOTES failures behave alike.
func newClientOnlyInstall(opts Options) (*action.Install, error) {
	cfg := &action.Configuration{
		Log: func(string, ...any) {},
	}
	install := action.NewInstall(cfg)
	install.DryRun = true
	install.DryRunOption = "client"
	install.ClientOnly = true
	install.Replace = true
	install.ReleaseName = opts.ReleaseName
	install.Namespace = opts.Namespace
	install.APIVersions = chartutil.VersionSet(opts.APIVersions)
	if opts.KubeVersion != "" {
		kubeVersion, err := chartutil.ParseKubeVersion(opts.KubeVersion)
		if err != nil {
			return nil, fmt.Errorf("kube version %q: %w", opts.KubeVersion, err)
		}
		install.KubeVersion = kubeVersion
	}
	return install, nil
}

func isTestHook(hook *release.Hook) bool {
	return slices.Contains(hook.Events, release.HookTest)
}

type sourcedDocument struct {
	source string
	body   string
}

// splitDocuments cuts helm's manifest stream into documents and peels off the
// "# Source:" line each one starts with.
func splitDocuments(stream string) []sourcedDocument {
	var docs []sourcedDocument
	for _, doc := range releaseutil.SplitManifests(stream) {
		source := ""
		body := strings.TrimSpace(doc)
		// Helm writes one "# Source:" line; a stream with several (found by fuzzing)
		// keeps the last, so no body starts with one.
		for {
			first, rest, found := strings.Cut(body, "\n")
			if !strings.HasPrefix(first, "# Source: ") {
				break
			}
			source = strings.TrimPrefix(first, "# Source: ")
			body = ""
			if found {
				body = strings.TrimSpace(rest)
			}
		}
		docs = append(docs, sourcedDocument{source: source, body: body})
	}
	return docs
}

// parseManifest decodes one document; ok is false for an empty one (a template whose
// condition was false, like an extraDeploy entry behind an if).
func parseManifest(doc sourcedDocument) (Manifest, bool, error) {
	var obj map[string]any
	if err := yaml.Unmarshal([]byte(doc.body), &obj); err != nil {
		return Manifest{}, false, fmt.Errorf("rendered document from %s is not valid YAML: %w", doc.source, err)
	}
	if len(obj) == 0 {
		return Manifest{}, false, nil
	}
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	namespace, _ := meta["namespace"].(string)
	if apiVersion == "" || kind == "" || name == "" {
		return Manifest{}, false, fmt.Errorf("rendered document from %s lacks apiVersion, kind or metadata.name", doc.source)
	}
	return Manifest{
		Source:     doc.source,
		APIVersion: apiVersion,
		Kind:       kind,
		Namespace:  namespace,
		Name:       name,
		Body:       doc.body,
		Object:     obj,
	}, true, nil
}

// Sort orders manifests as helm installs them (by kind), then by namespace, name and
// source, so the same input always gives the same bytes.
func Sort(manifests []Manifest) {
	rank := func(kind string) int {
		if i := slices.Index(releaseutil.InstallOrder, kind); i >= 0 {
			return i
		}
		return len(releaseutil.InstallOrder) // unknown kinds (CRs) last, like helm
	}
	slices.SortStableFunc(manifests, func(a, b Manifest) int {
		if d := rank(a.Kind) - rank(b.Kind); d != 0 {
			return d
		}
		for _, pair := range [][2]string{{a.Kind, b.Kind}, {a.Namespace, b.Namespace}, {a.Name, b.Name}, {a.Source, b.Source}} {
			if c := strings.Compare(pair[0], pair[1]); c != 0 {
				return c
			}
		}
		return 0
	})
}

func deepCopy(vals values.Tree) (map[string]any, error) {
	if vals == nil {
		return map[string]any{}, nil
	}
	raw, err := json.Marshal(map[string]any(vals))
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, err
	}
	return out, nil
}
