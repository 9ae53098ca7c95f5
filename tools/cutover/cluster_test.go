package cutover

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
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
	"github.com/redis-shared/conformance/tools/loadgen/localredis"
	"github.com/redis-shared/conformance/tools/project"
	"github.com/redis-shared/conformance/tools/report"
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

// variant is one style of beersystem: Redis settings as env literals
// (fixtures/cutover/beersystem-before.yaml) or in a ConfigMap
// (fixtures/cutover/beersystem-configmap.yaml), each with its own old Redis.
type variant struct {
	name, deployment, oldRedis string
	// configMap is the ConfigMap holding the settings; "" for env literals.
	configMap string
	// wantSettings are plan's lines on where the settings live.
	wantSettings []string
	// wantEnv is the container's env after the cutover (secretKeyRef as "secret:name/key").
	wantEnv map[string]string
	// wantConfigMap is the ConfigMap's data after the cutover.
	wantConfigMap map[string]string
	// oldPassword is the literal the decommission must scrub from the record.
	oldPassword string
}

var variants = []variant{
	{
		name: "env", deployment: "beersystem", oldRedis: "beersystem-redis",
		wantSettings: []string{
			`     host     REDIS_HOST: env literal = "beersystem-redis.beersystem.svc.cluster.local"`,
			`     port     REDIS_PORT: env literal = "6379"`,
			`     password REDIS_PASSWORD: env literal (not shown)`,
		},
		wantEnv: map[string]string{
			"APP_ENV":        "production",
			"REDIS_HOST":     project.MasterDNSName,
			"REDIS_PORT":     "6379",
			"REDIS_PASSWORD": "secret:" + project.AuthSecret + "/" + project.AuthPasswordKey,
		},
		oldPassword: "old-stand-in-password",
	},
	{
		name: "ConfigMap", deployment: "beersystem-cm", oldRedis: "beersystem-cache", configMap: "beersystem-cm-settings",
		wantSettings: []string{
			`     host     REDIS_HOST: ConfigMap beersystem-cm-settings key REDIS_HOST (envFrom) = "beersystem-cache.beersystem.svc.cluster.local"`,
			`     port     REDIS_PORT: ConfigMap beersystem-cm-settings key redis-port (env) = "6379"`,
			`     password REDIS_PASSWORD: ConfigMap beersystem-cm-settings key REDIS_PASSWORD (envFrom) (not shown; a password belongs in a Secret: the cutover takes it from one)`,
		},
		wantEnv: map[string]string{
			"APP_ENV":        "production",
			"REDIS_PORT":     "configMap:beersystem-cm-settings/redis-port",
			"REDIS_PASSWORD": "secret:" + project.AuthSecret + "/" + project.AuthPasswordKey,
		},
		wantConfigMap: map[string]string{
			"REDIS_HOST":        project.MasterDNSName,
			"REDIS_PASSWORD":    "old-cm-stand-in-password",
			"CACHE_TTL_SECONDS": "300",
			"redis-port":        "6379",
		},
		oldPassword: "old-cm-stand-in-password",
	},
}

