package cutover

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"github.com/redis-shared/conformance/tools/report"
)

func TestGuessSettings(t *testing.T) {
	app := corev1.Container{Name: "app", Env: []corev1.EnvVar{
		{Name: "APP_ENV", Value: "x"}, {Name: "REDIS_HOST", Value: "h"}, {Name: "REDIS_PORT", Value: "1"}, {Name: "REDIS_PASSWORD", Value: "p"},
	}}
	side := corev1.Container{Name: "side", Env: []corev1.EnvVar{{Name: "HOST", Value: "y"}}}
	custom := corev1.Container{Name: "app", Env: []corev1.EnvVar{{Name: "CACHE_ADDR", Value: "h"}, {Name: "CACHE_PORT", Value: "1"}, {Name: "CACHE_SECRET", Value: "p"}}}
	// Host from a whole ConfigMap, port from one key of it, password from a Secret
	// by envFrom with a prefix, and an env entry that overrides the ConfigMap.
	mixed := corev1.Container{Name: "app",
		EnvFrom: []corev1.EnvFromSource{
			{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}}},
			{Prefix: "REDIS_", SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}}},
		},
		Env: []corev1.EnvVar{
			{Name: "REDIS_PORT", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}, Key: "port"}}},
		},
	}
	objs := envObjects{
		configMaps: map[string]map[string]string{"settings": {"REDIS_HOST": "old", "port": "6379", "CACHE_TTL": "60"}},
		secretKeys: map[string][]string{"creds": {"PASSWORD"}},
	}
	overridden := mixed
	overridden.Env = append(slices.Clone(mixed.Env), corev1.EnvVar{Name: "REDIS_HOST", Value: "env-wins"})
	tests := []struct {
		name                 string
		containers           []corev1.Container
		host, port, password string
		want                 Settings
		wantErr              string
	}{
		{name: "env literals in the second container", containers: []corev1.Container{side, app}, want: Settings{Container: "app",
			Host:     Setting{Env: "REDIS_HOST", Source: SourceLiteral, Via: ViaEnv},
			Port:     Setting{Env: "REDIS_PORT", Source: SourceLiteral, Via: ViaEnv},
			Password: Setting{Env: "REDIS_PASSWORD", Source: SourceLiteral, Via: ViaEnv}}},
		{name: "configured names", containers: []corev1.Container{custom}, host: "CACHE_ADDR", port: "CACHE_PORT", password: "CACHE_SECRET", want: Settings{Container: "app",
			Host:     Setting{Env: "CACHE_ADDR", Source: SourceLiteral, Via: ViaEnv},
			Port:     Setting{Env: "CACHE_PORT", Source: SourceLiteral, Via: ViaEnv},
			Password: Setting{Env: "CACHE_SECRET", Source: SourceLiteral, Via: ViaEnv}}},
		{name: "ConfigMap and Secret sources", containers: []corev1.Container{mixed}, want: Settings{Container: "app",
			Host:     Setting{Env: "REDIS_HOST", Source: SourceConfigMap, Via: ViaEnvFrom, Object: "settings", Key: "REDIS_HOST"},
			Port:     Setting{Env: "REDIS_PORT", Source: SourceConfigMap, Via: ViaEnv, Object: "settings", Key: "port"},
			Password: Setting{Env: "REDIS_PASSWORD", Source: SourceSecret, Via: ViaEnvFrom, Object: "creds", Key: "PASSWORD"}}},
		{name: "an env entry overrides envFrom", containers: []corev1.Container{overridden}, want: Settings{Container: "app",
			Host:     Setting{Env: "REDIS_HOST", Source: SourceLiteral, Via: ViaEnv},
			Port:     Setting{Env: "REDIS_PORT", Source: SourceConfigMap, Via: ViaEnv, Object: "settings", Key: "port"},
			Password: Setting{Env: "REDIS_PASSWORD", Source: SourceSecret, Via: ViaEnvFrom, Object: "creds", Key: "PASSWORD"}}},
		{name: "nothing Redis-like", containers: []corev1.Container{side}, wantErr: "no container has Redis settings"},
		{name: "password missing", containers: []corev1.Container{{Name: "a", Env: []corev1.EnvVar{{Name: "REDIS_HOST"}, {Name: "REDIS_PORT"}}}}, wantErr: `password ""`},
		{name: "configured name not there", containers: []corev1.Container{app}, password: "NOPE", wantErr: `password "NOPE"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := GuessSettings(tc.containers, objs, tc.host, tc.port, tc.password)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestDecideEdits(t *testing.T) {
	fromCM := func(env, cm string) Setting {
		return Setting{Env: env, Source: SourceConfigMap, Via: ViaEnvFrom, Object: cm, Key: env}
	}
	users := map[string][]string{"shared": {"Deployment/beersystem/worker"}}
	s := Settings{Host: fromCM("REDIS_HOST", "own"), Port: fromCM("REDIS_PORT", "shared"), Password: fromCM("REDIS_PASSWORD", "own")}
	decideEdits(&s, func(cm string) []string { return users[cm] })
	assert.True(t, s.Host.EditConfigMap, "own ConfigMap: edited")
	assert.False(t, s.Port.EditConfigMap, "shared ConfigMap: overridden in env")
	assert.Equal(t, []string{"Deployment/beersystem/worker"}, s.Port.SharedWith)
	assert.False(t, s.Password.EditConfigMap, "the password is never written to a ConfigMap")
	assert.Equal(t, map[string]map[string]string{"own": {"REDIS_HOST": "new"}}, configMapEdits(s, "new", 6379))
}

func TestPatchedEnv(t *testing.T) {
	lit := func(env string) Setting { return Setting{Env: env, Source: SourceLiteral, Via: ViaEnv} }
	envSettings := Settings{Container: "app", Host: lit("REDIS_HOST"), Port: lit("REDIS_PORT"), Password: lit("REDIS_PASSWORD")}
	cmSettings := Settings{Container: "app",
		Host:     Setting{Env: "REDIS_HOST", Source: SourceConfigMap, Via: ViaEnvFrom, Object: "cm", Key: "REDIS_HOST", EditConfigMap: true},
		Port:     Setting{Env: "REDIS_PORT", Source: SourceConfigMap, Via: ViaEnv, Object: "cm", Key: "port", EditConfigMap: true},
		Password: Setting{Env: "REDIS_PASSWORD", Source: SourceConfigMap, Via: ViaEnvFrom, Object: "cm", Key: "REDIS_PASSWORD"},
	}
	portRef := corev1.EnvVar{Name: "REDIS_PORT", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}, Key: "port"}}}
	ref := corev1.EnvVar{Name: "REDIS_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "k"}}}
	tests := []struct {
		name     string
		settings Settings
		env      []corev1.EnvVar
		want     []corev1.EnvVar
	}{
		{
			name:     "replaced in place, literal password gone",
			settings: envSettings,
			env:      []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "REDIS_HOST", Value: "old"}, {Name: "REDIS_PASSWORD", Value: "secret"}, {Name: "REDIS_PORT", Value: "7000"}},
			want:     []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "REDIS_HOST", Value: "new"}, ref, {Name: "REDIS_PORT", Value: "6379"}},
		},
		{
			name:     "missing ones appended",
			settings: envSettings,
			env:      []corev1.EnvVar{{Name: "REDIS_HOST", Value: "old"}},
			want:     []corev1.EnvVar{{Name: "REDIS_HOST", Value: "new"}, {Name: "REDIS_PORT", Value: "6379"}, ref},
		},
		{
			name:     "edited ConfigMap: its references stay, the password overrides envFrom",
			settings: cmSettings,
			env:      []corev1.EnvVar{{Name: "A", Value: "1"}, portRef},
			want:     []corev1.EnvVar{{Name: "A", Value: "1"}, portRef, ref},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, patchedEnv(tc.env, tc.settings, "new", 6379, "s", "k"))
		})
	}
}

func TestOldRedisNamesFind(t *testing.T) {
	n := oldRedisNames{namespace: "beersystem", bare: "beersystem-redis",
		qualified: []string{"beersystem-redis.beersystem.svc.cluster.local", "beersystem-redis.beersystem.svc", "beersystem-redis.beersystem"},
		ips:       []string{"10.96.0.12"}}
	tests := []struct {
		name, ns, text, want string
	}{
		{name: "URL with the DNS name", ns: "brewlog", text: "redis://:pw@beersystem-redis.beersystem.svc.cluster.local:6379/2", want: "beersystem-redis.beersystem.svc.cluster.local"},
		{name: "absolute DNS name", ns: "brewlog", text: "beersystem-redis.beersystem.svc.cluster.local.", want: "beersystem-redis.beersystem.svc.cluster.local"},
		{name: "short name across namespaces", ns: "brewlog", text: "-h beersystem-redis.beersystem -p 6379", want: "beersystem-redis.beersystem"},
		{name: "bare name in its namespace", ns: "beersystem", text: "beersystem-redis:6379", want: "beersystem-redis"},
		{name: "bare name elsewhere is another Service", ns: "brewlog", text: "beersystem-redis:6379"},
		{name: "longer name", ns: "beersystem", text: "beersystem-redis-2:6379"},
		{name: "other namespace's Service", ns: "beersystem", text: "beersystem-redis.other.svc.cluster.local"},
		{name: "ClusterIP", ns: "brewlog", text: "10.96.0.12:6379", want: "10.96.0.12"},
		{name: "longer IP", ns: "brewlog", text: "10.96.0.123"},
		{name: "nothing", ns: "brewlog", text: "redis-shared-master.redis.svc.cluster.local"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, n.find(tc.ns, tc.text))
		})
	}
}

func TestGateJudge(t *testing.T) {
	reqs := func(statuses ...string) []report.RequirementResult {
		var out []report.RequirementResult
		for i := 0; i+1 < len(statuses); i += 2 {
			out = append(out, report.RequirementResult{ID: statuses[i], Status: statuses[i+1]})
		}
		return out
	}
	tests := []struct {
		name    string
		mode    string
		rep     report.Report
		wantErr string
	}{
		{name: "GO", rep: report.Report{Verdict: report.VerdictGo}},
		{name: "NO-GO", mode: GateVerdictGo, rep: report.Report{Verdict: report.VerdictNoGo}, wantErr: `verdict is "NO-GO"`},
		{name: "only cutover requirements open", mode: GateExceptCutover, rep: report.Report{Verdict: report.VerdictNoGo, Requirements: reqs("FR-001", "pass", "FR-015", "not-run", "FR-018", "fail")}},
		{name: "another requirement open", mode: GateExceptCutover, rep: report.Report{Requirements: reqs("FR-001", "fail", "FR-015", "not-run")}, wantErr: "not passed: FR-001=fail"},
		{name: "empty report", mode: GateExceptCutover, rep: report.Report{}, wantErr: "lists no requirements"},
		{name: "bad mode", mode: "maybe", rep: report.Report{}, wantErr: `mode "maybe"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Gate{ReportPath: "report.json", Mode: tc.mode}.judge(tc.rep)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
		})
	}
}

func TestCatalogSoak(t *testing.T) {
	soak, err := CatalogSoak()
	require.NoError(t, err)
	// FR-018 says 24 h; the catalog is where the figure lives.
	assert.Equal(t, 24*time.Hour, soak)
}

func TestGateCheckReadsReport(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	tests := []struct {
		name    string
		path    string
		wantErr string
	}{
		{name: "GO report", path: write("go.json", `{"verdict":"GO","requirements":[{"id":"FR-001","status":"pass"}]}`)},
		{name: "NO-GO report", path: write("nogo.json", `{"verdict":"NO-GO"}`), wantErr: `verdict is "NO-GO"`},
		{name: "not JSON", path: write("bad.json", `{`), wantErr: "bad.json"},
		{name: "missing", path: filepath.Join(dir, "none.json"), wantErr: "none.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Gate{ReportPath: tc.path}.Check()
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
		})
	}
}
