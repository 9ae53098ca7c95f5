package cutover

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Where a Redis setting of the container comes from.
const (
	SourceLiteral   = "literal"
	SourceConfigMap = "configMap"
	SourceSecret    = "secret"
	SourceOther     = "other"
	SourceUnset     = "unset"
)

// How the setting reaches the container: an env entry or a whole ConfigMap/Secret.
const (
	ViaEnv     = "env"
	ViaEnvFrom = "envFrom"
)

// Setting says where one Redis setting of the container lives before the cutover
// and how the patch changes it.
type Setting struct {
	// Env is the variable the application reads.
	Env    string `json:"env"`
	Source string `json:"source"`
	Via    string `json:"via,omitempty"`
	// Object and Key name the ConfigMap or Secret and its key.
	Object string `json:"object,omitempty"`
	Key    string `json:"key,omitempty"`
	// EditConfigMap: the patch sets the ConfigMap key rather than an env entry.
	EditConfigMap bool `json:"editConfigMap,omitempty"`
	// SharedWith lists the other workloads that use the ConfigMap; when any does,
	// the patch overrides the setting in env instead of editing their ConfigMap.
	SharedWith []string `json:"sharedWith,omitempty"`
}

// Settings are the container's three Redis settings.
type Settings struct {
	Container string  `json:"container"`
	Host      Setting `json:"host"`
	Port      Setting `json:"port"`
	Password  Setting `json:"password"`
}

// envObjects is what the container's envFrom and valueFrom refer to: each
// ConfigMap's data and each Secret's key names (never its values).
type envObjects struct {
	configMaps map[string]map[string]string
	secretKeys map[string][]string
}

// resolve finds where the container's variable name comes from, with Kubernetes'
// precedence: an env entry over envFrom, the last env entry and the last envFrom
// source that defines it.
func resolve(c corev1.Container, objs envObjects, name string) Setting {
	for _, e := range slices.Backward(c.Env) {
		if e.Name != name {
			continue
		}
		s := Setting{Env: name, Via: ViaEnv}
		switch vf := e.ValueFrom; {
		case vf == nil:
			s.Source = SourceLiteral
		case vf.ConfigMapKeyRef != nil:
			s.Source, s.Object, s.Key = SourceConfigMap, vf.ConfigMapKeyRef.Name, vf.ConfigMapKeyRef.Key
		case vf.SecretKeyRef != nil:
			s.Source, s.Object, s.Key = SourceSecret, vf.SecretKeyRef.Name, vf.SecretKeyRef.Key
		default:
			s.Source = SourceOther
		}
		return s
	}
	for _, ef := range slices.Backward(c.EnvFrom) {
		key, ok := strings.CutPrefix(name, ef.Prefix)
		if !ok {
			continue
		}
		switch {
		case ef.ConfigMapRef != nil:
			if _, has := objs.configMaps[ef.ConfigMapRef.Name][key]; has {
				return Setting{Env: name, Source: SourceConfigMap, Via: ViaEnvFrom, Object: ef.ConfigMapRef.Name, Key: key}
			}
		case ef.SecretRef != nil:
			if slices.Contains(objs.secretKeys[ef.SecretRef.Name], key) {
				return Setting{Env: name, Source: SourceSecret, Via: ViaEnvFrom, Object: ef.SecretRef.Name, Key: key}
			}
		}
	}
	return Setting{Env: name, Source: SourceUnset}
}