// TestCutoverOnLocalControlPlane runs the runbook's scenarios in order on one local
// control plane, for beersystem with env settings and with ConfigMap settings: plan,
// apply, rollback, an injected failure at scale-up, an interruption after
// scale-down, and decommission around the soak time and the other client of the
// old Redis (fixtures/cutover/other-client.yaml). No Redis runs here (kwok pods
// are not processes): the data-plane paths are tested in dataplane_cutover_test.go.
func TestCutoverOnLocalControlPlane(t *testing.T) {
	if *binDir == "" {
		t.Skip("needs the control-plane binaries: run `make test-cutover` (builds them into bin/ and passes --bin)")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	began := time.Now()
	// The kube features of suites/cutover run against this control plane too; the
	// suite compiles while the control plane starts.
	suiteBin := make(chan clusterSuiteBuild, 1)
	go func() { suiteBin <- buildClusterSuite(ctx, root, t.TempDir()) }()
	env, err := kubeenv.Start(ctx, kubeenv.Options{BinDir: *binDir, Root: root})
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
	cs, err := env.Clientset()
	require.NoError(t, err)

	clock := &testClock{}
	runbook := func(t *testing.T, v variant, before func(context.Context, string) error) *Runbook {
		return New(cs, Options{Deployment: v.deployment, OldRedis: v.oldRedis, WaitTimeout: time.Minute, Now: clock.Now, Log: testLog{t}, BeforeStep: before})
	}
	for _, v := range variants {
		require.NoError(t, runbook(t, v, nil).waitReady(ctx), "%s Ready before the cutover", v.deployment)
	}
	t.Logf("set-up: %s", time.Since(began).Round(time.Millisecond))

	t.Run("preflight refuses a different password in beersystem", func(t *testing.T) {
		original := deployment(t, ctx, cs, "beersystem")
		own, err := cs.CoreV1().Secrets(project.Namespace).Get(ctx, project.AuthSecret, metav1.GetOptions{})
		require.NoError(t, err)
		secrets := cs.CoreV1().Secrets(project.App)
		require.NoError(t, env.PutAuthSecret(ctx, secrets, "not-the-shared-password"))
		t.Cleanup(func() {
			assert.NoError(t, env.PutAuthSecret(context.WithoutCancel(ctx), secrets, string(own.Data[project.AuthPasswordKey])))
		})
		_, err = runbook(t, variants[0], nil).Apply(ctx)
		require.ErrorContains(t, err, "differs between redis and beersystem (SHA-256)")
		assert.NotContains(t, err.Error(), "not-the-shared-password")
		assert.NotContains(t, err.Error(), string(own.Data[project.AuthPasswordKey]))
		after := deployment(t, ctx, cs, "beersystem")
		assert.Equal(t, original.ResourceVersion, after.ResourceVersion, "a refused preflight wrote to the Deployment")
	})

	t.Run("preflight lists the other client of the old Redis", func(t *testing.T) {
		refs, err := runbook(t, variants[0], nil).OtherClientsByConfig(ctx)
		require.NoError(t, err)
		assert.Equal(t, []ConfigReference{{
			Workload: "Deployment/brewlog/brewlog",
			Where:    "container app env REDIS_URL",
			Match:    "beersystem-redis.beersystem.svc.cluster.local",
		}}, refs)
		refs, err = runbook(t, variants[1], nil).OtherClientsByConfig(ctx)
		require.NoError(t, err)
		assert.Empty(t, refs, "nothing else names beersystem-cache")

		rb := New(cs, Options{RefuseOtherClients: true, Log: testLog{t}})
		_, err = rb.Apply(ctx)
		require.ErrorContains(t, err, "other clients of the old Redis (refused by --refuse-other-clients): Deployment/brewlog/brewlog")
		assert.NotContains(t, deployment(t, ctx, cs, "beersystem").Annotations, StateAnnotation, "a refused preflight recorded nothing")
	})

	built := <-suiteBin
	require.NoError(t, built.err, "build suites/cutover")
	t.Run("suite before the cutover", func(t *testing.T) {
		got := runClusterSuite(t, ctx, root, built.bin, env.Kubeconfig)
		// Before the cutover: the preflight is shown, nothing passes (issue 13).
		assertOutcome(t, got, "FR-015", assessGoNoGo, report.StatusSkip, "cutover not applied yet: no record")
		assertOutcome(t, got, "FR-016", assessStateless, report.StatusPass, "")
		assertOutcome(t, got, "FR-016", assessRecordedScale, report.StatusSkip, "cutover not applied yet")
		assertOutcome(t, got, "FR-017", assessSettings, report.StatusSkip, "cutover not applied yet: no record")
		assertOutcome(t, got, "FR-018", assessDecommissioned, report.StatusSkip, "cutover not applied yet: no record")
	})

	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) { runScenarios(t, ctx, cs, v, runbook) })
	}

	t.Run("spec order: scale down first, the new Redis appears, apply continues", func(t *testing.T) {
		v := variants[0]
		require.NoError(t, runbook(t, v, nil).Rollback(ctx))
		// The new Redis is not deployed yet: tofu has not written its Secret.
		redisSecrets := cs.CoreV1().Secrets(project.Namespace)
		own, err := redisSecrets.Get(ctx, project.AuthSecret, metav1.GetOptions{})
		require.NoError(t, err)
		require.NoError(t, redisSecrets.Delete(ctx, project.AuthSecret, metav1.DeleteOptions{}))
		deploy := func() error {
			return env.PutAuthSecret(context.WithoutCancel(ctx), redisSecrets, string(own.Data[project.AuthPasswordKey]))
		}
		t.Cleanup(func() { assert.NoError(t, deploy()) })
		untilScaleDown := New(cs, Options{Until: StepScaleDown, WaitTimeout: time.Minute, Now: clock.Now, Log: testLog{t}})

		lines, err := untilScaleDown.Plan(ctx)
		require.NoError(t, err)
		assert.Contains(t, lines, "   apply stops here (--until scale-down): deploy and check the new Redis, then run apply again for 3-5")
		st, err := untilScaleDown.Apply(ctx)
		require.NoError(t, err)
		assert.Equal(t, PhaseScaledDown, st.Phase)
		d := deployment(t, ctx, cs, v.deployment)
		assert.Equal(t, int32(0), *d.Spec.Replicas)
		assert.Zero(t, podCount(t, ctx, cs, d))

		got := runClusterSuite(t, ctx, root, built.bin, env.Kubeconfig)
		assertOutcome(t, got, "FR-015", assessGoNoGo, report.StatusSkip, "cutover not applied yet: the record stops at phase scaled-down")
		assertOutcome(t, got, "FR-017", assessSettings, report.StatusSkip, "cutover not applied yet: the record stops at phase scaled-down")

		_, err = runbook(t, v, nil).Apply(ctx)
		require.ErrorContains(t, err, "preflight: Secret redis/redis-shared-auth", "the continuing apply checks the new Redis's Secret")
		st, err = ReadState(deployment(t, ctx, cs, v.deployment))
		require.NoError(t, err)
		assert.Equal(t, PhaseScaledDown, st.Phase, "a refused preflight changes nothing")

		require.NoError(t, deploy())
		st, err = runbook(t, v, nil).Apply(ctx)
		require.NoError(t, err)
		assert.Equal(t, PhaseDone, st.Phase)
		assertCutOver(t, ctx, cs, v)
	})

	t.Run("suite after the cutover", func(t *testing.T) {
		got := runClusterSuite(t, ctx, root, built.bin, env.Kubeconfig)
		// Applied without data-plane access: no verify, no idle proof, so no pass.
		assertOutcome(t, got, "FR-015", assessGoNoGo, report.StatusSkip, "cutover applied but not verified")
		assertOutcome(t, got, "FR-016", assessStateless, report.StatusPass, "")
		assertOutcome(t, got, "FR-016", assessRecordedScale, report.StatusSkip, "cutover applied but not verified")
		assertOutcome(t, got, "FR-017", assessSettings, report.StatusSkip, "cutover applied but not verified")
		assertOutcome(t, got, "FR-018", assessDecommissioned, report.StatusSkip, "cutover applied but not verified")
	})

	// The data plane: kwok runs no Redis, so loopback redis-servers stand for the new
	// and the old Redis, and beersystem's connection to the new one is a stand-in
	// recognised by its client name (kwok's pod IPs are not where a loopback
	// connection comes from), as `conform cutover --app-client-name` does.
	newRedis, dataPlane := startDataPlane(t, ctx)
	dataPlaneRunbook := func(t *testing.T, v variant) *Runbook {
		return New(cs, Options{Deployment: v.deployment, OldRedis: v.oldRedis, WaitTimeout: time.Minute, Now: clock.Now, Log: testLog{t}, DataPlane: dataPlane})
	}

	t.Run("suite after verify on the data plane with the old Redis idle", func(t *testing.T) {
		rb := dataPlaneRunbook(t, variants[0])
		standInConn(t, ctx, newRedis, "127.0.0.1", appClientName+"-stand-in")
		// apply ran without --old-redis-addr: the old Redis's counts are recorded now,
		// as the baseline of "no command since".
		require.NoError(t, rb.recordOldCountsNow(ctx, t, cs))
		st, err := rb.Verify(ctx)
		require.NoError(t, err)
		proof, why := CutoverProof(st)
		require.Equal(t, ProofComplete, proof, why)

		got := runClusterSuite(t, ctx, root, built.bin, env.Kubeconfig)
		assertOutcome(t, got, "FR-015", assessGoNoGo, report.StatusPass, "")
		assertOutcome(t, got, "FR-016", assessStateless, report.StatusPass, "")
		assertOutcome(t, got, "FR-016", assessRecordedScale, report.StatusPass, "")
		assertOutcome(t, got, "FR-017", assessSettings, report.StatusPass, "")
		assertOutcome(t, got, "FR-018", assessDecommissioned, report.StatusSkip, "the soak time is not over")
	})

	t.Run("decommission", func(t *testing.T) {
		soak, err := CatalogSoak()
		require.NoError(t, err)
		for _, v := range variants {
			_, err = runbook(t, v, nil).Decommission(ctx, DecommissionOptions{Soak: soak, Confirm: true, NoIdleProof: true})
			require.ErrorContains(t, err, "decommission refused: the cutover at")
			_, err = cs.AppsV1().Deployments(project.App).Get(ctx, v.oldRedis, metav1.GetOptions{})
			require.NoError(t, err, "old Redis %s still there after the refusal", v.oldRedis)
		}
		clock.Advance(soak)

		for _, v := range variants {
			t.Run(v.name, func(t *testing.T) {
				rb := runbook(t, v, nil)
				if v.name == "env" {
					_, err := rb.Decommission(ctx, DecommissionOptions{Soak: soak, Confirm: true, NoIdleProof: true})
					require.ErrorContains(t, err, "other workloads still name the old Redis and would lose it (--ignore-other-clients goes ahead): Deployment/brewlog/brewlog")
					require.NoError(t, cs.AppsV1().Deployments("brewlog").Delete(ctx, "brewlog", metav1.DeleteOptions{}))
				}
				_, err := rb.Decommission(ctx, DecommissionOptions{Soak: soak, Confirm: true})
				require.ErrorContains(t, err, "no --old-redis-addr given", "no data-plane access and no --no-idle-proof")

				would, err := rb.Decommission(ctx, DecommissionOptions{Soak: soak, NoIdleProof: true})
				require.NoError(t, err)
				wantObjects := []string{"Deployment/beersystem/" + v.oldRedis, "Service/beersystem/" + v.oldRedis}
				assert.Equal(t, wantObjects, would.Objects)
				assert.Contains(t, would.IdleProof, "NOT proven")
				_, err = cs.AppsV1().Deployments(project.App).Get(ctx, v.oldRedis, metav1.GetOptions{})
				require.NoError(t, err, "old Redis still there without --confirm")

				// beersystem (env) goes with the idle proof on the data plane, the
				// ConfigMap variant without it: the record must say which.
				proven := v.name == "env"
				decommission := func() (Decommissioned, error) {
					if proven {
						return dataPlaneRunbook(t, v).Decommission(ctx, DecommissionOptions{Soak: soak, Confirm: true})
					}
					return rb.Decommission(ctx, DecommissionOptions{Soak: soak, Confirm: true, NoIdleProof: true})
				}
				deleted, err := decommission()
				require.NoError(t, err)
				assert.Equal(t, wantObjects, deleted.Objects)
				_, err = cs.AppsV1().Deployments(project.App).Get(ctx, v.oldRedis, metav1.GetOptions{})
				assert.True(t, notFound(err), "old Redis Deployment deleted: %v", err)
				_, err = cs.CoreV1().Services(project.App).Get(ctx, v.oldRedis, metav1.GetOptions{})
				assert.True(t, notFound(err), "old Redis Service deleted: %v", err)

				st, err := rb.Verify(ctx)
				require.NoError(t, err, "beersystem still cut over and Ready after the decommission")
				if proven {
					assert.True(t, strings.HasPrefix(st.IdleProof, "proven: 0 commands on the old Redis "+dataPlane.OldAddr), "the record says the idleness was proven: %s", st.IdleProof)
				} else {
					assert.Equal(t, "NOT proven: no data-plane access to the old Redis (--no-idle-proof)", st.IdleProof, "the record says the idleness was not proven")
				}
				st, err = rb.Apply(ctx)
				require.NoError(t, err, "apply after the decommission is a no-op")
				assert.Equal(t, PhaseDone, st.Phase)
				require.ErrorContains(t, rb.Rollback(ctx), "rollback refused: the old Redis was decommissioned")
				assert.NotContains(t, deployment(t, ctx, cs, v.deployment).Annotations[StateAnnotation], v.oldPassword, "the old literal password left the record")
				assertCutOver(t, ctx, cs, v)
			})
		}
	})
	t.Run("suite after the decommission with the idle proof", func(t *testing.T) {
		// Applied, verified on the data plane, decommissioned after the soak time with
		// the old Redis shown idle: FR-015..FR-018 pass. (Decommissioned with
		// --no-idle-proof fails FR-018: TestDecommissionUnprovenOnlyWithoutTheIdleProof.)
		got := runClusterSuite(t, ctx, root, built.bin, env.Kubeconfig)
		assertOutcome(t, got, "FR-015", assessGoNoGo, report.StatusPass, "")
		assertOutcome(t, got, "FR-016", assessRecordedScale, report.StatusPass, "")
		assertOutcome(t, got, "FR-017", assessSettings, report.StatusPass, "")
		assertOutcome(t, got, "FR-018", assessDecommissioned, report.StatusPass, "")
	})
	require.NoError(t, env.Alive(), "a control-plane component died during the test")
}

