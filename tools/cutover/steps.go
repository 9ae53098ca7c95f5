package cutover

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Preflight is the go/no-go gate before apply: the auth Secret in beersystem holds
// the same password as in redis (compared by SHA-256, never printed), the Deployment
// and the old Redis exist, the Redis settings are found (env or ConfigMap), the
// optional report gate holds and, when Options.RefuseOtherClients is set, no other
// workload names the old Redis. It returns the settings it will change.
func (r *Runbook) Preflight(ctx context.Context) (Settings, error) {
	d, err := r.getDeployment(ctx)
	if err != nil {
		return Settings{}, err
	}
	st, err := ReadState(d)
	if err != nil {
		return Settings{}, err
	}
	if !r.deferNewRedisChecks(st) {
		if err := r.Gate(); err != nil {
			return Settings{}, err
		}
		if err := r.sameSecret(ctx); err != nil {
			return Settings{}, err
		}
	}
	if d.Spec.Paused && (st == nil || st.Phase != PhaseDone) {
		// Scaling a paused Deployment starts pods from its old template: beersystem
		// would come back on the old settings.
		return Settings{}, fmt.Errorf("Deployment %s/%s is paused: resume it (kubectl rollout resume) before the cutover", d.Namespace, d.Name)
	}
	// Once cut over, the old Redis may be decommissioned already.
	if st == nil || st.Phase != PhaseDone {
		if _, err := r.oldRedisObjects(ctx); err != nil {
			return Settings{}, err
		}
	}
	if r.opts.RefuseOtherClients && (st == nil || st.Phase != PhaseDone) {
		refs, err := r.OtherClientsByConfig(ctx)
		if err != nil {
			return Settings{}, err
		}
		if len(refs) > 0 {
			return Settings{}, fmt.Errorf("other clients of the old Redis (refused by --refuse-other-clients): %s", joinRefs(refs))
		}
	}
	if st != nil {
		// After the patch the guesses would see the new settings: the record knows.
		return st.Settings, nil
	}
	return r.settingsOf(ctx, d)
}

// deferNewRedisChecks says whether the checks of the new Redis (its Secret, the
// report gate) wait for the apply after --until scale-down: nothing is recorded
// yet and this apply stops at zero pods, before the new Redis is used.
func (r *Runbook) deferNewRedisChecks(st *State) bool {
	return r.opts.Until == StepScaleDown && (st == nil || st.Phase == PhaseRecorded)
}

// Gate checks the conformance report when one is configured.
func (r *Runbook) Gate() error {
	if r.opts.Gate.ReportPath == "" {
		return nil
	}
	return r.opts.Gate.Check()
}

func (r *Runbook) sameSecret(ctx context.Context) error {
	sum := func(ns string) ([32]byte, error) {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		s, err := r.cs.CoreV1().Secrets(ns).Get(sctx, r.opts.Secret, metav1.GetOptions{})
		if err != nil {
			return [32]byte{}, fmt.Errorf("Secret %s/%s: %w", ns, r.opts.Secret, err)
		}
		v, ok := s.Data[r.opts.SecretKey]
		if !ok || len(v) == 0 {
			return [32]byte{}, fmt.Errorf("Secret %s/%s has no key %s", ns, r.opts.Secret, r.opts.SecretKey)
		}
		return sha256.Sum256(v), nil
	}
	own, err := sum(r.opts.RedisNamespace)
	if err != nil {
		return err
	}
	theirs, err := sum(r.opts.Namespace)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(own[:], theirs[:]) != 1 {
		return fmt.Errorf("Secret %s: key %s differs between %s and %s (SHA-256)", r.opts.Secret, r.opts.SecretKey, r.opts.RedisNamespace, r.opts.Namespace)
	}
	return nil
}

