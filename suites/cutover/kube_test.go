package cutover

// The cutover checks on a cluster (kube target): they answer FR-015..FR-018 for the
// real beersystem from what the cluster holds, read-only: its Deployment, the
// ConfigMaps and Secrets it uses, the old Redis's objects and the runbook's record
// (annotation redis-shared.io/cutover on the Deployment, written by `conform cutover
// apply`). They never change the cluster: moving beersystem is the runbook's job.

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/redis-shared/conformance/suites/internal/harness"
	"github.com/redis-shared/conformance/tools/cutover"
	"github.com/redis-shared/conformance/tools/evidence"
	"github.com/redis-shared/conformance/tools/project"
)

// whyKube is why these features run on the kube target only.
const whyKube = "they read beersystem's Deployment, its ConfigMaps and Secrets and the cutover record on a cluster"

// kubeWait bounds the wait for beersystem to be Ready in the checks.
const kubeWait = 30 * time.Second

// clusterCutover is what the kube-labelled features of TestCutoverOnCluster share:
// the runbook opened on the kube target's cluster, with its defaults (beersystem,
// beersystem-redis, redis-shared-auth, redis-shared-master.redis.svc.cluster.local).
type clusterCutover struct {
	run *harness.Run
	rb  *cutover.Runbook
}

func TestCutoverOnCluster(t *testing.T) {
	cc := &clusterCutover{}
	onlyKube := harness.OnlyOn(harness.TargetKube, whyKube)

	goNoGo := features.New("beersystem cutover go/no-go on the cluster").
		WithLabel("req", "FR-015").
		WithLabel("target", "kube").
		Setup(onlyKube).
		Setup(cc.open).
		Assess("the recorded cutover completed with the downtime measured, verified on the data plane with the old Redis idle", cc.assessGoNoGo).
		Feature()
	scaleToZero := features.New("beersystem can go to zero replicas without losing data").
		WithLabel("req", "FR-016").
		WithLabel("target", "kube").
		Setup(onlyKube).
		Setup(cc.open).
		Assess("beersystem is a Deployment whose pods hold no PersistentVolumeClaim", cc.assessStateless).
		Assess("the recorded scale-down reached zero pods and the recorded replicas came back", cc.assessRecordedScale).
		Feature()
	connects := features.New("beersystem uses the master's cross-namespace name and the replicated Secret").
		WithLabel("req", "FR-017").
		WithLabel("target", "kube").
		Setup(onlyKube).
		Setup(cc.open).
		Assess("beersystem's settings name redis-shared-master.redis.svc.cluster.local, not the old Redis, with the password by secretKeyRef", cc.assessSettings).
		Feature()
	decommission := features.New("safe decommissioning of the old Redis on the cluster").
		WithLabel("req", "FR-018").
		WithLabel("target", "kube").
		Setup(onlyKube).
		Setup(cc.open).
		Assess("the old Redis is decommissioned after the soak time with proof it was idle, or ready to be", cc.assessDecommission).
		Feature()
	testenv.Test(t, goNoGo, scaleToZero, connects, decommission)
}

// open builds the runbook on the cluster of the run's kubeconfig, once.
func (cc *clusterCutover) open(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	t.Helper()
	if cc.rb != nil {
		return ctx
	}
	cc.run = harness.From(ctx)
	cs, err := cutover.ClientsetContext(cc.run.Opts.Kubeconfig, cc.run.Opts.KubeContext)
	require.NoError(t, err, "open the cluster for the cutover checks")
	cc.rb = cutover.New(cs, cutover.Options{WaitTimeout: kubeWait})
	return ctx
}

// status reads the cluster afresh for each assessment.
func (cc *clusterCutover) status(ctx context.Context, t *testing.T) cutover.Status {
	t.Helper()
	s, err := cc.rb.Status(ctx)
	require.NoError(t, err, "read beersystem's Deployment, its settings and the old Redis")
	require.NotNil(t, s.Deployment, "Deployment %s/%s not found: there is no beersystem to migrate", project.App, project.App)
	return s
}

// requireProof ends the assessment unless the cluster holds a completed, verified
// cutover with the idle proof (cutover.CutoverProof): not applied yet is a skip with
// that reason (the requirement is then not-run), a record showing a failed move fails.
func requireProof(t *testing.T, st *cutover.State) {
	t.Helper()
	state, why := cutover.CutoverProof(st)
	switch state {
	case cutover.ProofNone:
		t.Skip(why)
	case cutover.ProofFailed:
		t.Fatal(why)
	}
}

func refs(rs []cutover.ConfigReference) string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Where + " (" + r.Match + ")"
	}
	return strings.Join(out, "; ")
}

func (cc *clusterCutover) assessGoNoGo(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	s := cc.status(ctx, t)
	st := s.State
	if st == nil || st.Phase != cutover.PhaseDone {
		// Before the window the preflight is what there is: shown, never a pass.
		lines, err := cc.rb.Plan(ctx)
		verdict := "go"
		if err != nil {
			verdict = "NO-GO: " + err.Error()
		}
		for _, l := range lines {
			t.Log(l)
		}
		cc.run.Note(t, "cutover preflight says %s", verdict)
	}
	requireProof(t, st)
	cc.run.Figures(t,
		evidence.Figure{Name: "planned downtime (scale-down to Ready)", Value: st.DowntimeSeconds, Unit: "s"},
		evidence.Figure{Name: "replicas restored", Value: float64(st.Replicas), Unit: "count"})
	cc.run.Note(t, "cutover recorded: scaled down at %s, Ready at %s", st.ScaledDownAt.Format(time.RFC3339), st.ReadyAt.Format(time.RFC3339))
	cc.run.Note(t, "data plane at %s: %s", st.DataPlane.CheckedAt.Format(time.RFC3339), strings.Join(st.DataPlane.Lines(), "; "))
	return ctx
}

