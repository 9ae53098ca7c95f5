package cutover

// The data-plane paths of apply, verify and decommission. No Redis runs on the
// local control plane (kwok pods are not processes), so here two real redis-server
// processes on loopback stand for the new and the old Redis, a fake clientset holds
// the cut-over Deployment and its pods, and the pods' IPs are loopback addresses the
// stand-in connections really come from: 127.0.0.2 is a beersystem pod, 127.0.0.3 a
// pod of another application; the runbook's own connections come from 127.0.0.1.

import (
	"context"
	"encoding/json"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/redis-shared/conformance/tools/loadgen/localredis"
	"github.com/redis-shared/conformance/tools/project"
)

const (
	beersystemPodIP = "127.0.0.2"
	brewlogPodIP    = "127.0.0.3"
)

// standInConn opens a connection to srv from the loopback address from, named
// name, and sends one SET so that it shows in CLIENT LIST and in the command counts.
func standInConn(t *testing.T, ctx context.Context, srv *localredis.Server, from, name string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{
		Addr: srv.Addr, Password: srv.Password, ClientName: name, PoolSize: 1,
		DialTimeout: time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second,
		DisableIdentity: true, MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: time.Second}
			return d.DialContext(ctx, network, addr)
		},
	})
	t.Cleanup(func() { _ = c.Close() })
	require.NoError(t, c.Set(ctx, "standin:"+name+":"+from, "1", time.Minute).Err(), "stand-in connection from %s", from)
	return c
}

// observerOf is the runbook's own data-plane client of srv, named as the CLI names it.
func observerOf(t *testing.T, srv *localredis.Server) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{
		Addr: srv.Addr, Password: srv.Password, ClientName: ObserverClientName, PoolSize: 2,
		DialTimeout: time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second,
		DisableIdentity: true, MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// cutOverCluster is a fake cluster in which beersystem was cut over an hour ago
// (phase done, settings patched, two Ready replicas), with the old Redis's objects,
// a beersystem pod at 127.0.0.2 and a brewlog pod at 127.0.0.3.
func cutOverCluster(t *testing.T, now time.Time) kubernetes.Interface {
	t.Helper()
	set := Settings{Container: "app",
		Host:     Setting{Env: "REDIS_HOST", Source: SourceLiteral, Via: ViaEnv},
		Port:     Setting{Env: "REDIS_PORT", Source: SourceLiteral, Via: ViaEnv},
		Password: Setting{Env: "REDIS_PASSWORD", Source: SourceLiteral, Via: ViaEnv},
	}
	original := []corev1.EnvVar{{Name: "REDIS_HOST", Value: "beersystem-redis"}, {Name: "REDIS_PORT", Value: "6379"}, {Name: "REDIS_PASSWORD", Value: "old"}}
	readyAt := now.Add(-time.Hour).UTC()
	scaledDownAt := readyAt.Add(-30 * time.Second)
	st := State{Phase: PhaseDone, Replicas: 2, Env: original, Settings: set, ScaledDownAt: &scaledDownAt, ReadyAt: &readyAt, DowntimeSeconds: 30}
	raw, err := json.Marshal(st)
	require.NoError(t, err)
	labels := map[string]string{"app.kubernetes.io/name": "beersystem"}
	replicas := int32(2)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "beersystem", Namespace: project.App, Generation: 1, Annotations: map[string]string{StateAnnotation: string(raw)}},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "app", Env: patchedEnv(original, set, project.MasterDNSName, project.RedisPort, project.AuthSecret, project.AuthPasswordKey),
			}}}},
		},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 2, UpdatedReplicas: 2, ReadyReplicas: 2, AvailableReplicas: 2},
	}
	pod := func(ns, name, ip string, labels map[string]string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
			Status: corev1.PodStatus{PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}}}
	}
	oldLabels := map[string]string{"app.kubernetes.io/instance": "beersystem-redis"}
	auth := func(ns string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: project.AuthSecret}, Data: map[string][]byte{project.AuthPasswordKey: []byte("shared")}}
	}
	return fake.NewClientset(d, auth("redis"), auth("beersystem"),
		pod("beersystem", "beersystem-7d9f-abcde", beersystemPodIP, labels),
		pod("brewlog", "brewlog-5c6b-fghij", brewlogPodIP, map[string]string{"app.kubernetes.io/name": "brewlog"}),
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: project.OldRedis, Namespace: project.App},
			Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: oldLabels}, Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: oldLabels}}}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: project.OldRedis, Namespace: project.App}, Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.12", ClusterIPs: []string{"10.96.0.12"}}},
	)
}

