package cutover

import (
	"context"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// Plan returns the runbook's steps for the cluster as it is, one line each, and
// changes nothing. A failed preflight is returned as the error after the lines that
// could be worked out. Other clients of the old Redis are listed as warnings.
func (r *Runbook) Plan(ctx context.Context) ([]string, error) {
	o := r.opts
	lines := []string{fmt.Sprintf("cutover plan for Deployment %s/%s", o.Namespace, o.Deployment)}
	set, perr := r.Preflight(ctx)
	if perr != nil {
		lines = append(lines, "0. preflight: NO-GO: "+perr.Error())
		return lines, perr
	}
	d, err := r.getDeployment(ctx)
	if err != nil {
		return lines, err
	}
	st, err := ReadState(d)
	if err != nil {
		return lines, err
	}
	old, err := r.oldRedisObjects(ctx)
	if err != nil && (st == nil || st.Phase != PhaseDone) {
		return lines, err
	}
	gate := "no report gate"
	if o.Gate.ReportPath != "" {
		gate = fmt.Sprintf("report %s passes gate %q", o.Gate.ReportPath, o.Gate.Mode)
	}
	if r.deferNewRedisChecks(st) {
		lines = append(lines, fmt.Sprintf("0. preflight: go for the scale-down (old Redis: %v; Secret %s in %s and %s and %s: checked by the apply that continues after --until %s)", old, o.Secret, o.RedisNamespace, o.Namespace, gate, StepScaleDown))
	} else {
		lines = append(lines, fmt.Sprintf("0. preflight: go (Secret %s key %s equal in %s and %s by SHA-256; old Redis: %v; %s)", o.Secret, o.SecretKey, o.RedisNamespace, o.Namespace, old, gate))
	}
	replicas := int32(1)
	if d.Spec.Replicas != nil {
		replicas = *d.Spec.Replicas
	}
	var c corev1.Container
	if i := containerIndex(&d.Spec.Template.Spec, set.Container); i >= 0 {
		c = d.Spec.Template.Spec.Containers[i]
	}
	objs, err := r.containerObjects(ctx, d.Spec.Template.Spec.Containers)
	if err != nil {
		return lines, err
	}
	if st != nil {
		replicas, c.Env = st.Replicas, st.Env
		for name, data := range st.ConfigMaps {
			objs.configMaps[name] = data
		}
		lines = append(lines, fmt.Sprintf("   recorded state: phase %s (apply resumes after it; the settings below are the recorded originals)", st.Phase))
	}
	lines = append(lines, fmt.Sprintf("   Redis settings of container %s:", set.Container))
	for _, it := range set.roles() {
		lines = append(lines, fmt.Sprintf("     %-8s %s: %s", it.role, it.set.Env, describeSetting(it.set, c, objs, it.role == "password")))
	}
	lines = append(lines, r.otherClientLines(ctx, st)...)
	if st == nil || st.Phase != PhaseDone {
		lines = append(lines, r.connectionLines(ctx, d)...)
	}
	recorded := fmt.Sprintf("replicas %d, the env of container %s", replicas, set.Container)
	for _, name := range sortedKeys(configMapEdits(set, o.NewHost, o.NewPort)) {
		recorded += " and the data of ConfigMap " + name
	}
	lines = append(lines,
		fmt.Sprintf("1. record: %s in annotation %s", recorded, StateAnnotation),
		fmt.Sprintf("2. scale-down: replicas 0, wait up to %s until no pod is left (downtime starts)", o.WaitTimeout),
	)
	if o.Until == StepScaleDown {
		lines = append(lines, fmt.Sprintf("   apply stops here (--until %s): deploy and check the new Redis, then run apply again for 3-5", StepScaleDown))
	}
	lines = append(lines, "3. patch: "+strings.Join(patchSummary(set, o), ", "))
	lines = append(lines, patchNotes(set)...)
	restored := "replicas and env"
	if len(configMapEdits(set, o.NewHost, o.NewPort)) > 0 {
		restored = "replicas, env and ConfigMap data"
	}
	lines = append(lines,
		fmt.Sprintf("4. scale-up: replicas %d, wait up to %s until all are Ready (downtime ends, recorded)", replicas, o.WaitTimeout),
		"5. verify: "+verifyPlan(o.DataPlane),
		fmt.Sprintf("   a failure in 2-5 rolls back to the recorded %s automatically", restored),
		fmt.Sprintf("6. decommission (later, after the soak time, with --confirm): delete %v", old),
	)
	return lines, nil
}

// verifyPlan says what step 5 will check on the data plane.
func verifyPlan(dp DataPlane) string {
	var parts []string
	if dp.New != nil {
		parts = append(parts, fmt.Sprintf("the app's connections on the new Redis %s (CLIENT LIST by pod IP or client name, up to %s)", dp.NewAddr, orDefaultWait(dp.Wait)))
	}
	if dp.Old != nil {
		parts = append(parts, fmt.Sprintf("none left on the old Redis %s, its command counts recorded at the scale-down", dp.OldAddr))
	}
	if len(parts) == 0 {
		return "data plane NOT checked (no --new-redis-addr or --old-redis-addr given): only the pods' Ready state and settings"
	}
	if dp.New == nil || dp.Old == nil {
		parts = append(parts, "the other side NOT checked ("+dp.notGivenReason()+")")
	}
	return strings.Join(parts, "; ")
}

func orDefaultWait(d time.Duration) time.Duration {
	if d == 0 {
		return DefaultDataPlaneWait
	}
	return d
}

// otherClientLines lists the workloads that name the old Redis; once cut over
// they are no longer beersystem's business until decommission.
func (r *Runbook) otherClientLines(ctx context.Context, st *State) []string {
	if st != nil && st.Phase == PhaseDone {
		return nil
	}
	refs, err := r.OtherClientsByConfig(ctx)
	switch {
	case err != nil:
		return []string{"   WARNING: other clients of the old Redis not checked: " + err.Error()}
	case len(refs) == 0:
		return []string{"   other clients of the old Redis: none found (workloads in every namespace: env, envFrom ConfigMaps, command, args; Secrets not read)"}
	}
	lines := []string{fmt.Sprintf("   WARNING: %d other client(s) of the old Redis; they keep using it after the cutover and decommission refuses while any is left:", len(refs))}
	for _, ref := range refs {
		lines = append(lines, "     - "+ref.String())
	}
	return lines
}

// connectionLines lists the old Redis's connections by pod (CLIENT LIST), when
// there is data-plane access to it.
func (r *Runbook) connectionLines(ctx context.Context, d *appsv1.Deployment) []string {
	dp := r.opts.DataPlane
	if dp.Old == nil {
		return []string{"   connections on the old Redis: not checked (no --old-redis-addr given)"}
	}
	conns, err := r.OldRedisConnections(ctx, d)
	if err != nil {
		return []string{"   WARNING: connections on the old Redis not checked: " + err.Error()}
	}
	lines := []string{fmt.Sprintf("   connections on the old Redis %s (CLIENT LIST): %d of the app, %d other(s)", dp.OldAddr, len(conns.App), len(conns.Others))}
	for _, c := range conns.Others {
		lines = append(lines, "     - other: "+c)
	}
	return lines
}

// patchSummary says what the patch sets, one item per setting.
func patchSummary(set Settings, o Options) []string {
	item := func(s Setting, value string) string {
		if s.EditConfigMap {
			return fmt.Sprintf("ConfigMap %s key %s=%s", s.Object, s.Key, value)
		}
		return fmt.Sprintf("%s=%s", s.Env, value)
	}
	return []string{
		item(set.Host, o.NewHost),
		item(set.Port, fmt.Sprint(o.NewPort)),
		fmt.Sprintf("%s from Secret %s key %s (secretKeyRef)", set.Password.Env, o.Secret, o.SecretKey),
	}
}

// patchNotes explains the patch's choices that a reader might not expect.
func patchNotes(set Settings) []string {
	var notes []string
	for _, s := range []Setting{set.Host, set.Port} {
		if s.Source == SourceConfigMap && !s.EditConfigMap {
			notes = append(notes, fmt.Sprintf("   note: ConfigMap %s is also used by %s: it stays as it is and env %s overrides its key %s",
				s.Object, strings.Join(s.SharedWith, ", "), s.Env, s.Key))
		}
	}
	if p := set.Password; p.Source == SourceConfigMap {
		notes = append(notes, fmt.Sprintf("   note: ConfigMap %s key %s keeps the old password (rollback needs it); env %s overrides it; remove the key after the decommission",
			p.Object, p.Key, p.Env))
	}
	return notes
}
