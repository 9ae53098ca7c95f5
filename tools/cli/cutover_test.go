package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/redis-shared/conformance/tools/exitcode"
)

func TestCutoverBadInput(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	garbage := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(garbage, []byte("not: [a kubeconfig"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "no action", args: nil, want: "usage: conform cutover plan|apply|verify|rollback|decommission"},
		{name: "unknown action", args: []string{"migrate"}, want: `unknown action "migrate"`},
		{name: "bad gate", args: []string{"plan", "--kubeconfig", missing, "--gate", "maybe"}, want: `--gate "maybe"`},
		{name: "negative soak", args: []string{"decommission", "--kubeconfig", missing, "--soak", "-1h"}, want: "--soak -1h0m0s"},
		{name: "zero timeout", args: []string{"apply", "--kubeconfig", missing, "--timeout", "0s"}, want: "--timeout 0s"},
		{name: "missing kubeconfig", args: []string{"plan", "--kubeconfig", missing}, want: "kubeconfig"},
		{name: "malformed kubeconfig", args: []string{"verify", "--kubeconfig", garbage}, want: "kubeconfig"},
		{name: "stray argument", args: []string{"plan", "extra"}, want: `unexpected argument "extra"`},
		{name: "new Redis address without port", args: []string{"verify", "--kubeconfig", missing, "--new-redis-addr", "redis-shared-master"}, want: `--new-redis-addr "redis-shared-master": want host:port`},
		{name: "old Redis address without port", args: []string{"verify", "--kubeconfig", missing, "--old-redis-addr", "127.0.0.1"}, want: `--old-redis-addr "127.0.0.1": want host:port`},
		{name: "old Redis Secret without namespace", args: []string{"verify", "--kubeconfig", missing, "--old-redis-secret", "beersystem-redis"}, want: `--old-redis-secret: "beersystem-redis": want NAMESPACE/NAME[:KEY]`},
		{name: "new Redis Secret with an empty key", args: []string{"verify", "--kubeconfig", missing, "--new-redis-secret", "redis/redis-shared-auth:"}, want: "--new-redis-secret"},
		{name: "unknown --until step", args: []string{"apply", "--kubeconfig", missing, "--until", "patch"}, want: `--until "patch": want scale-down`},
		{name: "zero data-plane wait", args: []string{"verify", "--kubeconfig", missing, "--dataplane-wait", "0s"}, want: "--dataplane-wait 0s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := runCutover(context.Background(), tc.args, IOStreams{Out: &out, ErrOut: &errOut})
			assert.Equal(t, exitcode.CouldNotRun, code)
			assert.Contains(t, errOut.String(), tc.want)
			assert.Equal(t, 1, strings.Count(strings.TrimSpace(errOut.String()), "\n")+1, "one line: %q", errOut.String())
			assert.Empty(t, out.String())
		})
	}
}
