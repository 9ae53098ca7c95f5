package cli

import (
	"bytes"
	"context"
	"flag"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/redis-shared/conformance/tools/exitcode"
	"github.com/redis-shared/conformance/tools/kubeenv"
	"github.com/redis-shared/conformance/tools/loadgen/localredis"
)

var kubeBin = flag.String("bin", "", "directory with the control-plane binaries (make kube-tools); empty skips the control-plane tests")

// TestCutoverCommandOnLocalControlPlane runs `conform cutover` end to end on the
// local control plane: plan (with the other client of the old Redis), apply,
// verify, decommission (refused for the soak time, the other client and the missing
// idle proof; dry run; confirmed) and rollback, checking exit codes and output.
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
	// The homelab before the cutover: the stand-ins, the auth Secrets, the old
	// beersystem Redis and the pinned chart's rendering (kwok runs none of its
	// containers), then the pre-cutover beersystem.
	_, err = env.Deploy(ctx)
	require.NoError(t, err, "deploy the pinned chart and the stand-ins")
	require.NoError(t, env.ApplyFiles(ctx,
		filepath.Join(root, "fixtures/cutover/beersystem-before.yaml"),
		filepath.Join(root, "fixtures/cutover/beersystem-configmap.yaml"),
		filepath.Join(root, "fixtures/cutover/other-client.yaml"),
	))

	// No Redis runs on the control plane (kwok pods are not processes): for the
	// data-plane flags two loopback redis-servers stand for the new and the old Redis,
	// their passwords in Secrets as an operator would pass them. beersystem's pods
	// send nothing, so the data-plane verify must find no app connection.
	if ok, why := localredis.Available(); !ok {
		t.Skip(why)
	}
	newSrv, err := localredis.Start(ctx, localredis.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, newSrv.Stop()) })
	oldSrv, err := localredis.Start(ctx, localredis.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, oldSrv.Stop()) })
	cs, err := env.Clientset()
	require.NoError(t, err)
	for name, password := range map[string]string{"loopback-new": newSrv.Password, "loopback-old": oldSrv.Password} {
		_, err := cs.CoreV1().Secrets("beersystem").Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string][]byte{"redis-password": []byte(password)},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	dataPlane := []string{"--new-redis-addr", newSrv.Addr, "--new-redis-secret", "beersystem/loopback-new",
		"--old-redis-addr", oldSrv.Addr, "--old-redis-secret", "beersystem/loopback-old:redis-password", "--dataplane-wait", "1s"}
	oldOnly := []string{"--old-redis-addr", oldSrv.Addr, "--old-redis-secret", "beersystem/loopback-old"}
	with := func(args []string, more ...string) []string { return append(slices.Clone(args), more...) }
	touchOld := func() {
		c := oldSrv.Client()
		defer c.Close()
		require.NoError(t, c.Set(ctx, "another-client", "1", time.Minute).Err())
	}

	steps := []struct {
		args   []string
		before func()
		code   int
		want   string
	}{
		{args: []string{"plan"}, code: exitcode.OK, want: "3. patch: REDIS_HOST=redis-shared-master.redis.svc.cluster.local, REDIS_PORT=6379, REDIS_PASSWORD from Secret redis-shared-auth key redis-password (secretKeyRef)"},
		{args: []string{"plan"}, code: exitcode.OK, want: "     - Deployment/brewlog/brewlog: container app env REDIS_URL names beersystem-redis.beersystem.svc.cluster.local"},
		{args: []string{"plan", "--deployment", "beersystem-cm", "--old-redis", "beersystem-cache"}, code: exitcode.OK, want: "3. patch: ConfigMap beersystem-cm-settings key REDIS_HOST=redis-shared-master.redis.svc.cluster.local, ConfigMap beersystem-cm-settings key redis-port=6379, REDIS_PASSWORD from Secret redis-shared-auth key redis-password (secretKeyRef)"},
		{args: []string{"plan", "--until", "scale-down"}, code: exitcode.OK, want: "   apply stops here (--until scale-down): deploy and check the new Redis, then run apply again for 3-5"},
		{args: []string{"plan", "--refuse-other-clients"}, code: exitcode.Failed, want: "0. preflight: NO-GO: other clients of the old Redis (refused by --refuse-other-clients): Deployment/brewlog/brewlog"},
		{args: []string{"verify"}, code: exitcode.Failed, want: "no completed cutover recorded"},
		{args: []string{"rollback"}, code: exitcode.OK, want: "nothing to do"},
		{args: []string{"apply", "--timeout", "1m"}, code: exitcode.OK, want: "cutover done: downtime"},
		{args: []string{"verify"}, code: exitcode.OK, want: "cutover verified: beersystem on redis-shared-master.redis.svc.cluster.local, 2 replicas Ready"},
		{args: []string{"verify"}, code: exitcode.OK, want: "data plane NOT checked: no --new-redis-addr and --old-redis-addr given"},
		{args: []string{"decommission", "--confirm"}, code: exitcode.Failed, want: "soak time is 24h0m0s"},
		{args: []string{"decommission", "--soak", "1ns"}, code: exitcode.Failed, want: "other workloads still name the old Redis and would lose it (--ignore-other-clients goes ahead): Deployment/brewlog/brewlog"},
		{args: []string{"decommission", "--soak", "1ns", "--ignore-other-clients"}, code: exitcode.Failed, want: "no --old-redis-addr given"},
		{args: with(oldOnly, "decommission", "--soak", "1ns", "--ignore-other-clients"), code: exitcode.Failed, want: "no command counts of the old Redis were recorded (apply and verify ran without --old-redis-addr)"},
		{args: with(dataPlane, "verify"), code: exitcode.Failed, want: "PROBLEM: no app connection on the new Redis"},
		{args: with(dataPlane, "verify"), code: exitcode.Failed, want: "app connections on the old Redis " + oldSrv.Addr + ": 0"},
		{args: with(oldOnly, "decommission", "--soak", "1ns", "--ignore-other-clients"), code: exitcode.OK, want: "old Redis idle since the cutover: proven: 0 commands on the old Redis " + oldSrv.Addr},
		{args: with(oldOnly, "decommission", "--soak", "1ns", "--ignore-other-clients"), before: touchOld, code: exitcode.Failed, want: "got 1 command(s) since"},
		{args: []string{"decommission", "--soak", "1ns", "--ignore-other-clients", "--no-idle-proof"}, code: exitcode.OK, want: "would delete (run again with --confirm) Deployment/beersystem/beersystem-redis"},
		{args: []string{"decommission", "--soak", "1ns", "--ignore-other-clients", "--no-idle-proof"}, code: exitcode.OK, want: "old Redis idle since the cutover: NOT proven: no data-plane access to the old Redis (--no-idle-proof)"},
		{args: []string{"decommission", "--soak", "1ns", "--ignore-other-clients", "--no-idle-proof", "--confirm"}, code: exitcode.OK, want: "deleted Service/beersystem/beersystem-redis"},
		{args: []string{"rollback"}, code: exitcode.Failed, want: "rollback refused: the old Redis was decommissioned"},
		{args: []string{"verify"}, code: exitcode.OK, want: "cutover verified"},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		var out, errOut bytes.Buffer
		// The action first, as an operator types it.
		action := slices.IndexFunc(s.args, func(a string) bool { return slices.Contains(cutoverActions, a) })
		args := slices.Concat(s.args[action:], s.args[:action], []string{"--kubeconfig", env.Kubeconfig})
		code := runCutover(ctx, args, IOStreams{Out: &out, ErrOut: &errOut})
		t.Logf("conform cutover %s: exit %d\n%s%s", strings.Join(args[:len(args)-2], " "), code, out.String(), errOut.String())
		assert.Equal(t, s.code, code, "exit code of %v", s.args)
		assert.Contains(t, out.String()+errOut.String(), s.want, "output of %v", s.args)
	}
}
