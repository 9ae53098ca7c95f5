package cutover

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// Plan returns the runbook's steps for the cluster as it is, one line each, and
// changes nothing. A failed preflight is returned as the error after the lines that
// could be worked out.
func (r *Runbook) Plan(ctx context.Context) ([]string, error) {
	o := r.opts
	lines := []string{fmt.Sprintf("cutover plan for Deployment %s/%s", o.Namespace, o.Deployment)}
	names, perr := r.Preflight(ctx)
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
	lines = append(lines, fmt.Sprintf("0. preflight: go (Secret %s key %s equal in %s and %s by SHA-256; old Redis: %v; %s)", o.Secret, o.SecretKey, o.RedisNamespace, o.Namespace, old, gate))
	replicas := int32(1)
	if d.Spec.Replicas != nil {
		replicas = *d.Spec.Replicas
	}
	var env []corev1.EnvVar
	if i := containerIndex(&d.Spec.Template.Spec, names.Container); i >= 0 {
		env = d.Spec.Template.Spec.Containers[i].Env
	}
	if st != nil {
		replicas, env = st.Replicas, st.Env
		lines = append(lines, fmt.Sprintf("   recorded state: phase %s (apply resumes after it)", st.Phase))
	}
	lines = append(lines,
		fmt.Sprintf("   Redis env of container %s: host %s=%s, port %s=%s, password %s=%s",
			names.Container, names.Host, describe(env, names.Host, false), names.Port, describe(env, names.Port, false), names.Password, describe(env, names.Password, true)),
		fmt.Sprintf("1. record: replicas %d and the env of container %s in annotation %s", replicas, names.Container, StateAnnotation),
		fmt.Sprintf("2. scale-down: replicas 0, wait up to %s until no pod is left (downtime starts)", o.WaitTimeout),
		fmt.Sprintf("3. patch: %s=%s, %s=%d, %s from Secret %s key %s (secretKeyRef)", names.Host, o.NewHost, names.Port, o.NewPort, names.Password, o.Secret, o.SecretKey),
		fmt.Sprintf("4. scale-up: replicas %d, wait up to %s until all are Ready (downtime ends, recorded)", replicas, o.WaitTimeout),
		"   a failure in 2-4 rolls back to the recorded replicas and env automatically",
		fmt.Sprintf("5. decommission (later, after the soak time, with --confirm): delete %v", old),
	)
	return lines, nil
}

// describe shows an env var's source; a password value is never shown.
func describe(env []corev1.EnvVar, name string, secret bool) string {
	for _, e := range env {
		if e.Name != name {
			continue
		}
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			return fmt.Sprintf("secretKeyRef %s/%s", e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key)
		case e.ValueFrom != nil:
			return "valueFrom (not a Secret)"
		case secret:
			return "literal (not shown)"
		default:
			return fmt.Sprintf("%q", e.Value)
		}
	}
	return "(not set)"
}
