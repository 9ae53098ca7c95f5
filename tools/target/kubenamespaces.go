package target

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/redis-shared/conformance/tools/probe"
	"github.com/redis-shared/conformance/tools/project"
	"github.com/redis-shared/conformance/tools/waitfor"
)

// FR-003 ("all pods across all namespaces") and FR-017 (beersystem over
// redis-shared-master.redis.svc.cluster.local with the password of its own Secret)
// measured from where the spec says: probe pods in namespaces other than redis,
// WITHOUT the chart's client label, dialling the Services by their DNS names. A
// NetworkPolicy that shuts such pods out makes the check fail and names the policy;
// nothing here works around it.

// ProbeNamespace is the third namespace, which the kube target creates for the run
// (labelled as ours) and deletes afterwards.
const ProbeNamespace = "conformance-probe"

// ownerLabel marks what the suite creates outside the probe pod (its namespace and
// the Secret in it); a leftover is recognised by it.
const (
	ownerLabel      = "app.kubernetes.io/managed-by"
	ownerLabelValue = "conformance-suite"
)

// Bounds of a namespace probe.
const (
	// namespaceGoneTimeout bounds the wait for a Terminating leftover of our
	// namespace before it is made again.
	namespaceGoneTimeout = 2 * time.Minute
)

// ClientNamespace is a vantage point of FR-003 / FR-017: a namespace other than the
// deployment's, whose pods carry no client label.
type ClientNamespace struct {
	Namespace string
	// Created means the target makes the namespace (and a copy of the auth Secret in
	// it, as tofu makes one for beersystem) for the run and deletes both afterwards;
	// otherwise the namespace and its Secret must already be there (beersystem,
	// FR-012a).
	Created bool
}

// ClientNamespaces are the vantage points of FR-003 in order: beersystem (FR-017,
// the Secret tofu copied) and a namespace of the suite's own.
func ClientNamespaces() []ClientNamespace {
	return []ClientNamespace{
		{Namespace: project.App},
		{Namespace: ProbeNamespace, Created: true},
	}
}

// NamespaceReport is what a probe pod in another namespace measured.
type NamespaceReport struct {
	Namespace string
	Pod       string
	// Labels are the pod's labels as created (no client label).
	Labels map[string]string
	// PasswordFrom names the Secret the pod's password env var references.
	PasswordFrom string
	// Master and Replicas are the DNS names the pod dialled (host:port).
	Master, Replicas string
	// Commands are the FR-014 round trips through the master's DNS name.
	Commands probe.CommandsReport
	// Cleanup deleted the keys through the master and counted what is left through
	// the master's and the replicas' DNS names (an answer from each).
	Cleanup probe.Cleanup
	// NetworkPolicies are the NetworkPolicies of the deployment's namespace, by name:
	// the ones to read when a pod of this namespace is shut out.
	NetworkPolicies []string
}

// NamespaceProber is what a target offers when it can measure from pods in other
// namespaces by the Services' DNS names (the kube target). The sandbox's cluster
// network has no namespaces or NetworkPolicies, so it does not implement it.
type NamespaceProber interface {
	// ProbeFromNamespace starts a probe pod in ns.Namespace without the client label,
	// runs the FR-014 round trips under prefix (every key with ttl) against the master
	// by its DNS name, deletes the keys and counts what is left through the master's
	// and the replicas' DNS names, then deletes the pod (and a namespace it made).
	ProbeFromNamespace(ctx context.Context, ns ClientNamespace, prefix string, ttl time.Duration) (NamespaceReport, error)
}

// namespaceProbePodSpec turns the probe pod of the deployment's namespace into one of
// namespace ns: same image, limits and locked-down security context, but WITHOUT the
// chart's client label (an application pod has none) and with the password from the
// auth Secret of ns itself (secretKeyRef reads only the pod's own namespace).
func namespaceProbePodSpec(base corev1.Pod, ns string) corev1.Pod {
	pod := *base.DeepCopy()
	pod.Namespace = ns
	delete(pod.Labels, probeClientLabel)
	pod.Labels[vantageLabel] = ns
	return pod
}

// vantageLabel records on a namespace probe pod which vantage point it stands for.
const vantageLabel = "conformance.redis-shared/vantage"

