package kubeconn_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redis-shared/conformance/tools/kubeconn"
)

// kubeconfigWithExec writes a kubeconfig for server whose user runs the exec
// credential plugin command with args.
func kubeconfigWithExec(t *testing.T, server, command string, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: %q, insecure-skip-tls-verify: true}
users:
- name: u
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: %q
      args: %s
      interactiveMode: Never
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
`, server, command, quoteAll(args))
	path := filepath.Join(dir, "kubeconfig")
	require.NoError(t, os.WriteFile(path, []byte(kc), 0o600))
	return path
}

func quoteAll(args []string) string {
	quoted := make([]string, 0, len(args))
	for _, a := range args {
		quoted = append(quoted, strconv.Quote(a))
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

func versionServer(t *testing.T) *httptest.Server {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"major":"1","minor":"33","gitVersion":"v1.33.0"}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestReachableFailsWithinDeadlineWhenTheCredentialPluginHangs(t *testing.T) {
	srv := versionServer(t)
	// The plugin never returns: `sleep 3600`.
	path := kubeconfigWithExec(t, srv.URL, "sleep", "3600")
	cfg, err := kubeconn.Load(path, "", 2*time.Second)
	require.NoError(t, err)
	cs, _, err := kubeconn.Clients(cfg)
	require.NoError(t, err)

	start := time.Now()
	err = kubeconn.Reachable(context.Background(), cs, 10*time.Second)
	elapsed := time.Since(start)

	require.Error(t, err)
	assert.Contains(t, err.Error(), "no answer within 2s: the kubeconfig exec credential plugin sleep did not return (killed)")
	assert.Less(t, elapsed, 8*time.Second, "the 2 s request deadline must end the hung plugin's request")
}

func TestReachableWithAWorkingCredentialPlugin(t *testing.T) {
	srv := versionServer(t)
	path := kubeconfigWithExec(t, srv.URL, "/bin/sh", "-c", `echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"t"}}'`)
	cfg, err := kubeconn.Load(path, "", 5*time.Second)
	require.NoError(t, err)
	cs, _, err := kubeconn.Clients(cfg)
	require.NoError(t, err)
	assert.NoError(t, kubeconn.Reachable(context.Background(), cs, 10*time.Second))
}

func TestLoadRefusesNonRegularKubeconfigs(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	cases := []struct {
		name, path, wantErr string
	}{
		{"named pipe", fifo, "kubeconfig: " + fifo + ": not a regular file (it is a named pipe)"},
		{"device", "/dev/zero", "kubeconfig: /dev/zero: not a regular file (it is a character device)"},
		{"directory", "/", "kubeconfig: /: not a regular file (it is a directory)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := kubeconn.Load(tc.path, "", time.Second)
			assert.EqualError(t, err, tc.wantErr)
		})
	}
}

func TestLoadRefusesANonRegularKubeconfigFromTheEnvironment(t *testing.T) {
	t.Setenv("KUBECONFIG", "/dev/zero")
	_, err := kubeconn.Load("", "", time.Second)
	assert.EqualError(t, err, "kubeconfig: /dev/zero: not a regular file (it is a character device)")
}