func (cc *clusterCutover) assessStateless(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	s := cc.status(ctx, t)
	spec := s.Deployment.Spec.Template.Spec
	// A PVC would make beersystem stateful: what its pods write there is not the
	// ephemeral cache the spec speaks of, and an RWO claim ties it to one node.
	assert.Empty(t, cutover.PVCVolumes(spec), "beersystem's pods mount PersistentVolumeClaims")
	var emptyDirs []string
	for _, v := range spec.Volumes {
		if v.EmptyDir != nil {
			emptyDirs = append(emptyDirs, v.Name)
		}
	}
	if len(emptyDirs) > 0 {
		cc.run.Note(t, "beersystem's emptyDir volumes %s are lost at every restart anyway, not only at the scale-down", strings.Join(emptyDirs, ", "))
	}
	cc.run.Note(t, "beersystem is a Deployment with no PersistentVolumeClaim; what it keeps in Redis is cache and sessions (ephemeral, the spec's premise; the sandbox rehearsal checks that every key expires)")
	return ctx
}

func (cc *clusterCutover) assessRecordedScale(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	s := cc.status(ctx, t)
	st := s.State
	requireProof(t, st)
	require.NotNil(t, st.ScaledDownAt, "the record has no scale-down time: the runbook waits for zero pods before recording it")
	require.NotNil(t, s.Deployment.Spec.Replicas)
	assert.Equal(t, st.Replicas, *s.Deployment.Spec.Replicas, "beersystem's replicas are not the recorded ones")
	cc.run.Note(t, "beersystem went to 0 pods at %s and came back with %d replicas", st.ScaledDownAt.Format(time.RFC3339), st.Replicas)
	return ctx
}

func (cc *clusterCutover) assessSettings(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	s := cc.status(ctx, t)
	requireProof(t, s.State)
	assert.NotEmpty(t, s.NewHostAt, "beersystem's settings do not name %s", project.MasterDNSName)
	assert.Empty(t, s.OldRedisAt, "beersystem's settings still name the old Redis")
	assert.NotEmpty(t, s.PasswordFromSecret, "no container takes the password from Secret %s key %s", project.AuthSecret, project.AuthPasswordKey)
	require.NoError(t, cc.rb.SameSecret(ctx))
	// The runbook's own check: the settings are exactly the cut-over ones, Ready.
	_, err := cc.rb.Verify(ctx)
	require.NoError(t, err)
	cc.run.Note(t, "beersystem names %s at %s; password: %s (same in both namespaces by SHA-256)", project.MasterDNSName, refs(s.NewHostAt), strings.Join(s.PasswordFromSecret, "; "))
	return ctx
}

func (cc *clusterCutover) assessDecommission(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	s := cc.status(ctx, t)
	st := s.State
	if why := cutover.DecommissionUnproven(st); why != "" {
		t.Fatal(why)
	}
	requireProof(t, st)
	soak, err := cutover.CatalogSoak()
	require.NoError(t, err)
	if st.DecommissionedAt != nil {
		ran := st.DecommissionedAt.Sub(*st.ReadyAt)
		cc.run.Figures(t, evidence.Figure{Name: "beersystem on the new Redis before the decommission", Value: ran.Hours(), Unit: "h"})
		assert.GreaterOrEqual(t, ran, soak, "decommissioned %s after the cutover, before the soak time %s", ran.Round(time.Minute), soak)
		assert.Empty(t, s.OldRedis, "old Redis objects are left after the decommission")
		assert.True(t, cutover.Healthy(s.Deployment), "beersystem is not Ready after the decommission")
		cc.run.Note(t, "old Redis idle before the decommission: %s", st.IdleProof)
		return ctx
	}
	age := time.Since(*st.ReadyAt)
	cc.run.Figures(t, evidence.Figure{Name: "beersystem on the new Redis so far", Value: age.Hours(), Unit: "h"})
	if age < soak {
		t.Skipf("old Redis not decommissioned yet: the soak time is not over (cutover at %s, decommission allowed from %s, FR-018 soak time %s)", st.ReadyAt.Format(time.RFC3339), st.ReadyAt.Add(soak).Format(time.RFC3339), soak)
	}
	// A dry run of the runbook's decommission says whether it may go ahead; FR-018
	// is proven only by the decommission itself, with its idle proof.
	res, err := cc.rb.Decommission(ctx, cutover.DecommissionOptions{Soak: soak, NoIdleProof: true})
	require.NoError(t, err, "the old Redis cannot be decommissioned")
	t.Skipf("old Redis not decommissioned yet: ready to decommission %s with conform cutover decommission --old-redis-addr ... (idle proof)", strings.Join(res.Objects, ", "))
	return ctx
}
