package render

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/redis-shared/conformance/tools/values"
)

const repoRoot = "../.."

var fixtureChart = filepath.Join(repoRoot, FixtureChart)

func mustParse(t *testing.T, doc string) values.Tree {
	t.Helper()
	tree, err := values.Parse([]byte(doc))
	require.NoError(t, err)
	return tree
}

func ids(manifests []Manifest) []string {
	out := make([]string, 0, len(manifests))
	for _, m := range manifests {
		out = append(out, m.ID())
	}
	return out
}

func find(t *testing.T, manifests []Manifest, id string) Manifest {
	t.Helper()
	for _, m := range manifests {
		if m.ID() == id {
			return m
		}
	}
	require.Failf(t, "object not rendered", "%s not in %v", id, ids(manifests))
	return Manifest{}
}

func lookup(t *testing.T, obj map[string]any, path string) any {
	t.Helper()
	v, err := values.Tree(obj).Lookup(path)
	require.NoError(t, err, path)
	return v
}

func TestManifestsObjectsFollowValues(t *testing.T) {
	tests := []struct {
		name   string
		values string
		want   []string
	}{
		{
			name:   "chart defaults: replication, no metrics, chart-made secret",
			values: "auth: {password: not-a-real-password}",
			want: []string{
				"NetworkPolicy/redis/redis-shared",
				"Secret/redis/redis-shared",
				"ConfigMap/redis/redis-shared-configuration",
				"Service/redis/redis-shared-headless",
				"Service/redis/redis-shared-master",
				"Service/redis/redis-shared-replicas",
				"StatefulSet/redis/redis-shared-master",
				"StatefulSet/redis/redis-shared-replicas",
			},
		},
		{
			name: "existing secret, metrics, monitor, rules, no network policy",
			values: `
auth: {existingSecret: redis-shared-auth, existingSecretPasswordKey: redis-password}
networkPolicy: {enabled: false}
metrics:
  enabled: true
  serviceMonitor: {enabled: true}
  prometheusRule:
    enabled: true
    rules: [{alert: RedisDown, expr: "redis_up == 0"}]
`,
			want: []string{
				"ConfigMap/redis/redis-shared-configuration",
				"Service/redis/redis-shared-headless",
				"Service/redis/redis-shared-master",
				"Service/redis/redis-shared-metrics",
				"Service/redis/redis-shared-replicas",
				"StatefulSet/redis/redis-shared-master",
				"StatefulSet/redis/redis-shared-replicas",
				"PrometheusRule/redis/redis-shared",
				"ServiceMonitor/redis/redis-shared",
			},
		},
		{
			name: "standalone has no replicas",
			values: `
architecture: standalone
auth: {enabled: false}
networkPolicy: {enabled: false}
`,
			want: []string{
				"ConfigMap/redis/redis-shared-configuration",
				"Service/redis/redis-shared-headless",
				"Service/redis/redis-shared-master",
				"StatefulSet/redis/redis-shared-master",
			},
		},
		{
			name: "sentinel replaces the master and replicas services",
			values: `
auth: {enabled: false}
networkPolicy: {enabled: false}
sentinel: {enabled: true}
`,
			want: []string{
				"ConfigMap/redis/redis-shared-configuration",
				"Service/redis/redis-shared",
				"Service/redis/redis-shared-headless",
				"StatefulSet/redis/redis-shared-node",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			manifests, err := Manifests(context.Background(), fixtureChart, mustParse(t, tt.values), Options{})
			require.NoError(t, err)
			assert.Equal(t, tt.want, ids(manifests))
		})
	}
}

func TestManifestsRenderExtraDeployThroughTpl(t *testing.T) {
	vals := mustParse(t, `
auth: {existingSecret: redis-shared-auth}
lanService: {enabled: true, name: redis-shared-lan, loadBalancerIP: 192.168.4.200, sourceRanges: [192.168.4.0/24], port: 6379}
extraDeploy:
  - |
    {{- if .Values.lanService.enabled }}
    apiVersion: v1
    kind: Service
    metadata:
      name: {{ .Values.lanService.name }}
      namespace: {{ include "common.names.namespace" . | quote }}
      annotations:
        metallb.io/loadBalancerIPs: {{ .Values.lanService.loadBalancerIP | quote }}
    spec:
      type: LoadBalancer
      loadBalancerSourceRanges: {{- toYaml .Values.lanService.sourceRanges | nindent 4 }}
      ports: [{name: tcp-redis, port: {{ .Values.lanService.port }}, targetPort: redis}]
      selector: {{- include "common.labels.matchLabels" (dict "customLabels" .Values.commonLabels "context" .) | nindent 4 }}
        app.kubernetes.io/component: master
    {{- end }}
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: "{{ .Release.Name }}-extra"}
`)
	manifests, err := Manifests(context.Background(), fixtureChart, vals, Options{})
	require.NoError(t, err)

	lan := find(t, manifests, "Service/redis/redis-shared-lan")
	assert.Equal(t, "redis/templates/extra-list.yaml", lan.Source)
	assert.Equal(t, "LoadBalancer", lookup(t, lan.Object, "spec.type"))
	assert.Equal(t, []any{"192.168.4.0/24"}, lookup(t, lan.Object, "spec.loadBalancerSourceRanges"))
	assert.Equal(t, map[string]any{
		"app.kubernetes.io/name":      "redis",
		"app.kubernetes.io/instance":  "redis-shared",
		"app.kubernetes.io/component": "master",
	}, lookup(t, lan.Object, "spec.selector"))
	find(t, manifests, "ConfigMap/redis-shared-extra")

	// With the switch off the template renders an empty document, which is dropped.
	vals = values.Merge(vals, mustParse(t, "lanService: {enabled: false}"))
	manifests, err = Manifests(context.Background(), fixtureChart, vals, Options{})
	require.NoError(t, err)
	assert.NotContains(t, ids(manifests), "Service/redis/redis-shared-lan")
}