// envNames lists every variable the container gets, env entries first, then the
// keys of its envFrom sources with their prefixes.
func envNames(c corev1.Container, objs envObjects) []string {
	var names []string
	add := func(n string) {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	for _, e := range c.Env {
		add(e.Name)
	}
	for _, ef := range c.EnvFrom {
		switch {
		case ef.ConfigMapRef != nil:
			for _, k := range slices.Sorted(maps.Keys(objs.configMaps[ef.ConfigMapRef.Name])) {
				add(ef.Prefix + k)
			}
		case ef.SecretRef != nil:
			for _, k := range objs.secretKeys[ef.SecretRef.Name] {
				add(ef.Prefix + k)
			}
		}
	}
	return names
}

// GuessSettings picks, in the containers, the variables for host, port and
// password: the configured names, else the first name containing REDIS and HOST,
// PORT or PASSWORD, among env entries and the keys of envFrom ConfigMaps and
// Secrets. The container is the first that has any of them.
func GuessSettings(containers []corev1.Container, objs envObjects, host, port, password string) (Settings, error) {
	for _, c := range containers {
		h, p, pw := host, port, password
		for _, n := range envNames(c, objs) {
			up := strings.ToUpper(n)
			if !strings.Contains(up, "REDIS") {
				continue
			}
			switch {
			case h == "" && strings.Contains(up, "HOST"):
				h = n
			case p == "" && strings.Contains(up, "PORT"):
				p = n
			case pw == "" && strings.Contains(up, "PASSWORD"):
				pw = n
			}
		}
		s := Settings{Container: c.Name}
		found := false
		for _, it := range []struct {
			name string
			into *Setting
		}{{h, &s.Host}, {p, &s.Port}, {pw, &s.Password}} {
			*it.into = Setting{Env: it.name, Source: SourceUnset}
			if it.name != "" {
				*it.into = resolve(c, objs, it.name)
				found = found || it.into.Source != SourceUnset
			}
		}
		if !found {
			continue
		}
		if s.Host.Source == SourceUnset || s.Port.Source == SourceUnset || s.Password.Source == SourceUnset {
			return Settings{}, fmt.Errorf("container %s: Redis settings not all found (host %q, port %q, password %q): set them", c.Name, h, p, pw)
		}
		return s, nil
	}
	return Settings{}, fmt.Errorf("no container has Redis settings (names containing REDIS and HOST/PORT/PASSWORD in env or envFrom ConfigMaps/Secrets, or %q/%q/%q)", host, port, password)
}

// decideEdits sets EditConfigMap on host and port when they come from a ConfigMap
// no other workload uses: the operator then finds the new address where the old
// one was. A shared ConfigMap is left alone (editing it would move the other
// workloads on their next restart) and the setting is overridden in env. The
// password always becomes an env secretKeyRef.
func decideEdits(s *Settings, usersOf func(configMap string) []string) {
	for _, set := range []*Setting{&s.Host, &s.Port} {
		set.EditConfigMap, set.SharedWith = false, nil
		if set.Source != SourceConfigMap {
			continue
		}
		set.SharedWith = usersOf(set.Object)
		set.EditConfigMap = len(set.SharedWith) == 0
	}
}

// roles pairs each setting with its role name, in the order plans show them.
func (s Settings) roles() []struct {
	role string
	set  Setting
} {
	return []struct {
		role string
		set  Setting
	}{{"host", s.Host}, {"port", s.Port}, {"password", s.Password}}
}

// patchedEnv returns env with host and port set to literals unless their ConfigMap
// is edited, and the password taken from the Secret by secretKeyRef; entries keep
// their place, missing ones are appended (an env entry overrides envFrom).
func patchedEnv(env []corev1.EnvVar, s Settings, host string, port int, secret, key string) []corev1.EnvVar {
	want := map[string]corev1.EnvVar{}
	var order []string
	set := func(e corev1.EnvVar) {
		want[e.Name] = e
		order = append(order, e.Name)
	}
	if !s.Host.EditConfigMap {
		set(corev1.EnvVar{Name: s.Host.Env, Value: host})
	}
	if !s.Port.EditConfigMap {
		set(corev1.EnvVar{Name: s.Port.Env, Value: fmt.Sprint(port)})
	}
	set(corev1.EnvVar{Name: s.Password.Env, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key,
	}}})
	out := make([]corev1.EnvVar, 0, len(env)+len(order))
	seen := map[string]bool{}
	for _, e := range env {
		if w, ok := want[e.Name]; ok {
			out = append(out, w)
			seen[e.Name] = true
			continue
		}
		out = append(out, e)
	}
	for _, n := range order {
		if !seen[n] {
			out = append(out, want[n])
		}
	}
	return out
}

// configMapEdits returns, per ConfigMap, the keys the patch sets.
func configMapEdits(s Settings, host string, port int) map[string]map[string]string {
	edits := map[string]map[string]string{}
	for _, it := range []struct {
		set   Setting
		value string
	}{{s.Host, host}, {s.Port, fmt.Sprint(port)}} {
		if !it.set.EditConfigMap {
			continue
		}
		if edits[it.set.Object] == nil {
			edits[it.set.Object] = map[string]string{}
		}
		edits[it.set.Object][it.set.Key] = it.value
	}
	return edits
}