// Apply runs the cutover from wherever the recorded state says it stopped. A failure
// of scale-down, patch or scale-up rolls back to the recorded state and says so in
// the error; an interruption (ctx done) leaves the state for the next apply.
func (r *Runbook) Apply(ctx context.Context) (*State, error) {
	names, err := r.Preflight(ctx)
	if err != nil {
		return nil, fmt.Errorf("preflight: %w", err)
	}
	d, err := r.getDeployment(ctx)
	if err != nil {
		return nil, err
	}
	st, err := ReadState(d)
	if err != nil {
		return nil, err
	}
	if r.deferNewRedisChecks(st) {
		r.logf("preflight: go for the scale-down (Deployment and old Redis %s found; the Secret and the report gate are checked by the apply that continues)", r.opts.OldRedis)
	} else {
		r.logf("preflight: go (Secret %s equal in %s and %s by SHA-256; Deployment and old Redis %s found)", r.opts.Secret, r.opts.RedisNamespace, r.opts.Namespace, r.opts.OldRedis)
	}
	if st == nil {
		if st, err = r.record(ctx, d, names); err != nil {
			return nil, fmt.Errorf("step %s: %w", StepRecord, err)
		}
	} else {
		r.logf("resume: recorded phase %s", st.Phase)
	}
	steps := []struct {
		name, from, to string
		run            func(context.Context, *State) error
	}{
		{StepScaleDown, PhaseRecorded, PhaseScaledDown, r.scaleDown},
		{StepPatch, PhaseScaledDown, PhasePatched, r.patch},
		{StepScaleUp, PhasePatched, PhaseDone, r.scaleUp},
	}
	if r.opts.Until == StepScaleDown && st.Phase == PhaseScaledDown {
		r.logf("already stopped after step %s: run apply without --until to continue", StepScaleDown)
		return st, nil
	}
	movedNow := false
	for _, s := range steps {
		if st.Phase != s.from {
			continue
		}
		movedNow = movedNow || s.name == StepScaleUp
		err := r.before(ctx, s.name)
		if ctx.Err() != nil {
			return st, fmt.Errorf("before step %s: %w (%w): nothing rolled back; run apply again to resume, or rollback", s.name, ErrInterrupted, ctx.Err())
		}
		if err == nil {
			err = s.run(ctx, st)
		}
		if err == nil {
			st.Phase = s.to
			err = r.save(ctx, st)
		}
		if err != nil {
			return st, r.failed(ctx, s.name, err)
		}
		r.logf("step %s: done", s.name)
		if s.name == r.opts.Until {
			r.logf("stopped after step %s as asked (--until): beersystem is at zero pods and the downtime runs; deploy and check the new Redis, then run apply again to continue", s.name)
			return st, nil
		}
	}
	if st.Phase != PhaseDone {
		return st, fmt.Errorf("recorded phase %q unknown", st.Phase)
	}
	// Writing the record bumps the Deployment's generation: wait until the
	// controller has seen it, so the next reader finds it healthy.
	if err := r.waitReady(ctx); err != nil {
		return st, err
	}
	if st.DecommissionedAt == nil && (movedNow || st.DataPlane == nil) {
		if err := r.verifyDataPlane(ctx, st); err != nil {
			return st, err
		}
	}
	r.logf("cutover done: downtime %.1f s (scale-down to Ready)", st.DowntimeSeconds)
	return st, nil
}

// verifyDataPlane is the data-plane part of apply's step 6: the app's connections
// must show on the new Redis and none be left on the old, else the cutover rolls
// back. Reading a server failing is not the cutover failing: it says so and keeps
// the cutover.
func (r *Runbook) verifyDataPlane(ctx context.Context, st *State) error {
	if !r.opts.DataPlane.Given() {
		r.logf("step %s: data plane not checked (%s): the app's connections on the new Redis and none left on the old are unproven", StepVerify, r.opts.DataPlane.notGivenReason())
		return nil
	}
	d, err := r.getDeployment(ctx)
	if err != nil {
		return err
	}
	ev, err := r.ObserveDataPlane(ctx, d, st)
	if err != nil {
		return fmt.Errorf("step %s: %w; the cutover itself is done: run verify again", StepVerify, err)
	}
	for _, l := range ev.Lines() {
		r.logf("step %s: %s", StepVerify, l)
	}
	if len(ev.Problems) > 0 {
		return r.failed(ctx, StepVerify, fmt.Errorf("data plane: %s", strings.Join(ev.Problems, "; ")))
	}
	r.logf("step %s: done", StepVerify)
	return nil
}

