package cutover

import (
	"context"
	"fmt"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/redis-shared/conformance/tools/kubeconn"
)

// ClientsetContext opens the cluster of a kubeconfig ("" is $KUBECONFIG or
// ~/.kube/config) on a named context ("" is the current one) with a deadline on
// every request.
func ClientsetContext(kubeconfig, kubeContext string) (kubernetes.Interface, error) {
	// kubeconn bounds every request, a hung exec credential plugin included.
	cfg, err := kubeconn.Load(kubeconfig, kubeContext, kubeconn.DefaultRequestTimeout)
	if err != nil {
		return nil, err
	}
	cs, _, err := kubeconn.Clients(cfg)
	return cs, err
}

// Status is what the cluster says about beersystem's move, read without changing
// anything: the conformance suites judge FR-015..FR-018 from it.
type Status struct {
	// Deployment is beersystem's; nil when it does not exist.
	Deployment *appsv1.Deployment
	// State is the recorded cutover; nil when none.
	State *State
	// NewHostAt and OldRedisAt say where beersystem's configuration (command, args,
	// env, ConfigMaps) names the new Redis's DNS name and the old Redis.
	NewHostAt, OldRedisAt []ConfigReference
	// PasswordFromSecret says where a container takes the replicated Secret's key.
	PasswordFromSecret []string
	// OldRedis lists the old Redis's objects that exist.
	OldRedis []string
}

// Status reads the cutover's status.
func (r *Runbook) Status(ctx context.Context) (Status, error) {
	var s Status
	d, err := r.getDeployment(ctx)
	switch {
	case err != nil && notFound(err):
	case err != nil:
		return s, err
	default:
		s.Deployment = d
		if s.State, err = ReadState(d); err != nil {
			return s, err
		}
	}
	if s.OldRedis, err = r.OldRedisObjects(ctx); err != nil {
		return s, err
	}
	if d == nil {
		return s, nil
	}
	old, err := r.oldRedisNames(ctx)
	if err != nil {
		return s, err
	}
	w := workload{Kind: "Deployment", Namespace: d.Namespace, Name: d.Name, Spec: d.Spec.Template.Spec}
	cms := r.newConfigMapCache()
	if s.OldRedisAt, err = scanWorkload(ctx, w, old.find, cms); err != nil {
		return s, err
	}
	newHost := func(_, text string) string {
		if containsWord(text, r.opts.NewHost, isHostChar) {
			return r.opts.NewHost
		}
		return ""
	}
	if s.NewHostAt, err = scanWorkload(ctx, w, newHost, cms); err != nil {
		return s, err
	}
	for _, c := range slices.Concat(d.Spec.Template.Spec.InitContainers, d.Spec.Template.Spec.Containers) {
		for _, e := range c.Env {
			if vf := e.ValueFrom; vf != nil && vf.SecretKeyRef != nil && vf.SecretKeyRef.Name == r.opts.Secret && vf.SecretKeyRef.Key == r.opts.SecretKey {
				s.PasswordFromSecret = append(s.PasswordFromSecret, fmt.Sprintf("container %s env %s from Secret %s key %s", c.Name, e.Name, r.opts.Secret, r.opts.SecretKey))
			}
		}
		for _, ef := range c.EnvFrom {
			if ef.SecretRef != nil && ef.SecretRef.Name == r.opts.Secret {
				s.PasswordFromSecret = append(s.PasswordFromSecret, fmt.Sprintf("container %s env %s%s from Secret %s (envFrom)", c.Name, ef.Prefix, r.opts.SecretKey, r.opts.Secret))
			}
		}
	}
	return s, nil
}

// SameSecret checks that the auth Secret holds the same password in the Redis
// namespace and in beersystem's (SHA-256, constant time; nothing printed).
func (r *Runbook) SameSecret(ctx context.Context) error { return r.sameSecret(ctx) }

// Healthy says whether every wanted replica of the Deployment's current generation
// is updated, Ready and available.
func Healthy(d *appsv1.Deployment) bool { return healthy(d) }

// PVCVolumes lists the PersistentVolumeClaims a pod spec mounts.
func PVCVolumes(spec corev1.PodSpec) []string {
	var claims []string
	for _, v := range spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			claims = append(claims, v.PersistentVolumeClaim.ClaimName)
		}
	}
	return claims
}
