package target

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilexec "k8s.io/client-go/util/exec"

	"github.com/redis-shared/conformance/tools/exitcode"
	"github.com/redis-shared/conformance/tools/probe"
	"github.com/redis-shared/conformance/tools/waitfor"
)

// podPollEvery is how often a wait on a pod or namespace looks again.
const podPollEvery = 250 * time.Millisecond

// The life of a probe pod in any namespace: wait until it runs, stream the binary in,
// run one request, delete it. The redis namespace's probe pod (kubeprobe.go) and the
// other namespaces' (kubenamespaces.go) go through the same functions.

// execer is the target's exec into pods (the probe pod's, shared).
func (k *Kube) execer() (podExecer, error) {
	k.probe.mu.Lock()
	defer k.probe.mu.Unlock()
	if k.probe.exec != nil {
		return k.probe.exec, nil
	}
	if k.cfg == nil {
		return nil, errors.New("kube target: no REST config to exec into a pod")
	}
	k.probe.exec = &restExecer{cfg: k.cfg, cs: k.cs}
	return k.probe.exec, nil
}

// waitPodRunning waits, within probeStartTimeout, until the pod runs with its
// containers ready; a pod that ended is an error at once.
func (k *Kube) waitPodRunning(ctx context.Context, ns, name string) (*corev1.Pod, error) {
	state := "not seen yet"
	var running *corev1.Pod
	look := func(ctx context.Context) (bool, error) {
		p, err := k.cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return false, nil
		case err != nil:
			return false, fmt.Errorf("read probe pod %s/%s: %w", ns, name, err)
		case p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded:
			return false, fmt.Errorf("probe pod %s/%s ended (%s: %s)", ns, name, p.Status.Phase, p.Status.Reason)
		}
		state = "phase " + string(p.Status.Phase) + waitingReason(*p)
		running = p
		return p.Status.Phase == corev1.PodRunning && podFact(*p).Ready, nil
	}
	var ended error
	ready := func(ctx context.Context) (bool, error) {
		ok, err := look(ctx)
		ended = err
		return ok, err
	}
	if err := waitfor.Until(ctx, "probe pod "+ns+"/"+name+" to run", probeStartTimeout, podPollEvery, ready); err != nil {
		if ended != nil {
			return nil, fmt.Errorf("kube target: %w", ended)
		}
		return nil, fmt.Errorf("kube target: %w (last seen: %s)", err, state)
	}
	return running, nil
}

// waitingReason is the reason a container waits (CreateContainerConfigError when its
// Secret is missing), for the message of a pod that never runs.
func waitingReason(p corev1.Pod) string {
	for _, c := range p.Status.ContainerStatuses {
		if c.State.Waiting != nil && c.State.Waiting.Reason != "" {
			return ", container " + c.Name + " waiting: " + c.State.Waiting.Reason
		}
	}
	return ""
}

// uploadInto streams the probe binary into a pod of namespace ns.
func (k *Kube) uploadInto(ctx context.Context, exec podExecer, ns, pod string) error {
	f, err := os.Open(k.opts.ProbeBinary)
	if err != nil {
		return fmt.Errorf("kube target: probe binary: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("kube target: probe binary: %w", err)
	}
	var stderr bytes.Buffer
	script := uploadScript(k.probePath(), info.Size())
	if err := exec.Exec(ctx, ns, pod, ProbeContainer, []string{"sh", "-c", script}, f, io.Discard, &stderr); err != nil {
		return fmt.Errorf("kube target: stream %s into probe pod %s/%s: %w (stderr: %s)", k.opts.ProbeBinary, ns, pod, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// runInPod runs one request with the probe in ns/pod (the Request as JSON on stdin,
// the Report as JSON on stdout). Exit 1 still carries a report (returned with the
// error); exit 2 means the request was bad.
func (k *Kube) runInPod(ctx context.Context, exec podExecer, ns, pod string, req probe.Request) (probe.Report, error) {
	rep := probe.Report{Kind: req.Kind}
	raw, err := json.Marshal(req)
	if err != nil {
		return rep, fmt.Errorf("kube target: encode the %s request: %w", req.Kind, err)
	}
	ctx, cancel := context.WithTimeout(ctx, req.Budget()+probeExecMargin)
	defer cancel()
	var stdout, stderr bytes.Buffer
	execErr := exec.Exec(ctx, ns, pod, ProbeContainer, []string{k.probePath()}, bytes.NewReader(append(raw, '\n')), &stdout, &stderr)
	what := fmt.Sprintf("redisprobe %s in pod %s/%s", req.Kind, ns, pod)
	var exit utilexec.ExitError
	if execErr != nil && !(errors.As(execErr, &exit) && exit.ExitStatus() == exitcode.Failed) {
		return rep, fmt.Errorf("%s: %w (stderr: %s)", what, execErr, strings.TrimSpace(stderr.String()))
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		return rep, fmt.Errorf("%s: decode its JSON: %w (stderr: %s)", what, err, strings.TrimSpace(stderr.String()))
	}
	if execErr != nil {
		return rep, fmt.Errorf("%s: %s", what, strings.TrimSpace(stderr.String()))
	}
	return rep, nil
}

// deletePod removes a probe pod at once (grace 0).
func (k *Kube) deletePod(ctx context.Context, ns, name string) error {
	grace := int64(0)
	err := k.cs.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &grace})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("kube target: delete probe pod %s/%s: %w", ns, name, err)
	}
	return nil
}