// The assessments of suites/cutover/kube_test.go, as go test names them.
const (
	assessGoNoGo         = "the_recorded_cutover_completed"
	assessStateless      = "beersystem_is_a_Deployment_whose_pods_hold_no_PersistentVolumeClaim"
	assessRecordedScale  = "the_recorded_scale-down_reached_zero_pods"
	assessSettings       = "beersystem's_settings_name_redis-shared-master"
	assessDecommissioned = "the_old_Redis_is_decommissioned_after_the_soak_time"
)

// appClientName is the client-name prefix of beersystem's stand-in connection.
const appClientName = "beersystem"

// startDataPlane starts loopback redis-servers for the new and the old Redis and
// returns the new one and the runbook's access to both.
func startDataPlane(t *testing.T, ctx context.Context) (*localredis.Server, DataPlane) {
	t.Helper()
	ok, why := localredis.Available()
	require.True(t, ok, "the data-plane stand-ins need redis-server (make deps): %s", why)
	servers := make([]*localredis.Server, 2)
	for i := range servers {
		srv, err := localredis.Start(ctx, localredis.Options{Dir: t.TempDir()})
		require.NoError(t, err, "start a loopback redis-server")
		t.Cleanup(func() { assert.NoError(t, srv.Stop()) })
		servers[i] = srv
	}
	newSrv, oldSrv := servers[0], servers[1]
	return newSrv, DataPlane{New: observerOf(t, newSrv), Old: observerOf(t, oldSrv), NewAddr: newSrv.Addr, OldAddr: oldSrv.Addr,
		AppClientName: appClientName, Wait: 1500 * time.Millisecond}
}

