package cutover

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"github.com/redis-shared/conformance/tools/report"
)

func TestGuessEnv(t *testing.T) {
	app := corev1.Container{Name: "app", Env: []corev1.EnvVar{
		{Name: "APP_ENV", Value: "x"}, {Name: "REDIS_HOST", Value: "h"}, {Name: "REDIS_PORT", Value: "1"}, {Name: "REDIS_PASSWORD", Value: "p"},
	}}
	side := corev1.Container{Name: "side", Env: []corev1.EnvVar{{Name: "HOST", Value: "y"}}}
	custom := corev1.Container{Name: "app", Env: []corev1.EnvVar{{Name: "CACHE_ADDR", Value: "h"}, {Name: "CACHE_PORT", Value: "1"}, {Name: "CACHE_SECRET", Value: "p"}}}
	tests := []struct {
		name                 string
		containers           []corev1.Container
		host, port, password string
		want                 EnvNames
		wantErr              string
	}{
		{name: "guessed in the second container", containers: []corev1.Container{side, app}, want: EnvNames{Container: "app", Host: "REDIS_HOST", Port: "REDIS_PORT", Password: "REDIS_PASSWORD"}},
		{name: "configured names", containers: []corev1.Container{custom}, host: "CACHE_ADDR", port: "CACHE_PORT", password: "CACHE_SECRET", want: EnvNames{Container: "app", Host: "CACHE_ADDR", Port: "CACHE_PORT", Password: "CACHE_SECRET"}},
		{name: "nothing Redis-like", containers: []corev1.Container{side}, wantErr: "no container has Redis env settings"},
		{name: "password missing", containers: []corev1.Container{{Name: "a", Env: []corev1.EnvVar{{Name: "REDIS_HOST"}, {Name: "REDIS_PORT"}}}}, wantErr: `password ""`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := GuessEnv(tc.containers, tc.host, tc.port, tc.password)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestPatchedEnv(t *testing.T) {
	names := EnvNames{Container: "app", Host: "REDIS_HOST", Port: "REDIS_PORT", Password: "REDIS_PASSWORD"}
	ref := corev1.EnvVar{Name: "REDIS_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "k"}}}
	tests := []struct {
		name string
		env  []corev1.EnvVar
		want []corev1.EnvVar
	}{
		{
			name: "replaced in place, literal password gone",
			env:  []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "REDIS_HOST", Value: "old"}, {Name: "REDIS_PASSWORD", Value: "secret"}, {Name: "REDIS_PORT", Value: "7000"}},
			want: []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "REDIS_HOST", Value: "new"}, ref, {Name: "REDIS_PORT", Value: "6379"}},
		},
		{
			name: "missing ones appended",
			env:  []corev1.EnvVar{{Name: "REDIS_HOST", Value: "old"}},
			want: []corev1.EnvVar{{Name: "REDIS_HOST", Value: "new"}, {Name: "REDIS_PORT", Value: "6379"}, ref},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, PatchedEnv(tc.env, names, "new", 6379, "s", "k"))
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
