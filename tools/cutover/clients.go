package cutover

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// workload is anything that makes pods from a pod spec.
type workload struct {
	Kind, Namespace, Name string
	Spec                  corev1.PodSpec
}

func (w workload) String() string { return Object{w.Kind, w.Namespace, w.Name}.String() }

// listWorkloads lists the Deployments, StatefulSets, DaemonSets and CronJobs of a
// namespace ("" is every namespace), and the Jobs and Pods nothing owns.
func listWorkloads(ctx context.Context, cs kubernetes.Interface, ns string) ([]workload, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var out []workload
	add := func(kind string, meta metav1.ObjectMeta, spec corev1.PodSpec) {
		out = append(out, workload{Kind: kind, Namespace: meta.Namespace, Name: meta.Name, Spec: spec})
	}
	where := ns
	if where == "" {
		where = "all namespaces"
	}
	deps, err := cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list Deployments in %s: %w", where, err)
	}
	for _, d := range deps.Items {
		add("Deployment", d.ObjectMeta, d.Spec.Template.Spec)
	}
	sts, err := cs.AppsV1().StatefulSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list StatefulSets in %s: %w", where, err)
	}
	for _, s := range sts.Items {
		add("StatefulSet", s.ObjectMeta, s.Spec.Template.Spec)
	}
	dss, err := cs.AppsV1().DaemonSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list DaemonSets in %s: %w", where, err)
	}
	for _, d := range dss.Items {
		add("DaemonSet", d.ObjectMeta, d.Spec.Template.Spec)
	}
	cjs, err := cs.BatchV1().CronJobs(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list CronJobs in %s: %w", where, err)
	}
	for _, c := range cjs.Items {
		add("CronJob", c.ObjectMeta, c.Spec.JobTemplate.Spec.Template.Spec)
	}
	jobs, err := cs.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list Jobs in %s: %w", where, err)
	}
	for _, j := range jobs.Items {
		if len(j.OwnerReferences) == 0 {
			add("Job", j.ObjectMeta, j.Spec.Template.Spec)
		}
	}
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list Pods in %s: %w", where, err)
	}
	for _, p := range pods.Items {
		if len(p.OwnerReferences) == 0 {
			add("Pod", p.ObjectMeta, p.Spec)
		}
	}
	return out, nil
}

// ConfigReference is a workload other than beersystem whose configuration names
// the old Redis: it would lose its Redis when the old one is decommissioned.
type ConfigReference struct {
	// Workload is Kind/namespace/name.
	Workload string
	// Where says which setting: "container app env REDIS_URL", "container app args",
	// "container app envFrom ConfigMap shared-settings key REDIS_HOST".
	Where string
	// Match is the name or address found there.
	Match string
}

func (c ConfigReference) String() string {
	return fmt.Sprintf("%s: %s names %s", c.Workload, c.Where, c.Match)
}

// oldRedisNames are the strings that name the old Redis from namespace ns: its
// DNS names and ClusterIPs, and its bare Service name within its own namespace.
type oldRedisNames struct {
	namespace string
	bare      string
	qualified []string
	ips       []string
}

func (r *Runbook) oldRedisNames(ctx context.Context) (oldRedisNames, error) {
	ns, name := r.opts.Namespace, r.opts.OldRedis
	n := oldRedisNames{namespace: ns, bare: name, qualified: []string{
		name + "." + ns + ".svc.cluster.local", name + "." + ns + ".svc", name + "." + ns,
	}}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	svc, err := r.cs.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	switch {
	case notFound(err):
	case err != nil:
		return oldRedisNames{}, fmt.Errorf("old Redis Service %s/%s: %w", ns, name, err)
	default:
		for _, ip := range svc.Spec.ClusterIPs {
			if ip != "" && ip != corev1.ClusterIPNone {
				n.ips = append(n.ips, ip)
			}
		}
	}
	return n, nil
}

// find returns the first name of the old Redis that text contains as a whole
// word, seen from namespace ns; "" when none.
func (n oldRedisNames) find(ns, text string) string {
	for _, q := range n.qualified {
		if containsWord(text, q, isHostChar) {
			return q
		}
	}
	if ns == n.namespace && containsWord(text, n.bare, isHostChar) {
		return n.bare
	}
	for _, ip := range n.ips {
		inIP := func(b byte) bool { return b == '.' || b >= '0' && b <= '9' }
		if strings.Contains(ip, ":") {
			inIP = func(b byte) bool { return b == ':' || isHexDigit(b) }
		}
		if containsWord(text, ip, inIP) {
			return ip
		}
	}
	return ""
}