func (r *Runbook) before(ctx context.Context, step string) error {
	if r.opts.BeforeStep == nil {
		return nil
	}
	return r.opts.BeforeStep(ctx, step)
}

// failed rolls back after a failed step and reports both.
func (r *Runbook) failed(ctx context.Context, step string, cause error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("step %s: %w (%w): nothing rolled back; run apply again to resume, or rollback", step, ErrInterrupted, cause)
	}
	r.logf("step %s failed: %v; rolling back", step, cause)
	if err := r.Rollback(ctx); err != nil {
		return fmt.Errorf("step %s failed: %w; automatic rollback failed too: %w", step, cause, err)
	}
	return fmt.Errorf("step %s failed: %w; rolled back automatically to the recorded replicas and Redis settings", step, cause)
}

func (r *Runbook) record(ctx context.Context, d *appsv1.Deployment, set Settings) (*State, error) {
	i := containerIndex(&d.Spec.Template.Spec, set.Container)
	if i < 0 {
		return nil, fmt.Errorf("container %s not in Deployment %s", set.Container, d.Name)
	}
	replicas := int32(1)
	if d.Spec.Replicas != nil {
		replicas = *d.Spec.Replicas
	}
	st := &State{
		Phase: PhaseRecorded, Replicas: replicas,
		Env:      d.Spec.Template.Spec.Containers[i].Env,
		Settings: set,
	}
	for name := range configMapEdits(set, r.opts.NewHost, r.opts.NewPort) {
		cm, err := r.getConfigMap(ctx, name)
		if err != nil {
			return nil, err
		}
		if st.ConfigMaps == nil {
			st.ConfigMaps = map[string]map[string]string{}
		}
		st.ConfigMaps[name] = cm.Data
	}
	if err := r.save(ctx, st); err != nil {
		return nil, err
	}
	what := ""
	for _, name := range sortedKeys(st.ConfigMaps) {
		what += fmt.Sprintf(" and the data of ConfigMap %s", name)
	}
	r.logf("step %s: replicas %d, the env of container %s%s recorded in %s", StepRecord, replicas, set.Container, what, StateAnnotation)
	return st, nil
}

func (r *Runbook) save(ctx context.Context, st *State) error {
	return r.update(ctx, "record state", func(d *appsv1.Deployment) error { return setState(d, st) })
}

func (r *Runbook) scaleDown(ctx context.Context, st *State) error {
	if st.ScaledDownAt == nil {
		now := r.opts.Now().UTC()
		st.ScaledDownAt = &now
	}
	var d *appsv1.Deployment
	err := r.update(ctx, "scale to 0", func(cur *appsv1.Deployment) error {
		zero := int32(0)
		cur.Spec.Replicas = &zero
		d = cur
		return setState(cur, st)
	})
	if err != nil {
		return err
	}
	if err := r.waitPodsGone(ctx, d); err != nil {
		return err
	}
	// No beersystem pod is left: from here on the old Redis should get nothing
	// from beersystem, so this is the baseline of its idleness.
	return r.recordOldCounts(ctx, st, "scale-down")
}

// patch edits the ConfigMaps first, then the env: both are plain sets, so a patch
// run again after an interruption gives the same result.
func (r *Runbook) patch(ctx context.Context, st *State) error {
	for name, keys := range configMapEdits(st.Settings, r.opts.NewHost, r.opts.NewPort) {
		err := r.updateConfigMap(ctx, name, func(data map[string]string) map[string]string {
			if data == nil {
				data = map[string]string{}
			}
			maps.Copy(data, keys)
			return data
		})
		if err != nil {
			return err
		}
	}
	return r.update(ctx, "patch the Redis settings", func(d *appsv1.Deployment) error {
		i := containerIndex(&d.Spec.Template.Spec, st.Settings.Container)
		if i < 0 {
			return fmt.Errorf("container %s gone from Deployment %s", st.Settings.Container, d.Name)
		}
		c := &d.Spec.Template.Spec.Containers[i]
		c.Env = patchedEnv(st.Env, st.Settings, r.opts.NewHost, r.opts.NewPort, r.opts.Secret, r.opts.SecretKey)
		return nil
	})
}