func TestManifestsStatefulSetsCarryValues(t *testing.T) {
	vals := mustParse(t, `
auth: {existingSecret: redis-shared-auth, existingSecretPasswordKey: redis-password}
image: {registry: docker.io, repository: bitnamilegacy/redis, tag: 8.2.1-debian-12-r0}
metrics: {enabled: true}
replica:
  replicaCount: 1
  resourcesPreset: none
  resources: {requests: {cpu: 100m, memory: 256Mi}, limits: {cpu: "1", memory: 512Mi}}
  persistence: {storageClass: local-path, size: 2Gi}
`)
	manifests, err := Manifests(context.Background(), fixtureChart, vals, Options{})
	require.NoError(t, err)

	replicas := find(t, manifests, "StatefulSet/redis/redis-shared-replicas")
	assert.EqualValues(t, 1, lookup(t, replicas.Object, "spec.replicas"))
	podLabels := lookup(t, replicas.Object, "spec.template.metadata.labels").(map[string]any)
	assert.Equal(t, "replica", podLabels["app.kubernetes.io/component"])
	containers := lookup(t, replicas.Object, "spec.template.spec.containers").([]any)
	require.Len(t, containers, 2)
	redis := containers[0].(map[string]any)
	assert.Equal(t, "redis", redis["name"])
	assert.Equal(t, "docker.io/bitnamilegacy/redis:8.2.1-debian-12-r0", redis["image"])
	assert.Equal(t, map[string]any{"requests": map[string]any{"cpu": "100m", "memory": "256Mi"}, "limits": map[string]any{"cpu": "1", "memory": "512Mi"}}, redis["resources"])
	assert.Contains(t, redis, "livenessProbe")
	assert.Contains(t, redis, "readinessProbe")
	metrics := containers[1].(map[string]any)
	assert.Equal(t, "metrics", metrics["name"])
	assert.Contains(t, metrics, "resources", "the metrics container falls back to the chart's preset")
	claims := lookup(t, replicas.Object, "spec.volumeClaimTemplates").([]any)
	require.Len(t, claims, 1)
	assert.Equal(t, "local-path", lookup(t, claims[0].(map[string]any), "spec.storageClassName"))
	assert.Equal(t, "2Gi", lookup(t, claims[0].(map[string]any), "spec.resources.requests.storage"))

	master := find(t, manifests, "StatefulSet/redis/redis-shared-master")
	assert.EqualValues(t, 1, lookup(t, master.Object, "spec.replicas"))
}

func TestChartIsStableAndExcludesNotes(t *testing.T) {
	vals := mustParse(t, "auth: {existingSecret: redis-shared-auth}\nmetrics: {enabled: true, serviceMonitor: {enabled: true}}")
	first, err := Chart(context.Background(), fixtureChart, vals, Options{})
	require.NoError(t, err)
	for range 3 {
		again, err := Chart(context.Background(), fixtureChart, vals, Options{})
		require.NoError(t, err)
		assert.Equal(t, string(first), string(again))
	}
	assert.NotContains(t, string(first), "NOTES.txt")
	assert.NotContains(t, string(first), "fixture chart:")
	assert.True(t, strings.HasPrefix(string(first), "---\n# Source: redis/templates/networkpolicy.yaml\n"), "install order puts the NetworkPolicy first")
}

func TestManifestsUseReleaseAndNamespace(t *testing.T) {
	manifests, err := Manifests(context.Background(), fixtureChart, mustParse(t, "auth: {enabled: false}"), Options{ReleaseName: "cache", Namespace: "apps", KubeVersion: "v1.33.0"})
	require.NoError(t, err)
	assert.Contains(t, ids(manifests), "Service/apps/cache-redis-master", "a release name without the chart name gets it appended, like Bitnami")
}