func isHostChar(b byte) bool {
	return b == '-' || b == '.' || b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

func isHexDigit(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F'
}

// containsWord says whether text holds word with no inWord character right before
// or after it; a single trailing dot (an absolute DNS name) still ends the word.
func containsWord(text, word string, inWord func(byte) bool) bool {
	if word == "" {
		return false
	}
	for from := 0; ; {
		i := strings.Index(text[from:], word)
		if i < 0 {
			return false
		}
		start, end := from+i, from+i+len(word)
		before := start == 0 || !inWord(text[start-1])
		after := end == len(text) || !inWord(text[end]) ||
			text[end] == '.' && (end+1 == len(text) || !inWord(text[end+1]))
		if before && after {
			return true
		}
		from = start + 1
	}
}

// OtherClientsByConfig lists the workloads in every namespace, other than the
// beersystem Deployment and the old Redis itself, whose env values, envFrom
// ConfigMaps, command or args name the old Redis (Service name, DNS name or
// ClusterIP). Secrets are not read: a reference kept only in a Secret is not seen.
func (r *Runbook) OtherClientsByConfig(ctx context.Context) ([]ConfigReference, error) {
	names, err := r.oldRedisNames(ctx)
	if err != nil {
		return nil, err
	}
	ws, err := listWorkloads(ctx, r.cs, "")
	if err != nil {
		return nil, fmt.Errorf("other clients of the old Redis: %w", err)
	}
	cms := r.newConfigMapCache()
	var refs []ConfigReference
	for _, w := range ws {
		if w.Namespace == r.opts.Namespace && (w.Kind == "Deployment" && w.Name == r.opts.Deployment || w.Name == r.opts.OldRedis) {
			continue
		}
		found, err := scanWorkload(ctx, w, names.find, cms)
		if err != nil {
			return nil, fmt.Errorf("other clients of the old Redis: %w", err)
		}
		refs = append(refs, found...)
	}
	return refs, nil
}

// configMapCache reads each ConfigMap once; a missing one has no data.
type configMapCache func(ctx context.Context, ns, name string) (map[string]string, error)

func (r *Runbook) newConfigMapCache() configMapCache {
	cms := map[string]map[string]string{}
	return func(ctx context.Context, ns, name string) (map[string]string, error) {
		k := ns + "/" + name
		if data, ok := cms[k]; ok {
			return data, nil
		}
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		cm, err := r.cs.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
		switch {
		case notFound(err):
			cms[k] = nil
		case err != nil:
			return nil, fmt.Errorf("ConfigMap %s: %w", k, err)
		default:
			cms[k] = cm.Data
		}
		return cms[k], nil
	}
}

// scanWorkload returns, per container, the first place in command, args, env
// values (literal or from a ConfigMap key) and envFrom ConfigMaps whose text find
// matches. An envFrom key that an env entry overrides is not what the container
// gets, so it is not looked at.
func scanWorkload(ctx context.Context, w workload, find func(ns, text string) string, cms configMapCache) ([]ConfigReference, error) {
	var refs []ConfigReference
	for _, c := range slices.Concat(w.Spec.InitContainers, w.Spec.Containers) {
		prefix := "container " + c.Name + " "
		places := []struct{ where, text string }{
			{prefix + "command", strings.Join(c.Command, " ")},
			{prefix + "args", strings.Join(c.Args, " ")},
		}
		envNames := map[string]bool{}
		for _, e := range c.Env {
			envNames[e.Name] = true
			switch vf := e.ValueFrom; {
			case vf == nil:
				places = append(places, struct{ where, text string }{prefix + "env " + e.Name, e.Value})
			case vf.ConfigMapKeyRef != nil:
				data, err := cms(ctx, w.Namespace, vf.ConfigMapKeyRef.Name)
				if err != nil {
					return nil, err
				}
				places = append(places, struct{ where, text string }{
					fmt.Sprintf("%senv %s from ConfigMap %s key %s", prefix, e.Name, vf.ConfigMapKeyRef.Name, vf.ConfigMapKeyRef.Key),
					data[vf.ConfigMapKeyRef.Key]})
			}
		}
		for _, ef := range c.EnvFrom {
			if ef.ConfigMapRef == nil {
				continue
			}
			data, err := cms(ctx, w.Namespace, ef.ConfigMapRef.Name)
			if err != nil {
				return nil, err
			}
			for _, k := range sortedKeys(data) {
				if envNames[ef.Prefix+k] {
					continue
				}
				places = append(places, struct{ where, text string }{
					fmt.Sprintf("%senvFrom ConfigMap %s key %s", prefix, ef.ConfigMapRef.Name, k), data[k]})
			}
		}
		for _, p := range places {
			if m := find(w.Namespace, p.text); m != "" {
				refs = append(refs, ConfigReference{Workload: w.String(), Where: p.where, Match: m})
				break
			}
		}
	}
	return refs, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func joinRefs(refs []ConfigReference) string {
	out := make([]string, len(refs))
	for i, ref := range refs {
		out[i] = ref.String()
	}
	return strings.Join(out, "; ")
}