type clusterSuiteBuild struct {
	bin string
	err error
}

func buildClusterSuite(ctx context.Context, root, dir string) clusterSuiteBuild {
	bin := filepath.Join(dir, "cutover-suite.test")
	cmd := exec.CommandContext(ctx, "go", "test", "-c", "-o", bin, "./suites/cutover")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return clusterSuiteBuild{err: fmt.Errorf("%w: %s", err, out)}
	}
	return clusterSuiteBuild{bin: bin}
}

// runClusterSuite runs TestCutoverOnCluster of suites/cutover with --target kube
// against the control plane, through test2json as `go test -json` would, and returns
// the outcome of every test.
func runClusterSuite(t *testing.T, ctx context.Context, root, bin, kubeconfig string) map[string]report.TestOutcome {
	t.Helper()
	rctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(rctx, "go", "tool", "test2json", "-p", "github.com/redis-shared/conformance/suites/cutover",
		bin, "-test.v=test2json", "-test.count=1", "-test.run=^TestCutoverOnCluster$",
		"--target=kube", "--kubeconfig="+kubeconfig)
	cmd.Dir = filepath.Join(root, "suites", "cutover")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// A failing check (or the harness's key cleanup, which needs a probe pod) makes
	// the binary exit 1: the outcomes are what counts here.
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit, "suites/cutover: %s", stderr.String())
	}
	run, err := report.ParseTestEvents(stdout.Bytes())
	require.NoError(t, err)
	return run.Outcomes
}

