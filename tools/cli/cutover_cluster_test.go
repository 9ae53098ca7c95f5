package cli

import (
	"bytes"
	"context"
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redis-shared/conformance/tools/kubeenv"
)

var kubeBin = flag.String("bin", "", "directory with the control-plane binaries (make kube-tools); empty skips the control-plane tests")

// TestCutoverCommandOnLocalControlPlane runs `conform cutover` end to end on the
// local control plane: plan, apply, verify, decommission (refused, dry run,
// confirmed) and rollback, checking exit codes and output.
func TestCutoverCommandOnLocalControlPlane(t *testing.T) {
	if *kubeBin == "" {
		t.Skip("needs the control-plane binaries: run `make test-cutover` (builds them into bin/ and passes --bin)")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	ctx := context.Background()
	env, err := kubeenv.Start(ctx, kubeenv.Options{BinDir: *kubeBin, Root: root})
	require.NoError(t, err, "start the local control plane")
	t.Cleanup(func() { assert.NoError(t, env.Close(), "tear down") })
	require.NoError(t, env.ApplyFiles(ctx,
		filepath.Join(root, kubeenv.FixtureDir, "node.yaml"),
		filepath.Join(root, kubeenv.FixtureDir, "tofu-equivalent.yaml"),
		filepath.Join(root, kubeenv.FixtureDir, "beersystem-old-redis.yaml"),
		filepath.Join(root, "fixtures/cutover/beersystem-before.yaml"),
	))
	require.NoError(t, env.CreateAuthSecrets(ctx))

	steps := []struct {
		args []string
		code int
		want string
	}{
		{args: []string{"plan"}, code: ExitOK, want: "3. patch: REDIS_HOST=redis-shared-master.redis.svc.cluster.local, REDIS_PORT=6379, REDIS_PASSWORD from Secret redis-shared-auth key redis-password (secretKeyRef)"},
		{args: []string{"verify"}, code: ExitFindings, want: "no completed cutover recorded"},
		{args: []string{"rollback"}, code: ExitOK, want: "nothing to do"},
		{args: []string{"apply", "--timeout", "1m"}, code: ExitOK, want: "cutover done: downtime"},
		{args: []string{"verify"}, code: ExitOK, want: "cutover verified: beersystem on redis-shared-master.redis.svc.cluster.local, 2 replicas Ready"},
		{args: []string{"decommission", "--confirm"}, code: ExitFindings, want: "soak time is 24h0m0s"},
		{args: []string{"decommission", "--soak", "1ns"}, code: ExitOK, want: "would delete (run again with --confirm) Deployment/beersystem/beersystem-redis"},
		{args: []string{"decommission", "--soak", "1ns", "--confirm"}, code: ExitOK, want: "deleted Service/beersystem/beersystem-redis"},
		{args: []string{"rollback"}, code: ExitFindings, want: "rollback refused: the old Redis was decommissioned"},
		{args: []string{"verify"}, code: ExitOK, want: "cutover verified"},
	}
	for _, s := range steps {
		var out, errOut bytes.Buffer
		args := append(append([]string{}, s.args...), "--kubeconfig", env.Kubeconfig)
		code := runCutover(ctx, args, IOStreams{Out: &out, ErrOut: &errOut})
		t.Logf("conform cutover %s: exit %d\n%s%s", strings.Join(s.args, " "), code, out.String(), errOut.String())
		assert.Equal(t, s.code, code, "exit code of %v", s.args)
		assert.Contains(t, out.String()+errOut.String(), s.want, "output of %v", s.args)
	}
}