// ProbeFromNamespace runs the FR-003 / FR-017 measurement from a pod in ns.
func (k *Kube) ProbeFromNamespace(ctx context.Context, ns ClientNamespace, prefix string, ttl time.Duration) (NamespaceReport, error) {
	rep := NamespaceReport{Namespace: ns.Namespace, Master: project.MasterDNSName + ":6379", Replicas: project.ReplicasDNSName + ":6379"}
	if ns.Namespace == project.Namespace {
		return rep, fmt.Errorf("kube target: namespace %s is the deployment's own, not another namespace", ns.Namespace)
	}
	if k.opts.ProbeBinary == "" {
		return rep, Unsupported("kube target: no probe binary given (--probe-bin; make bin/redisprobe builds it)")
	}
	if _, err := os.Stat(k.opts.ProbeBinary); err != nil {
		return rep, fmt.Errorf("kube target: probe binary %s (make bin/redisprobe): %w", k.opts.ProbeBinary, err)
	}
	exec, err := k.execer()
	if err != nil {
		return rep, err
	}
	policies, err := k.networkPolicies(ctx)
	if err != nil {
		return rep, err
	}
	rep.NetworkPolicies = policies
	// The clean-up runs on a context of its own: it must happen after Ctrl-C too.
	var undo []func(context.Context) error
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), probeDeleteTimeout)
		defer cancel()
		for i := len(undo) - 1; i >= 0; i-- {
			_ = undo[i](cctx)
		}
	}()
	if ns.Created {
		remove, err := k.makeProbeNamespace(ctx, ns.Namespace)
		undo = append(undo, remove)
		if err != nil {
			return rep, err
		}
	} else if err := k.secretPresent(ctx, ns.Namespace); err != nil {
		return rep, err
	}
	pod, err := k.startNamespacePod(ctx, exec, ns.Namespace)
	if pod != nil {
		name := pod.Name
		rep.Pod, rep.Labels = name, pod.Labels
		rep.PasswordFrom = ns.Namespace + "/" + project.AuthSecret
		undo = append(undo, func(ctx context.Context) error { return k.deletePod(ctx, ns.Namespace, name) })
	}
	if err != nil {
		return rep, err
	}
	where := fmt.Sprintf("from pod %s/%s", ns.Namespace, rep.Pod)
	commands, cmdErr := k.runInPod(ctx, exec, ns.Namespace, rep.Pod, probe.Request{Kind: probe.KindCommands, Addr: rep.Master, Prefix: prefix, TTL: ttl})
	if commands.Commands != nil {
		rep.Commands = *commands.Commands
	}
	cleanup, cleanErr := k.runInPod(ctx, exec, ns.Namespace, rep.Pod, probe.Request{Kind: probe.KindCleanup, Addr: rep.Master, Prefix: prefix, Addrs: []string{rep.Replicas}})
	if cleanup.Cleanup != nil {
		rep.Cleanup = *cleanup.Cleanup
	}
	if err := errors.Join(cmdErr, cleanErr); err != nil {
		return rep, fmt.Errorf("kube target: %s: %w", where, err)
	}
	return rep, nil
}

// networkPolicies names the NetworkPolicies of the deployment's namespace.
func (k *Kube) networkPolicies(ctx context.Context) ([]string, error) {
	cctx, cancel := context.WithTimeout(ctx, kubeCallTimeout)
	defer cancel()
	list, err := k.cs.NetworkingV1().NetworkPolicies(project.Namespace).List(cctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("kube target: list NetworkPolicies of %s: %w", project.Namespace, err)
	}
	var names []string
	for _, np := range list.Items {
		names = append(names, project.Namespace+"/"+np.Name)
	}
	sort.Strings(names)
	return names, nil
}

// secretPresent checks that ns exists and holds the auth Secret with its key: the
// pod's secretKeyRef would otherwise leave it in CreateContainerConfigError.
func (k *Kube) secretPresent(ctx context.Context, ns string) error {
	cctx, cancel := context.WithTimeout(ctx, kubeCallTimeout)
	defer cancel()
	s, err := k.cs.CoreV1().Secrets(ns).Get(cctx, project.AuthSecret, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("kube target: namespace %s has no Secret %s (FR-012a): its pods have no password to connect with", ns, project.AuthSecret)
	case err != nil:
		return fmt.Errorf("kube target: read Secret %s/%s: %w", ns, project.AuthSecret, err)
	case len(s.Data[project.AuthPasswordKey]) == 0:
		return fmt.Errorf("kube target: Secret %s/%s has no key %s", ns, project.AuthSecret, project.AuthPasswordKey)
	}
	return nil
}