func (r *Runbook) scaleUp(ctx context.Context, st *State) error {
	err := r.update(ctx, "scale up", func(d *appsv1.Deployment) error {
		n := st.Replicas
		d.Spec.Replicas = &n
		return nil
	})
	if err != nil {
		return err
	}
	if err := r.waitReady(ctx); err != nil {
		return err
	}
	now := r.opts.Now().UTC()
	st.ReadyAt = &now
	if st.ScaledDownAt != nil {
		st.DowntimeSeconds = now.Sub(*st.ScaledDownAt).Seconds()
	}
	return nil
}

// Rollback restores the recorded replicas and the container's original env, waits
// until the Deployment is Ready and removes the record. Without a record it does
// nothing and says so.
func (r *Runbook) Rollback(ctx context.Context) error {
	d, err := r.getDeployment(ctx)
	if err != nil {
		return err
	}
	st, err := ReadState(d)
	if err != nil {
		return err
	}
	if st == nil {
		r.logf("rollback: no recorded cutover on %s/%s: nothing to do", r.opts.Namespace, r.opts.Deployment)
		return nil
	}
	if st.DecommissionedAt != nil {
		return fmt.Errorf("rollback refused: the old Redis was decommissioned at %s; beersystem stays on %s", st.DecommissionedAt.Format(time.RFC3339), r.opts.NewHost)
	}
	// A cancelled apply context must not stop the rollback halfway.
	ctx = context.WithoutCancel(ctx)
	// ConfigMaps first: the pods the restored replicas start read them.
	for _, name := range sortedKeys(st.ConfigMaps) {
		data := st.ConfigMaps[name]
		if err := r.updateConfigMap(ctx, name, func(map[string]string) map[string]string { return data }); err != nil {
			return fmt.Errorf("rollback: %w", err)
		}
	}
	err = r.update(ctx, "restore the recorded Deployment", func(cur *appsv1.Deployment) error {
		i := containerIndex(&cur.Spec.Template.Spec, st.Settings.Container)
		if i < 0 {
			return fmt.Errorf("container %s gone from Deployment %s", st.Settings.Container, cur.Name)
		}
		cur.Spec.Template.Spec.Containers[i].Env = st.Env
		n := st.Replicas
		cur.Spec.Replicas = &n
		return setState(cur, nil)
	})
	if err != nil {
		return fmt.Errorf("rollback: %w", err)
	}
	if err := r.waitReady(ctx); err != nil {
		return fmt.Errorf("rollback: %w", err)
	}
	restored := ""
	for _, name := range sortedKeys(st.ConfigMaps) {
		restored += ", the data of ConfigMap " + name
	}
	r.logf("rollback: replicas %d, the original env of container %s%s restored; beersystem Ready", st.Replicas, st.Settings.Container, restored)
	return nil
}

// Verify checks a completed cutover: the record says done, the settings point at
// the new Redis with the password from the Secret, every replica is Ready and, with
// data-plane access, the app's connections are on the new Redis and none on the
// old (recorded in the state). Without data-plane access st.DataPlane stays as it
// was and the caller says that the data plane was not checked.
func (r *Runbook) Verify(ctx context.Context) (*State, error) {
	st, err := r.verifyKube(ctx)
	if err != nil || !r.opts.DataPlane.Given() || st.DecommissionedAt != nil {
		return st, err
	}
	d, err := r.getDeployment(ctx)
	if err != nil {
		return st, err
	}
	ev, err := r.ObserveDataPlane(ctx, d, st)
	if err != nil {
		return st, err
	}
	if len(ev.Problems) > 0 {
		return st, fmt.Errorf("data plane: %s", strings.Join(ev.Problems, "; "))
	}
	return st, nil
}