// assertOutcome finds the assessment whose test name contains assess and checks
// its status and, when given, that its messages contain msg.
func assertOutcome(t *testing.T, outcomes map[string]report.TestOutcome, req, assess, status, msg string) {
	t.Helper()
	for name, o := range outcomes {
		if !strings.HasPrefix(name, "TestCutoverOnCluster/") || !strings.Contains(name, assess) {
			continue
		}
		all := strings.Join(o.Messages, " | ")
		t.Logf("%s %s: %s: %s", req, o.Status, name, all)
		assert.Equal(t, status, o.Status, "%s: %s", req, name)
		if msg != "" {
			assert.Contains(t, all, msg, "%s: %s", req, name)
		}
		return
	}
	t.Errorf("%s: no assessment %q in the suite's output", req, assess)
}

// runScenarios runs plan, apply, rollback, an injected failure and an interruption
// for one variant; it ends cut over.
func runScenarios(t *testing.T, ctx context.Context, cs kubernetes.Interface, v variant, runbook func(*testing.T, variant, func(context.Context, string) error) *Runbook) {
	original := deployment(t, ctx, cs, v.deployment)
	originalCM := configMapData(t, ctx, cs, v.configMap)

	t.Run("plan changes nothing", func(t *testing.T) {
		cmBefore := configMapVersion(t, ctx, cs, v.configMap)
		lines, err := runbook(t, v, nil).Plan(ctx)
		require.NoError(t, err)
		for _, l := range lines {
			t.Log(l)
		}
		for _, want := range v.wantSettings {
			assert.Contains(t, lines, want)
		}
		after := deployment(t, ctx, cs, v.deployment)
		assert.Equal(t, original.Spec, after.Spec)
		assert.Equal(t, original.ResourceVersion, after.ResourceVersion, "plan wrote to the Deployment")
		assert.Equal(t, cmBefore, configMapVersion(t, ctx, cs, v.configMap), "plan wrote to the ConfigMap")
	})

	t.Run("apply scales to 0, patches and scales up", func(t *testing.T) {
		sawZero := false
		rb := runbook(t, v, func(ctx context.Context, step string) error {
			if step == StepPatch {
				d := deployment(t, ctx, cs, v.deployment)
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
		if v.configMap != "" {
			assert.Equal(t, map[string]map[string]string{v.configMap: originalCM}, st.ConfigMaps, "the ConfigMap's original data recorded")
		}
		assert.Nil(t, st.DataPlane, "no data-plane access given: nothing recorded as checked")
		d := deployment(t, ctx, cs, v.deployment)
		assert.Equal(t, *original.Spec.Replicas, *d.Spec.Replicas)
		assertCutOver(t, ctx, cs, v)
		_, err = rb.Verify(ctx)
		require.NoError(t, err)
		again, err := rb.Apply(ctx)
		require.NoError(t, err, "apply again is a no-op")
		assert.Equal(t, st.ReadyAt, again.ReadyAt)
	})

	t.Run("rollback restores the original spec and ConfigMap", func(t *testing.T) {
		require.NoError(t, runbook(t, v, nil).Rollback(ctx))
		d := deployment(t, ctx, cs, v.deployment)
		assert.Equal(t, original.Spec, d.Spec)
		assert.Equal(t, originalCM, configMapData(t, ctx, cs, v.configMap))
		assert.NotContains(t, d.Annotations, StateAnnotation)
	})

	t.Run("a failure at scale-up rolls back automatically", func(t *testing.T) {
		injected := errors.New("injected failure")
		_, err := runbook(t, v, func(_ context.Context, step string) error {
			if step == StepScaleUp {
				if v.configMap != "" {
					assert.Equal(t, project.MasterDNSName, configMapData(t, ctx, cs, v.configMap)["REDIS_HOST"], "the ConfigMap was patched before the failure")
				}
				return injected
			}
			return nil
		}).Apply(ctx)
		require.ErrorIs(t, err, injected)
		assert.ErrorContains(t, err, "rolled back automatically")
		d := deployment(t, ctx, cs, v.deployment)
		assert.Equal(t, original.Spec, d.Spec)
		assert.Equal(t, originalCM, configMapData(t, ctx, cs, v.configMap))
		assert.True(t, healthy(d), "beersystem Ready after the rollback")
	})

	t.Run("apply resumes after an interruption after scale-down", func(t *testing.T) {
		ictx, cancel := context.WithCancel(ctx)
		_, err := runbook(t, v, func(_ context.Context, step string) error {
			if step == StepPatch {
				cancel()
			}
			return nil
		}).Apply(ictx)
		cancel()
		require.ErrorIs(t, err, ErrInterrupted)
		d := deployment(t, ctx, cs, v.deployment)
		st, err := ReadState(d)
		require.NoError(t, err)
		require.NotNil(t, st)
		assert.Equal(t, PhaseScaledDown, st.Phase)
		assert.Equal(t, int32(0), *d.Spec.Replicas)

		st, err = runbook(t, v, nil).Apply(ctx)
		require.NoError(t, err)
		assert.Equal(t, PhaseDone, st.Phase)
		assertCutOver(t, ctx, cs, v)
	})
}

func configMapData(t *testing.T, ctx context.Context, cs kubernetes.Interface, name string) map[string]string {
	t.Helper()
	if name == "" {
		return nil
	}
	cm, err := cs.CoreV1().ConfigMaps(project.App).Get(ctx, name, metav1.GetOptions{})
	require.NoError(t, err)
	return cm.Data
}

func configMapVersion(t *testing.T, ctx context.Context, cs kubernetes.Interface, name string) string {
	t.Helper()
	if name == "" {
		return ""
	}
	cm, err := cs.CoreV1().ConfigMaps(project.App).Get(ctx, name, metav1.GetOptions{})
	require.NoError(t, err)
	return cm.ResourceVersion
}

func deployment(t *testing.T, ctx context.Context, cs kubernetes.Interface, name string) *appsv1.Deployment {
	t.Helper()
	d, err := cs.AppsV1().Deployments(project.App).Get(ctx, name, metav1.GetOptions{})
	require.NoError(t, err)
	return d
}

func podCount(t *testing.T, ctx context.Context, cs kubernetes.Interface, d *appsv1.Deployment) int {
	t.Helper()
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	require.NoError(t, err)
	pods, err := cs.CoreV1().Pods(project.App).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	require.NoError(t, err)
	return len(pods.Items)
}

// assertCutOver: the Redis settings point at redis-shared, the password comes from
// the Secret, and beersystem is Ready.
func assertCutOver(t *testing.T, ctx context.Context, cs kubernetes.Interface, v variant) {
	t.Helper()
	d := deployment(t, ctx, cs, v.deployment)
	got := map[string]string{}
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			got[e.Name] = "secret:" + e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
		case e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil:
			got[e.Name] = "configMap:" + e.ValueFrom.ConfigMapKeyRef.Name + "/" + e.ValueFrom.ConfigMapKeyRef.Key
		default:
			got[e.Name] = e.Value
		}
	}
	assert.Equal(t, v.wantEnv, got)
	if v.configMap != "" {
		assert.Equal(t, v.wantConfigMap, configMapData(t, ctx, cs, v.configMap))
	}
	assert.True(t, healthy(d), "beersystem Ready")
}
