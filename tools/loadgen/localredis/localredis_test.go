package localredis

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStartRunsAPasswordProtectedServerWithAOF(t *testing.T) {
	if ok, why := Available(); !ok {
		t.Skip(why)
	}
	dir := t.TempDir()
	srv, err := Start(t.Context(), Options{Dir: dir})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop() })
	ctx := t.Context()

	client := srv.Client()
	defer client.Close()
	require.NoError(t, client.Ping(ctx).Err())
	aof, err := client.ConfigGet(ctx, "appendonly").Result()
	require.NoError(t, err)
	assert.Equal(t, "yes", aof["appendonly"])
	assert.True(t, strings.HasPrefix(srv.Addr, "127.0.0.1:"), srv.Addr)

	noAuth := srv.Client()
	noAuth.Options().Password = ""
	defer noAuth.Close()
	assert.ErrorContains(t, noAuth.Ping(ctx).Err(), "NOAUTH")

	info, err := os.Stat(filepath.Join(dir, "redis.conf"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the config file holds the password")

	require.NoError(t, srv.Stop())
	assert.Error(t, client.Ping(ctx).Err(), "stopped server answers nothing")
}

func TestStartNeedsADataDir(t *testing.T) {
	_, err := Start(t.Context(), Options{})
	assert.ErrorContains(t, err, "data dir")
}