// verifyKube is Verify's Kubernetes side.
func (r *Runbook) verifyKube(ctx context.Context) (*State, error) {
	d, err := r.getDeployment(ctx)
	if err != nil {
		return nil, err
	}
	st, err := ReadState(d)
	if err != nil {
		return nil, err
	}
	if st == nil || st.Phase != PhaseDone {
		phase := "none"
		if st != nil {
			phase = st.Phase
		}
		return st, fmt.Errorf("no completed cutover recorded on %s/%s (phase %s)", r.opts.Namespace, r.opts.Deployment, phase)
	}
	set := st.Settings
	i := containerIndex(&d.Spec.Template.Spec, set.Container)
	if i < 0 {
		return st, fmt.Errorf("container %s gone from Deployment %s", set.Container, d.Name)
	}
	want := patchedEnv(st.Env, set, r.opts.NewHost, r.opts.NewPort, r.opts.Secret, r.opts.SecretKey)
	got := d.Spec.Template.Spec.Containers[i].Env
	if !equality.Semantic.DeepEqual(want, got) {
		return st, fmt.Errorf("container %s env is not the cut-over one (%s)", set.Container, strings.Join(patchSummary(set, r.opts), ", "))
	}
	for name, keys := range configMapEdits(set, r.opts.NewHost, r.opts.NewPort) {
		cm, err := r.getConfigMap(ctx, name)
		if err != nil {
			return st, err
		}
		for k, v := range keys {
			if cm.Data[k] != v {
				return st, fmt.Errorf("ConfigMap %s key %s is %q, want %q", name, k, cm.Data[k], v)
			}
		}
	}
	if err := r.waitReady(ctx); err != nil {
		return st, err
	}
	return st, nil
}

// DecommissionOptions are decommission's conditions and switches.
type DecommissionOptions struct {
	// Soak is the minimum age of the cutover (FR-018).
	Soak time.Duration
	// Confirm deletes; without it decommission only says what it would delete.
	Confirm bool
	// IgnoreOtherClients goes ahead although other workloads name the old Redis.
	IgnoreOtherClients bool
	// NoIdleProof goes ahead without data-plane access to the old Redis, so
	// without proof that it had no commands since the cutover.
	NoIdleProof bool
}

// Decommissioned is what decommission found and did.
type Decommissioned struct {
	// Objects are deleted (Confirm) or would be.
	Objects []string
	// IdleProof says how the old Redis was shown idle, or that it was not.
	IdleProof string
	// OtherClients are the workloads still naming the old Redis (only when
	// IgnoreOtherClients let decommission go ahead).
	OtherClients []ConfigReference
}

// Decommission removes the old Redis objects once the cutover is at least Soak old,
// beersystem is healthy on the new settings, no other workload names the old Redis
// and the old Redis had no command since the recorded counts (which are at least
// Soak old too). Without Confirm it only returns what it would delete.
func (r *Runbook) Decommission(ctx context.Context, o DecommissionOptions) (Decommissioned, error) {
	var out Decommissioned
	st, err := r.verifyKube(ctx)
	if err != nil {
		return out, fmt.Errorf("decommission refused: %w", err)
	}
	if st.ReadyAt == nil {
		return out, errors.New("decommission refused: the record has no cutover time")
	}
	age := r.opts.Now().Sub(*st.ReadyAt)
	if age < o.Soak {
		return out, fmt.Errorf("decommission refused: the cutover at %s is %s old, the soak time is %s", st.ReadyAt.Format(time.RFC3339), age.Round(time.Second), o.Soak)
	}
	objs, err := r.oldRedisObjects(ctx)
	if err != nil {
		return out, fmt.Errorf("decommission: %w", err)
	}
	refs, err := r.OtherClientsByConfig(ctx)
	if err != nil {
		return out, fmt.Errorf("decommission refused: %w", err)
	}
	if len(refs) > 0 && !o.IgnoreOtherClients {
		return out, fmt.Errorf("decommission refused: other workloads still name the old Redis and would lose it (--ignore-other-clients goes ahead): %s", joinRefs(refs))
	}
	out.OtherClients = refs
	if out.IdleProof, err = r.idleProof(ctx, st, o); err != nil {
		return out, err
	}
	out.Objects = objs
	if !o.Confirm {
		return out, nil
	}
	st.IdleProof = out.IdleProof
	// Recorded first: from here on a rollback would point beersystem at a Redis
	// that is being removed, so Rollback refuses.
	now := r.opts.Now().UTC()
	st.DecommissionedAt = &now
	// The recorded original env may hold the old password as a literal; with rollback
	// refused it has no use left, so the record keeps the cut-over env instead.
	d, err := r.getDeployment(ctx)
	if err != nil {
		return out, fmt.Errorf("decommission: %w", err)
	}
	if i := containerIndex(&d.Spec.Template.Spec, st.Settings.Container); i >= 0 {
		st.Env = d.Spec.Template.Spec.Containers[i].Env
	}
	// The same for the ConfigMaps' original data (the old password may be in it).
	st.ConfigMaps = nil
	if err := r.save(ctx, st); err != nil {
		return out, fmt.Errorf("decommission: %w", err)
	}
	for _, obj := range objs {
		if err := r.deleteObject(ctx, obj); err != nil {
			return out, fmt.Errorf("decommission: %w", err)
		}
	}
	return out, nil
}

