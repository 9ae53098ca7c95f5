package cutover

import (
	"context"
	"errors"
	"flag"
	"os"
	"os/signal"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/redis-shared/conformance/tools/kubeenv"
)

var binDir = flag.String("bin", "", "directory with the control-plane binaries (make kube-tools); empty skips the control-plane tests")

// testClock is real time plus an offset the test moves forward (the soak time).
type testClock struct{ offset atomic.Int64 }

func (c *testClock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *testClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Helper()
	l.t.Log(string(p))
	return len(p), nil
}

// TestCutoverOnLocalControlPlane runs the runbook's scenarios in order on one local
// control plane: plan, apply, rollback, an injected failure at scale-up, an
// interruption after scale-down, and decommission around the soak time.
func TestCutoverOnLocalControlPlane(t *testing.T) {
	if *binDir == "" {
		t.Skip("needs the control-plane binaries: run `make test-cutover` (builds them into bin/ and passes --bin)")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	began := time.Now()
	env, err := kubeenv.Start(ctx, kubeenv.Options{BinDir: *binDir, Root: root})
	require.NoError(t, err, "start the local control plane")
	t.Cleanup(func() { assert.NoError(t, env.Close(), "tear down") })
	require.NoError(t, env.ApplyFiles(ctx,
		filepath.Join(root, kubeenv.FixtureDir, "node.yaml"),
		filepath.Join(root, kubeenv.FixtureDir, "tofu-equivalent.yaml"),
		filepath.Join(root, kubeenv.FixtureDir, "beersystem-old-redis.yaml"),
		filepath.Join(root, "fixtures/cutover/beersystem-before.yaml"),
	))
	require.NoError(t, env.CreateAuthSecrets(ctx))
	cs, err := env.Clientset()
	require.NoError(t, err)

	clock := &testClock{}
	newRunbook := func(t *testing.T, before func(context.Context, string) error) *Runbook {
		return New(cs, Options{WaitTimeout: time.Minute, Now: clock.Now, Log: testLog{t}, BeforeStep: before})
	}
	require.NoError(t, newRunbook(t, nil).waitReady(ctx), "beersystem Ready before the cutover")
	t.Logf("set-up: %s", time.Since(began).Round(time.Millisecond))
	original := deployment(t, ctx, cs)

	t.Run("plan changes nothing", func(t *testing.T) {
		lines, err := newRunbook(t, nil).Plan(ctx)
		require.NoError(t, err)
		for _, l := range lines {
			t.Log(l)
		}
		assert.Contains(t, lines, "   Redis env of container app: host REDIS_HOST=\"beersystem-redis.beersystem.svc.cluster.local\", port REDIS_PORT=\"6379\", password REDIS_PASSWORD=literal (not shown)")
		after := deployment(t, ctx, cs)
		assert.Equal(t, original.Spec, after.Spec)
		assert.Equal(t, original.ResourceVersion, after.ResourceVersion, "plan wrote to the Deployment")
	})

	t.Run("preflight refuses a different password in beersystem", func(t *testing.T) {
		own, err := cs.CoreV1().Secrets("redis").Get(ctx, kubeenv.AuthSecret, metav1.GetOptions{})
		require.NoError(t, err)
		secrets := cs.CoreV1().Secrets("beersystem")
		require.NoError(t, env.PutAuthSecret(ctx, secrets, "not-the-shared-password"))
		t.Cleanup(func() {
			assert.NoError(t, env.PutAuthSecret(context.WithoutCancel(ctx), secrets, string(own.Data[kubeenv.AuthPasswordKey])))
		})
		_, err = newRunbook(t, nil).Apply(ctx)
		require.ErrorContains(t, err, "differs between redis and beersystem (SHA-256)")
		assert.NotContains(t, err.Error(), "not-the-shared-password")
		assert.NotContains(t, err.Error(), string(own.Data[kubeenv.AuthPasswordKey]))
		after := deployment(t, ctx, cs)
		assert.Equal(t, original.ResourceVersion, after.ResourceVersion, "a refused preflight wrote to the Deployment")
	})

	t.Run("apply scales to 0, patches and scales up", func(t *testing.T) {
		sawZero := false
		rb := newRunbook(t, func(ctx context.Context, step string) error {
			if step == StepPatch {
				d := deployment(t, ctx, cs)
				sawZero = *d.Spec.Replicas == 0 && podCount(t, ctx, cs, d) == 0
			}
			return nil
		})
		st, err := rb.Apply(ctx)
		require.NoError(t, err)
		assert.True(t, sawZero, "no pod and replicas 0 before the patch")
		assert.Equal(t, PhaseDone, st.Phase)
		assert.Greater(t, st.DowntimeSeconds, 0.0)
		t.Logf("downtime %.2f s", st.DowntimeSeconds)
		d := deployment(t, ctx, cs)
		assert.Equal(t, *original.Spec.Replicas, *d.Spec.Replicas)
		assertCutOver(t, d)
		_, err = rb.Verify(ctx)
		require.NoError(t, err)
		again, err := rb.Apply(ctx)
		require.NoError(t, err, "apply again is a no-op")
		assert.Equal(t, st.ReadyAt, again.ReadyAt)
	})

	t.Run("rollback restores the original spec", func(t *testing.T) {
		require.NoError(t, newRunbook(t, nil).Rollback(ctx))
		d := deployment(t, ctx, cs)
		assert.Equal(t, original.Spec, d.Spec)
		assert.NotContains(t, d.Annotations, StateAnnotation)
	})

	t.Run("a failure at scale-up rolls back automatically", func(t *testing.T) {
		injected := errors.New("injected failure")
		_, err := newRunbook(t, func(_ context.Context, step string) error {
			if step == StepScaleUp {
				return injected
			}
			return nil
		}).Apply(ctx)
		require.ErrorIs(t, err, injected)
		assert.ErrorContains(t, err, "rolled back automatically")
		d := deployment(t, ctx, cs)
		assert.Equal(t, original.Spec, d.Spec)
		assert.True(t, healthy(d), "beersystem Ready after the rollback")
	})

	t.Run("apply resumes after an interruption after scale-down", func(t *testing.T) {
		ictx, cancel := context.WithCancel(ctx)
		_, err := newRunbook(t, func(_ context.Context, step string) error {
			if step == StepPatch {
				cancel()
			}
			return nil
		}).Apply(ictx)
		cancel()
		require.ErrorIs(t, err, ErrInterrupted)
		d := deployment(t, ctx, cs)
		st, err := ReadState(d)
		require.NoError(t, err)
		require.NotNil(t, st)
		assert.Equal(t, PhaseScaledDown, st.Phase)
		assert.Equal(t, int32(0), *d.Spec.Replicas)

		st, err = newRunbook(t, nil).Apply(ctx)
		require.NoError(t, err)
		assert.Equal(t, PhaseDone, st.Phase)
		assertCutOver(t, deployment(t, ctx, cs))
	})

	t.Run("decommission waits for the soak time", func(t *testing.T) {
		soak, err := CatalogSoak()
		require.NoError(t, err)
		rb := newRunbook(t, nil)
		_, err = rb.Decommission(ctx, soak, true)
		require.ErrorContains(t, err, "decommission refused")
		_, err = cs.AppsV1().Deployments("beersystem").Get(ctx, DefaultOldRedis, metav1.GetOptions{})
		require.NoError(t, err, "old Redis still there after the refusal")

		clock.Advance(soak)
		would, err := rb.Decommission(ctx, soak, false)
		require.NoError(t, err)
		assert.Equal(t, []string{"Deployment/beersystem/beersystem-redis", "Service/beersystem/beersystem-redis"}, would)
		_, err = cs.AppsV1().Deployments("beersystem").Get(ctx, DefaultOldRedis, metav1.GetOptions{})
		require.NoError(t, err, "old Redis still there without --confirm")

		deleted, err := rb.Decommission(ctx, soak, true)
		require.NoError(t, err)
		assert.Equal(t, would, deleted)
		_, err = cs.AppsV1().Deployments("beersystem").Get(ctx, DefaultOldRedis, metav1.GetOptions{})
		assert.True(t, notFound(err), "old Redis Deployment deleted: %v", err)
		_, err = cs.CoreV1().Services("beersystem").Get(ctx, DefaultOldRedis, metav1.GetOptions{})
		assert.True(t, notFound(err), "old Redis Service deleted: %v", err)

		_, err = rb.Verify(ctx)
		require.NoError(t, err, "beersystem still cut over and Ready after the decommission")
		st, err := rb.Apply(ctx)
		require.NoError(t, err, "apply after the decommission is a no-op")
		assert.Equal(t, PhaseDone, st.Phase)
		require.ErrorContains(t, rb.Rollback(ctx), "rollback refused: the old Redis was decommissioned")
		assert.NotContains(t, deployment(t, ctx, cs).Annotations[StateAnnotation], "old-stand-in-password", "the old literal password left the record")
		assertCutOver(t, deployment(t, ctx, cs))
	})
	require.NoError(t, env.Alive(), "a control-plane component died during the test")
}

func deployment(t *testing.T, ctx context.Context, cs kubernetes.Interface) *appsv1.Deployment {
	t.Helper()
	d, err := cs.AppsV1().Deployments("beersystem").Get(ctx, "beersystem", metav1.GetOptions{})
	require.NoError(t, err)
	return d
}

func podCount(t *testing.T, ctx context.Context, cs kubernetes.Interface, d *appsv1.Deployment) int {
	t.Helper()
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	require.NoError(t, err)
	pods, err := cs.CoreV1().Pods("beersystem").List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	require.NoError(t, err)
	return len(pods.Items)
}

// assertCutOver: the Redis env points at redis-shared, the password comes from the
// Secret and no literal password is left.
func assertCutOver(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	got := map[string]string{}
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			got[e.Name] = "secret:" + e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
		default:
			got[e.Name] = e.Value
		}
	}
	assert.Equal(t, map[string]string{
		"APP_ENV":        "production",
		"REDIS_HOST":     DefaultNewHost,
		"REDIS_PORT":     "6379",
		"REDIS_PASSWORD": "secret:" + DefaultSecret + "/" + DefaultSecretKey,
	}, got)
	assert.True(t, healthy(d), "beersystem Ready")
}
