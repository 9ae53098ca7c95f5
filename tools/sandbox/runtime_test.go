package sandbox

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redis-shared/conformance/tools/project"
	"github.com/redis-shared/conformance/tools/values"
)

func TestResourcesFromLimits(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want Resources
		err  string
	}{
		{"chart units", "master: {resources: {limits: {memory: 512Mi, cpu: '1'}}}", Resources{MemoryBytes: 512 << 20, CPUMilli: 1000}, ""},
		{"millicores and decimal bytes", "master: {resources: {limits: {memory: 200M, cpu: 250m}}}", Resources{MemoryBytes: 200_000_000, CPUMilli: 250}, ""},
		{"no limits", "master: {resources: {requests: {memory: 1Gi}}}", Resources{}, ""},
		{"not a quantity", "master: {resources: {limits: {memory: lots}}}", Resources{}, "master.resources.limits.memory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ConfigFromValues(parseValues(t, tt.doc))
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg.Master.Resources)
		})
	}
}

func TestNotEmulatedListsTheProjectsIgnoredKeys(t *testing.T) {
	root, err := project.Root()
	require.NoError(t, err)
	tree, err := values.LoadLayered(root, values.LayeringHomelab)
	require.NoError(t, err)
	got := NotEmulated(tree)
	for _, key := range []string{"auth.existingSecret", "networkPolicy", "master.readinessProbe", "replica.readinessProbe", "metrics.serviceMonitor.additionalLabels", "master.resources.requests"} {
		assert.Contains(t, got, key)
	}
	for _, key := range []string{"auth", "auth.enabled", "master", "master.resources.limits.memory", "lanService", "metrics.prometheusRule.rules", "commonConfiguration"} {
		assert.NotContains(t, got, key)
	}
}

func TestExporterPasswordPinnedByAnotherSecret(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"auth secret", "auth: {existingSecret: a}\nmetrics: {extraEnvVars: [{name: REDIS_PASSWORD, valueFrom: {secretKeyRef: {name: a, key: p}}}]}", ""},
		{"other secret", "auth: {existingSecret: a}\nmetrics: {extraEnvVars: [{name: REDIS_PASSWORD, valueFrom: {secretKeyRef: {name: b, key: p}}}]}", "b"},
		{"other variable", "metrics: {extraEnvVars: [{name: OTHER, value: x}]}", ""},
		{"none", "metrics: {enabled: true}", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ConfigFromValues(parseValues(t, tt.doc))
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg.Metrics.PinnedPassword)
		})
	}
}

func TestEdgeCaseOverlaysLoad(t *testing.T) {
	root, err := project.Root()
	require.NoError(t, err)
	overlays, err := filepath.Glob(filepath.Join(root, "fixtures", "overlays", "edge-*.yaml"))
	require.NoError(t, err)
	require.Len(t, overlays, 5)
	for _, overlay := range overlays {
		t.Run(filepath.Base(overlay), func(t *testing.T) {
			tree, err := values.LoadLayered(root, values.LayeringHomelab, overlay)
			require.NoError(t, err)
			_, err = ConfigFromValues(tree)
			require.NoError(t, err)
		})
	}
}