// makeProbeNamespace creates our namespace and a copy of the auth Secret in it (what
// an application namespace is given, as tofu gives beersystem one). A leftover of a
// crashed run (our label) is removed first; a namespace of that name that is not
// ours is refused. The returned undo deletes the namespace (and with it the copy).
func (k *Kube) makeProbeNamespace(ctx context.Context, ns string) (func(context.Context) error, error) {
	nss := k.cs.CoreV1().Namespaces()
	noop := func(context.Context) error { return nil }
	remove := func(ctx context.Context) error {
		err := nss.Delete(ctx, ns, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("kube target: delete namespace %s: %w", ns, err)
		}
		return nil
	}
	old, err := nss.Get(ctx, ns, metav1.GetOptions{})
	switch {
	case err == nil && old.Labels[ownerLabel] != ownerLabelValue:
		return noop, fmt.Errorf("kube target: namespace %s exists and is not the suite's (no label %s=%s): not touched", ns, ownerLabel, ownerLabelValue)
	case err == nil:
		if err := remove(ctx); err != nil {
			return noop, err
		}
		gone := func(ctx context.Context) (bool, error) {
			_, err := nss.Get(ctx, ns, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return true, nil
			}
			return false, err
		}
		if err := waitfor.Until(ctx, "the leftover namespace "+ns+" to be gone", namespaceGoneTimeout, podPollEvery, gone); err != nil {
			return noop, fmt.Errorf("kube target: %w", err)
		}
	case !apierrors.IsNotFound(err):
		return noop, fmt.Errorf("kube target: read namespace %s: %w", ns, err)
	}
	labels := map[string]string{ownerLabel: ownerLabelValue, ProbeLabel: ProbeLabelValue}
	if _, err := nss.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: labels}}, metav1.CreateOptions{}); err != nil {
		return noop, fmt.Errorf("kube target: create namespace %s: %w", ns, err)
	}
	// Pods are admitted only once the namespace's default ServiceAccount exists; the
	// controller manager makes it moments after the namespace.
	saReady := func(ctx context.Context) (bool, error) {
		_, err := k.cs.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, err
	}
	if err := waitfor.Until(ctx, "the default ServiceAccount of namespace "+ns, namespaceGoneTimeout, podPollEvery, saReady); err != nil {
		return remove, fmt.Errorf("kube target: %w", err)
	}
	password, err := k.password(ctx)
	if err != nil {
		return remove, err
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: project.AuthSecret, Namespace: ns, Labels: labels},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{project.AuthPasswordKey: []byte(password)},
	}
	if _, err := k.cs.CoreV1().Secrets(ns).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		return remove, fmt.Errorf("kube target: copy the auth Secret into %s: %w", ns, err)
	}
	return remove, nil
}

// startNamespacePod creates the probe pod in ns, waits until it runs and streams the
// binary in. The pod is returned as soon as it exists, so that it is deleted even
// when it never runs.
func (k *Kube) startNamespacePod(ctx context.Context, exec podExecer, ns string) (*corev1.Pod, error) {
	ctx, cancel := context.WithTimeout(ctx, probeStartTimeout)
	defer cancel()
	set, err := k.cs.AppsV1().StatefulSets(project.Namespace).Get(ctx, project.MasterService, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("kube target: read StatefulSet %s for the probe's image: %w", project.MasterService, err)
	}
	base, err := probePodSpec(set.Spec.Template.Spec, k.probeDir())
	if err != nil {
		return nil, fmt.Errorf("kube target: %w", err)
	}
	spec := namespaceProbePodSpec(base, ns)
	pod, err := k.cs.CoreV1().Pods(ns).Create(ctx, &spec, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("kube target: create a probe pod in %s: %w", ns, err)
	}
	if _, err := k.waitPodRunning(ctx, ns, pod.Name); err != nil {
		return pod, err
	}
	if err := k.uploadInto(ctx, exec, ns, pod.Name); err != nil {
		return pod, err
	}
	return pod, nil
}

// The kube target measures from other namespaces.
var _ NamespaceProber = (*Kube)(nil)
