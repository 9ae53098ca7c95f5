package kubeconn_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis-shared/conformance/tools/kubeconn"
)

// FuzzLoad: any kubeconfig bytes load or fail with an error; none panics or hangs
// (Load makes no request: an exec plugin only runs on the first request).
func FuzzLoad(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\nusers: [{name: u, user: {token: x}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n"))
	f.Add([]byte("not: [a kubeconfig"))
	f.Add([]byte("users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: sleep}}}]"))
	f.Add([]byte{0, 1, 2, 0xff})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, raw []byte) {
		path := filepath.Join(dir, "kubeconfig")
		if err := os.WriteFile(path, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := kubeconn.Load(path, "", time.Second)
		if err == nil && cfg == nil {
			t.Fatal("nil config without an error")
		}
	})
}