func TestManifestsFromPackagedChart(t *testing.T) {
	chrt, err := loader.Load(fixtureChart)
	require.NoError(t, err)
	archive, err := chartutil.Save(chrt, t.TempDir())
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(archive, ".tgz"))

	vals := mustParse(t, "auth: {existingSecret: redis-shared-auth}")
	fromDir, err := Chart(context.Background(), fixtureChart, vals, Options{})
	require.NoError(t, err)
	fromArchive, err := Chart(context.Background(), archive, vals, Options{})
	require.NoError(t, err)
	assert.Equal(t, string(fromDir), string(fromArchive))
}

func TestManifestsRejectBadInput(t *testing.T) {
	tests := []struct {
		name      string
		chart     string
		values    string
		opts      Options
		wantError string
	}{
		{name: "missing chart", chart: filepath.Join(t.TempDir(), "nope"), wantError: "load chart"},
		{name: "unknown resource preset", chart: fixtureChart, values: "auth: {enabled: false}\nmaster: {resourcesPreset: huge}", wantError: `resourcesPreset "huge"`},
		{name: "auth without any password source", chart: fixtureChart, values: "auth: {enabled: true}", wantError: "auth.password or auth.existingSecret is required"},
		{name: "unrecognised image", chart: fixtureChart, values: "auth: {enabled: false}\nimage: {repository: library/redis, tag: '8'}", wantError: "allowInsecureImages"},
		{name: "bad kube version", chart: fixtureChart, values: "auth: {enabled: false}", opts: Options{KubeVersion: "one"}, wantError: `kube version "one"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Manifests(context.Background(), tt.chart, mustParse(t, tt.values), tt.opts)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantError)
		})
	}
}

func TestManifestsAllowUnrecognisedImagesWhenAsked(t *testing.T) {
	vals := mustParse(t, "auth: {enabled: false}\nimage: {repository: library/redis, tag: '8'}\nglobal: {security: {allowInsecureImages: true}}")
	_, err := Manifests(context.Background(), fixtureChart, vals, Options{})
	require.NoError(t, err)
}

func TestManifestsNameMissingDependency(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "needs-common")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "templates"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Chart.yaml"), []byte("apiVersion: v2\nname: needs-common\nversion: 0.1.0\ndependencies:\n  - name: common\n    version: 2.x.x\n    repository: oci://example.invalid/charts\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "templates", "cm.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"), 0o644))

	_, err := Manifests(context.Background(), dir, nil, Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "common")
	assert.Contains(t, err.Error(), "charts/ folder")
}

func TestManifestsLeaveCallerValuesAlone(t *testing.T) {
	vals := mustParse(t, "auth: {existingSecret: redis-shared-auth}")
	before, err := values.Tree(vals).Lookup("auth")
	require.NoError(t, err)
	_, err = Manifests(context.Background(), fixtureChart, vals, Options{})
	require.NoError(t, err)
	assert.Equal(t, values.Tree{"auth": before}, vals)
}

// The project's own layerings on the fixture chart: the objects the policy gate and the
// kube target expect are all there, with the LAN entry point as the only LoadBalancer.
func TestManifestsProjectLayerings(t *testing.T) {
	if _, err := os.Stat(filepath.Join(repoRoot, "helm-values", "base.yaml")); err != nil {
		t.Skipf("helm-values/base.yaml not present yet: %v", err)
	}
	for _, layering := range []string{values.LayeringHomelab, values.LayeringKind} {
		t.Run(layering, func(t *testing.T) {
			vals, err := values.LoadLayered(repoRoot, layering)
			require.NoError(t, err)
			manifests, err := Manifests(context.Background(), fixtureChart, vals, Options{})
			require.NoError(t, err)

			for _, id := range []string{
				"Service/redis/redis-shared-master",
				"Service/redis/redis-shared-replicas",
				"Service/redis/redis-shared-headless",
				"Service/redis/redis-shared-metrics",
				"StatefulSet/redis/redis-shared-master",
				"StatefulSet/redis/redis-shared-replicas",
				"NetworkPolicy/redis/redis-shared",
				"ServiceMonitor/redis/redis-shared",
				"PrometheusRule/redis/redis-shared",
			} {
				find(t, manifests, id)
			}
			lanName, err := vals.String("lanService.name", "")
			require.NoError(t, err)
			for _, m := range manifests {
				if m.Kind != "Service" {
					continue
				}
				serviceType := lookup(t, m.Object, "spec.type")
				if m.Name == lanName {
					assert.Equal(t, "LoadBalancer", serviceType, m.ID())
				} else {
					assert.Equal(t, "ClusterIP", serviceType, m.ID())
				}
			}
		})
	}
}