// containerObjects reads the ConfigMaps and Secrets the containers refer to in
// env and envFrom. A missing one counts as empty (Kubernetes would not start a
// pod that needs it, unless it is optional).
func (r *Runbook) containerObjects(ctx context.Context, containers []corev1.Container) (envObjects, error) {
	objs := envObjects{configMaps: map[string]map[string]string{}, secretKeys: map[string][]string{}}
	var cms, secrets []string
	for _, c := range containers {
		for _, e := range c.Env {
			if vf := e.ValueFrom; vf != nil && vf.ConfigMapKeyRef != nil {
				cms = append(cms, vf.ConfigMapKeyRef.Name)
			}
		}
		for _, ef := range c.EnvFrom {
			switch {
			case ef.ConfigMapRef != nil:
				cms = append(cms, ef.ConfigMapRef.Name)
			case ef.SecretRef != nil:
				secrets = append(secrets, ef.SecretRef.Name)
			}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for _, name := range cms {
		if _, done := objs.configMaps[name]; done {
			continue
		}
		cm, err := r.cs.CoreV1().ConfigMaps(r.opts.Namespace).Get(ctx, name, metav1.GetOptions{})
		switch {
		case notFound(err):
			objs.configMaps[name] = nil
		case err != nil:
			return envObjects{}, fmt.Errorf("ConfigMap %s/%s: %w", r.opts.Namespace, name, err)
		default:
			objs.configMaps[name] = cm.Data
		}
	}
	for _, name := range secrets {
		if _, done := objs.secretKeys[name]; done {
			continue
		}
		s, err := r.cs.CoreV1().Secrets(r.opts.Namespace).Get(ctx, name, metav1.GetOptions{})
		switch {
		case notFound(err):
			objs.secretKeys[name] = nil
		case err != nil:
			return envObjects{}, fmt.Errorf("Secret %s/%s: %w", r.opts.Namespace, name, err)
		default:
			objs.secretKeys[name] = slices.Sorted(maps.Keys(s.Data))
		}
	}
	return objs, nil
}

// configMapUsers lists the workloads in the namespace, other than the beersystem
// Deployment, whose pods use the ConfigMap (env, envFrom or a volume).
func (r *Runbook) configMapUsers(ctx context.Context, name string) ([]string, error) {
	ws, err := listWorkloads(ctx, r.cs, r.opts.Namespace)
	if err != nil {
		return nil, err
	}
	var users []string
	for _, w := range ws {
		if w.Kind == "Deployment" && w.Name == r.opts.Deployment {
			continue
		}
		if slices.Contains(configMapsOf(w.Spec), name) {
			users = append(users, w.String())
		}
	}
	return users, nil
}

// configMapsOf lists the ConfigMaps a pod spec uses.
func configMapsOf(spec corev1.PodSpec) []string {
	var names []string
	for _, c := range slices.Concat(spec.InitContainers, spec.Containers) {
		for _, e := range c.Env {
			if vf := e.ValueFrom; vf != nil && vf.ConfigMapKeyRef != nil {
				names = append(names, vf.ConfigMapKeyRef.Name)
			}
		}
		for _, ef := range c.EnvFrom {
			if ef.ConfigMapRef != nil {
				names = append(names, ef.ConfigMapRef.Name)
			}
		}
	}
	for _, v := range spec.Volumes {
		if v.ConfigMap != nil {
			names = append(names, v.ConfigMap.Name)
		}
		if v.Projected != nil {
			for _, src := range v.Projected.Sources {
				if src.ConfigMap != nil {
					names = append(names, src.ConfigMap.Name)
				}
			}
		}
	}
	return names
}

// settingsOf resolves the Deployment's Redis settings and decides the edits.
func (r *Runbook) settingsOf(ctx context.Context, d *appsv1.Deployment) (Settings, error) {
	objs, err := r.containerObjects(ctx, d.Spec.Template.Spec.Containers)
	if err != nil {
		return Settings{}, err
	}
	s, err := GuessSettings(d.Spec.Template.Spec.Containers, objs, r.opts.HostEnv, r.opts.PortEnv, r.opts.PasswordEnv)
	if err != nil {
		return Settings{}, fmt.Errorf("Deployment %s/%s: %w", d.Namespace, d.Name, err)
	}
	users := map[string][]string{}
	for _, set := range []Setting{s.Host, s.Port} {
		if set.Source != SourceConfigMap {
			continue
		}
		if _, done := users[set.Object]; done {
			continue
		}
		if users[set.Object], err = r.configMapUsers(ctx, set.Object); err != nil {
			return Settings{}, err
		}
	}
	decideEdits(&s, func(cm string) []string { return users[cm] })
	return s, nil
}

// describeSetting shows where a setting lives and, unless it is the password or a
// Secret, its value; objs may lack the object (then no value is shown).
func describeSetting(set Setting, c corev1.Container, objs envObjects, secret bool) string {
	var where, value string
	switch set.Source {
	case SourceLiteral:
		where = "env literal"
		for _, e := range slices.Backward(c.Env) {
			if e.Name == set.Env {
				value = e.Value
				break
			}
		}
	case SourceConfigMap:
		where = fmt.Sprintf("ConfigMap %s key %s (%s)", set.Object, set.Key, set.Via)
		value = objs.configMaps[set.Object][set.Key]
	case SourceSecret:
		return fmt.Sprintf("Secret %s key %s (%s)", set.Object, set.Key, set.Via)
	case SourceOther:
		return "valueFrom (neither ConfigMap nor Secret)"
	default:
		return "not set"
	}
	if secret {
		note := " (not shown)"
		if set.Source == SourceConfigMap {
			note = " (not shown; a password belongs in a Secret: the cutover takes it from one)"
		}
		return where + note
	}
	return fmt.Sprintf("%s = %q", where, value)
}