// idleProof shows that the old Redis had no command since the recorded counts, and
// that those are at least the soak time old; without access to the old Redis it
// refuses unless NoIdleProof.
func (r *Runbook) idleProof(ctx context.Context, st *State, o DecommissionOptions) (string, error) {
	dp := r.opts.DataPlane
	if dp.Old == nil {
		if !o.NoIdleProof {
			return "", errors.New("decommission refused: no --old-redis-addr given, so nothing shows that the old Redis had no commands since the cutover; give it, or --no-idle-proof to go ahead without that proof")
		}
		return "NOT proven: no data-plane access to the old Redis (--no-idle-proof)", nil
	}
	if st.OldCounts == nil || st.OldCountsAt == nil {
		return "", errors.New("decommission refused: no command counts of the old Redis were recorded (apply and verify ran without --old-redis-addr): run verify with --old-redis-addr, then decommission after the soak time")
	}
	since := r.opts.Now().Sub(*st.OldCountsAt)
	if since < o.Soak {
		return "", fmt.Errorf("decommission refused: the old Redis's command counts were recorded at %s (%s), %s ago; the soak time is %s", st.OldCountsAt.Format(time.RFC3339), st.OldCountsWhen, since.Round(time.Second), o.Soak)
	}
	after, err := ReadCommandCounts(ctx, dp.Old)
	if err != nil {
		return "", fmt.Errorf("decommission refused: old Redis %s: %w", dp.OldAddr, err)
	}
	if n := after.CallsSince(st.OldCounts); n > 0 {
		others := ""
		if clients, err := ListClients(ctx, dp.Old); err == nil {
			byIP, _ := r.podsByIP(ctx)
			var conns []string
			for _, c := range clients {
				if !isObserverConn(c) {
					conns = append(conns, describeConn(c, byIP))
				}
			}
			if len(conns) > 0 {
				others = "; connected now: " + strings.Join(conns, ", ")
			}
		}
		return "", fmt.Errorf("decommission refused: the old Redis %s got %d command(s) since %s (%s)%s", dp.OldAddr, n, st.OldCountsAt.Format(time.RFC3339), st.OldCountsWhen, others)
	}
	return fmt.Sprintf("proven: 0 commands on the old Redis %s since %s (%s)", dp.OldAddr, st.OldCountsAt.Format(time.RFC3339), st.OldCountsWhen), nil
}

func statusLine(d *appsv1.Deployment) string {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	st := d.Status
	return fmt.Sprintf("want %d replicas: %d Ready, %d updated, %d available, %d in all (generation %d observed %d)",
		want, st.ReadyReplicas, st.UpdatedReplicas, st.AvailableReplicas, st.Replicas, d.Generation, st.ObservedGeneration)
}
