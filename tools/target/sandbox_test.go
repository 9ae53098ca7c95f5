package target

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redis-shared/conformance/tools/sandbox"
)

func beersystemState(t *testing.T) string {
	t.Helper()
	oldPw := filepath.Join(t.TempDir(), "old-password")
	require.NoError(t, os.WriteFile(oldPw, []byte("old-s3cret\n"), 0o600))
	return writeState(t, sandbox.State{
		ID: "abc123", Phase: sandbox.PhaseRunning, AuthEnabled: true,
		Services: map[string][]string{
			sandbox.MasterService:                           {"10.244.0.10:6379"},
			"beersystem-redis.beersystem.svc.cluster.local": {"10.244.0.60:6379"},
		},
		OldRedis: &sandbox.OldRedis{Name: "beersystem-redis", Service: "beersystem-redis.beersystem.svc.cluster.local",
			Addr: "10.244.0.60:6379", PasswordFile: oldPw},
		App: &sandbox.AppPod{Pod: "beersystem-0", Netns: "rsc-abc123-beersystem-not-made", IP: "10.244.0.70", Port: 8080},
	}, "shared-s3cret")
}

func TestOldRedisComesFromTheStateFile(t *testing.T) {
	tgt, err := OpenSandbox(beersystemState(t))
	require.NoError(t, err)
	old, err := tgt.OldRedis()
	require.NoError(t, err)
	assert.Equal(t, OldRedis{Name: "beersystem-redis", Service: "beersystem-redis.beersystem.svc.cluster.local", Addr: "10.244.0.60:6379"}, old)

	older, err := OpenSandbox(writeState(t, sandbox.State{ID: "abc123", Phase: sandbox.PhaseRunning}, "pw"))
	require.NoError(t, err)
	_, err = older.OldRedis()
	assert.ErrorContains(t, err, "older build")
	_, err = older.StartBeersystem(BeersystemOptions{Binary: "/bin/true", On: AppOnNew, KeyPrefix: "p:", TTL: time.Minute})
	assert.ErrorContains(t, err, "no app pod")
}

func TestStartBeersystemRefusesBadOptionsWithoutLeakingPasswords(t *testing.T) {
	tgt, err := OpenSandbox(beersystemState(t))
	require.NoError(t, err)
	valid := BeersystemOptions{Binary: "/bin/true", On: AppOnNew, PodName: "p", KeyPrefix: "conformance:x:", TTL: time.Minute}
	tests := []struct {
		name    string
		change  func(*BeersystemOptions)
		wantErr string
	}{
		{"no binary", func(o *BeersystemOptions) { o.Binary = "" }, "binary, key prefix and TTL are required"},
		{"no prefix", func(o *BeersystemOptions) { o.KeyPrefix = "" }, "binary, key prefix and TTL are required"},
		{"no TTL", func(o *BeersystemOptions) { o.TTL = 0 }, "binary, key prefix and TTL are required"},
		{"unknown Redis", func(o *BeersystemOptions) { o.On = "elsewhere" }, `Redis "elsewhere"`},
		// The namespace was never made: starting fails there, after the settings.
		{"on the new Redis", func(*BeersystemOptions) {}, "rsc-abc123-beersystem-not-made"},
		{"on the old Redis", func(o *BeersystemOptions) { o.On = AppOnOld }, "rsc-abc123-beersystem-not-made"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := valid
			tt.change(&opts)
			_, err := tgt.StartBeersystem(opts)
			require.ErrorContains(t, err, tt.wantErr)
			assert.NotContains(t, err.Error(), "s3cret")
		})
	}
}
