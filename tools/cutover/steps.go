package cutover

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Preflight is the go/no-go gate before apply: the auth Secret in beersystem holds
// the same password as in redis (compared by SHA-256, never printed), the Deployment
// and the old Redis exist, the Redis env names are found, and the optional report
// gate holds. It returns the env names it will change.
func (r *Runbook) Preflight(ctx context.Context) (EnvNames, error) {
	if err := r.Gate(); err != nil {
		return EnvNames{}, err
	}
	if err := r.sameSecret(ctx); err != nil {
		return EnvNames{}, err
	}
	d, err := r.getDeployment(ctx)
	if err != nil {
		return EnvNames{}, err
	}
	st, err := ReadState(d)
	if err != nil {
		return EnvNames{}, err
	}
	// Once cut over, the old Redis may be decommissioned already.
	if st == nil || st.Phase != PhaseDone {
		if _, err := r.oldRedisObjects(ctx); err != nil {
			return EnvNames{}, err
		}
	}
	if st != nil {
		// After the patch the guesses would see the new settings: the record knows.
		return EnvNames{Container: st.Container, Host: st.HostEnv, Port: st.PortEnv, Password: st.PasswordEnv}, nil
	}
	names, err := GuessEnv(d.Spec.Template.Spec.Containers, r.opts.HostEnv, r.opts.PortEnv, r.opts.PasswordEnv)
	if err != nil {
		return EnvNames{}, fmt.Errorf("Deployment %s/%s: %w", d.Namespace, d.Name, err)
	}
	return names, nil
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
	r.logf("preflight: go (Secret %s equal in %s and %s by SHA-256; Deployment and old Redis %s found)", r.opts.Secret, r.opts.RedisNamespace, r.opts.Namespace, r.opts.OldRedis)
	d, err := r.getDeployment(ctx)
	if err != nil {
		return nil, err
	}
	st, err := ReadState(d)
	if err != nil {
		return nil, err
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
	for _, s := range steps {
		if st.Phase != s.from {
			continue
		}
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
	}
	if st.Phase != PhaseDone {
		return st, fmt.Errorf("recorded phase %q unknown", st.Phase)
	}
	// Writing the record bumps the Deployment's generation: wait until the
	// controller has seen it, so the next reader finds it healthy.
	if err := r.waitReady(ctx); err != nil {
		return st, err
	}
	r.logf("cutover done: downtime %.1f s (scale-down to Ready)", st.DowntimeSeconds)
	return st, nil
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

func (r *Runbook) record(ctx context.Context, d *appsv1.Deployment, names EnvNames) (*State, error) {
	i := containerIndex(&d.Spec.Template.Spec, names.Container)
	if i < 0 {
		return nil, fmt.Errorf("container %s not in Deployment %s", names.Container, d.Name)
	}
	replicas := int32(1)
	if d.Spec.Replicas != nil {
		replicas = *d.Spec.Replicas
	}
	st := &State{
		Phase: PhaseRecorded, Container: names.Container, Replicas: replicas,
		Env:     d.Spec.Template.Spec.Containers[i].Env,
		HostEnv: names.Host, PortEnv: names.Port, PasswordEnv: names.Password,
	}
	if err := r.save(ctx, st); err != nil {
		return nil, err
	}
	r.logf("step %s: replicas %d and the env of container %s recorded in %s", StepRecord, replicas, names.Container, StateAnnotation)
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
	return r.waitPodsGone(ctx, d)
}

func (r *Runbook) patch(ctx context.Context, st *State) error {
	names := EnvNames{Container: st.Container, Host: st.HostEnv, Port: st.PortEnv, Password: st.PasswordEnv}
	return r.update(ctx, "patch the Redis env", func(d *appsv1.Deployment) error {
		i := containerIndex(&d.Spec.Template.Spec, st.Container)
		if i < 0 {
			return fmt.Errorf("container %s gone from Deployment %s", st.Container, d.Name)
		}
		c := &d.Spec.Template.Spec.Containers[i]
		c.Env = PatchedEnv(st.Env, names, r.opts.NewHost, r.opts.NewPort, r.opts.Secret, r.opts.SecretKey)
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
	err = r.update(ctx, "restore the recorded Deployment", func(cur *appsv1.Deployment) error {
		i := containerIndex(&cur.Spec.Template.Spec, st.Container)
		if i < 0 {
			return fmt.Errorf("container %s gone from Deployment %s", st.Container, cur.Name)
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
	r.logf("rollback: replicas %d and the original env of container %s restored; beersystem Ready", st.Replicas, st.Container)
	return nil
}

// Verify checks a completed cutover: the record says done, the env points at the
// new Redis with the password from the Secret, and every replica is Ready.
func (r *Runbook) Verify(ctx context.Context) (*State, error) {
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
	i := containerIndex(&d.Spec.Template.Spec, st.Container)
	if i < 0 {
		return st, fmt.Errorf("container %s gone from Deployment %s", st.Container, d.Name)
	}
	names := EnvNames{Container: st.Container, Host: st.HostEnv, Port: st.PortEnv, Password: st.PasswordEnv}
	want := PatchedEnv(st.Env, names, r.opts.NewHost, r.opts.NewPort, r.opts.Secret, r.opts.SecretKey)
	got := d.Spec.Template.Spec.Containers[i].Env
	if !equality.Semantic.DeepEqual(want, got) {
		return st, fmt.Errorf("container %s env is not the cut-over one (%s=%s, %s=%d, %s from Secret %s)", st.Container, names.Host, r.opts.NewHost, names.Port, r.opts.NewPort, names.Password, r.opts.Secret)
	}
	if err := r.waitReady(ctx); err != nil {
		return st, err
	}
	return st, nil
}

// Decommission removes the old Redis objects once the cutover is at least soak old
// and beersystem is healthy. Without confirm it only returns what it would delete.
func (r *Runbook) Decommission(ctx context.Context, soak time.Duration, confirm bool) ([]string, error) {
	st, err := r.Verify(ctx)
	if err != nil {
		return nil, fmt.Errorf("decommission refused: %w", err)
	}
	if st.ReadyAt == nil {
		return nil, errors.New("decommission refused: the record has no cutover time")
	}
	age := r.opts.Now().Sub(*st.ReadyAt)
	if age < soak {
		return nil, fmt.Errorf("decommission refused: the cutover at %s is %s old, the soak time is %s", st.ReadyAt.Format(time.RFC3339), age.Round(time.Second), soak)
	}
	objs, err := r.oldRedisObjects(ctx)
	if err != nil {
		return nil, fmt.Errorf("decommission: %w", err)
	}
	if !confirm {
		return objs, nil
	}
	// Recorded first: from here on a rollback would point beersystem at a Redis
	// that is being removed, so Rollback refuses.
	now := r.opts.Now().UTC()
	st.DecommissionedAt = &now
	// The recorded original env may hold the old password as a literal; with rollback
	// refused it has no use left, so the record keeps the cut-over env instead.
	d, err := r.getDeployment(ctx)
	if err != nil {
		return nil, fmt.Errorf("decommission: %w", err)
	}
	if i := containerIndex(&d.Spec.Template.Spec, st.Container); i >= 0 {
		st.Env = d.Spec.Template.Spec.Containers[i].Env
	}
	if err := r.save(ctx, st); err != nil {
		return nil, fmt.Errorf("decommission: %w", err)
	}
	for _, o := range objs {
		if err := r.deleteObject(ctx, o); err != nil {
			return nil, fmt.Errorf("decommission: %w", err)
		}
	}
	return objs, nil
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