func recordedState(t *testing.T, ctx context.Context, cs kubernetes.Interface) *State {
	t.Helper()
	d, err := cs.AppsV1().Deployments(project.App).Get(ctx, "beersystem", metav1.GetOptions{})
	require.NoError(t, err)
	st, err := ReadState(d)
	require.NoError(t, err)
	return st
}

func TestDataPlaneVerifyAndDecommission(t *testing.T) {
	if ok, why := localredis.Available(); !ok {
		t.Skip(why)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	newSrv, err := localredis.Start(ctx, localredis.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, newSrv.Stop()) })
	oldSrv, err := localredis.Start(ctx, localredis.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, oldSrv.Stop()) })

	clock := &testClock{}
	runbook := func(t *testing.T, cs kubernetes.Interface, dp DataPlane) *Runbook {
		dp.Wait = 1500 * time.Millisecond
		return New(cs, Options{Now: clock.Now, Log: testLog{t}, DataPlane: dp, WaitTimeout: 5 * time.Second})
	}
	both := DataPlane{New: observerOf(t, newSrv), Old: observerOf(t, oldSrv), NewAddr: newSrv.Addr, OldAddr: oldSrv.Addr}

	t.Run("verify sees the app on the new Redis and records it", func(t *testing.T) {
		cs := cutOverCluster(t, clock.Now())
		standInConn(t, ctx, newSrv, beersystemPodIP, "")
		rb := runbook(t, cs, both)
		require.NoError(t, rb.recordOldCountsNow(ctx, t, cs))
		st, err := rb.Verify(ctx)
		require.NoError(t, err)
		require.NotNil(t, st.DataPlane)
		assert.Empty(t, st.DataPlane.Problems)
		require.Len(t, st.DataPlane.AppOnNew, 1)
		assert.Contains(t, st.DataPlane.AppOnNew[0], "(Pod/beersystem/beersystem-7d9f-abcde)")
		assert.Empty(t, st.DataPlane.AppOnOld)
		require.NotNil(t, st.DataPlane.OldCallsSince)
		assert.Equal(t, int64(0), *st.DataPlane.OldCallsSince, "the runbook's own INFO and CLIENT LIST are not counted")
		assert.Equal(t, st.DataPlane, recordedState(t, ctx, cs).DataPlane, "the evidence is in the state annotation")
		proof, why := CutoverProof(recordedState(t, ctx, cs))
		assert.Equal(t, ProofComplete, proof, "a verified cutover with the old Redis idle is FR-015..FR-017's proof: %s", why)
	})

	t.Run("verify fails while an app connection is left on the old Redis", func(t *testing.T) {
		cs := cutOverCluster(t, clock.Now())
		standInConn(t, ctx, newSrv, beersystemPodIP, "")
		left := standInConn(t, ctx, oldSrv, beersystemPodIP, "")
		_, err := runbook(t, cs, both).Verify(ctx)
		require.ErrorContains(t, err, "1 app connection(s) left on the old Redis")
		require.NoError(t, left.Close())
	})

	t.Run("verify fails with no app connection on the new Redis", func(t *testing.T) {
		cs := cutOverCluster(t, clock.Now())
		// The stand-ins of the earlier subtests are closed: nothing from 127.0.0.2.
		require.NoError(t, waitNoConnFrom(ctx, newSrv, beersystemPodIP))
		_, err := runbook(t, cs, DataPlane{New: both.New, NewAddr: both.NewAddr}).Verify(ctx)
		require.ErrorContains(t, err, "no app connection on the new Redis")
		st := recordedState(t, ctx, cs)
		require.NotNil(t, st.DataPlane)
		assert.Contains(t, st.DataPlane.NotChecked[0], "the old Redis (no --old-redis-addr given)", "says what it did not check")
	})

	t.Run("apply's data-plane step rolls back when the app is not on the new Redis", func(t *testing.T) {
		require.NoError(t, waitNoConnFrom(ctx, newSrv, beersystemPodIP))
		cs := cutOverCluster(t, clock.Now())
		_, err := runbook(t, cs, both).Apply(ctx)
		require.ErrorContains(t, err, "step verify failed: data plane: no app connection on the new Redis")
		assert.ErrorContains(t, err, "rolled back automatically")
		d, err := cs.AppsV1().Deployments(project.App).Get(ctx, "beersystem", metav1.GetOptions{})
		require.NoError(t, err)
		assert.NotContains(t, d.Annotations, StateAnnotation, "the record is gone with the rollback")
		assert.Equal(t, "beersystem-redis", d.Spec.Template.Spec.Containers[0].Env[0].Value, "the original settings are back")
	})

	t.Run("decommission proves the old Redis idle since the recorded counts", func(t *testing.T) {
		cs := cutOverCluster(t, clock.Now())
		rb := runbook(t, cs, both)
		require.NoError(t, rb.recordOldCountsNow(ctx, t, cs))
		soak := 30 * time.Minute
		_, err := rb.Decommission(ctx, DecommissionOptions{Soak: soak})
		require.ErrorContains(t, err, "the old Redis's command counts were recorded at", "counts recorded just now are younger than the soak time")
		clock.Advance(soak)

		res, err := rb.Decommission(ctx, DecommissionOptions{Soak: soak})
		require.NoError(t, err)
		assert.Contains(t, res.IdleProof, "proven: 0 commands on the old Redis "+oldSrv.Addr)
		assert.Equal(t, []string{"Deployment/beersystem/beersystem-redis", "Service/beersystem/beersystem-redis"}, res.Objects)

		other := standInConn(t, ctx, oldSrv, brewlogPodIP, "")
		_, err = rb.Decommission(ctx, DecommissionOptions{Soak: soak, Confirm: true})
		require.ErrorContains(t, err, "decommission refused: the old Redis "+oldSrv.Addr+" got 1 command(s) since")
		assert.ErrorContains(t, err, "(Pod/brewlog/brewlog-5c6b-fghij)", "names the other client by its pod")
		_, err = cs.AppsV1().Deployments(project.App).Get(ctx, project.OldRedis, metav1.GetOptions{})
		require.NoError(t, err, "nothing deleted")

		st, err := rb.Verify(ctx)
		require.ErrorContains(t, err, "no app connection on the new Redis")
		require.NotNil(t, st.DataPlane)
		assert.Equal(t, int64(1), *st.DataPlane.OldCallsSince)
		require.Len(t, st.DataPlane.OthersOnOld, 1)
		assert.Contains(t, st.DataPlane.OthersOnOld[0], "Pod/brewlog/brewlog-5c6b-fghij")
		require.NoError(t, other.Close())
	})

	t.Run("decommission without access to the old Redis", func(t *testing.T) {
		cs := cutOverCluster(t, clock.Now())
		rb := runbook(t, cs, DataPlane{})
		_, err := rb.Decommission(ctx, DecommissionOptions{Soak: time.Minute, Confirm: true})
		require.ErrorContains(t, err, "no --old-redis-addr given")
		res, err := rb.Decommission(ctx, DecommissionOptions{Soak: time.Minute, Confirm: true, NoIdleProof: true})
		require.NoError(t, err)
		assert.Equal(t, "NOT proven: no data-plane access to the old Redis (--no-idle-proof)", res.IdleProof)
		assert.Equal(t, res.IdleProof, recordedState(t, ctx, cs).IdleProof)
	})
}

// recordOldCountsNow records the old Redis's counts as apply's scale-down does.
func (r *Runbook) recordOldCountsNow(ctx context.Context, t *testing.T, cs kubernetes.Interface) error {
	t.Helper()
	st := recordedState(t, ctx, cs)
	if err := r.recordOldCounts(ctx, st, "scale-down"); err != nil {
		return err
	}
	return r.save(ctx, st)
}

// waitNoConnFrom waits until srv has no connection from the address ip.
func waitNoConnFrom(ctx context.Context, srv *localredis.Server, ip string) error {
	c := srv.Client()
	defer c.Close()
	for {
		clients, err := ListClients(ctx, c)
		if err != nil {
			return err
		}
		left := false
		for _, cl := range clients {
			left = left || cl.IP() == ip
		}
		if !left {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
