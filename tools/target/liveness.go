package target

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/redis-shared/conformance/tools/project"
	"github.com/redis-shared/conformance/tools/waitfor"
)

// FR-010 on a cluster: a Redis that stops answering is restarted by its liveness
// probe, not brought back by someone deleting the pod. The kube target freezes the
// Redis of one container (Hang) and judges, from the pod status and the events the
// kubelet writes, that the SAME pod's container was restarted for a failed liveness
// probe (LivenessRestart).
//
// Why CLIENT PAUSE and not SIGSTOP: redis-server is PID 1 of its container (the
// chart's start script execs it), and the kernel drops SIGSTOP sent to a PID
// namespace's init from inside that namespace, so `kill -STOP 1` from the
// container's own shell does nothing. `CLIENT PAUSE <ms> ALL` makes every client
// command wait, the liveness probe's PING included, and ends by itself after <ms>
// even if this run dies. It is not one of the commands the suite never sends.

// redisContainer is the chart's Redis container in both StatefulSets.
const redisContainer = "redis"

// livenessReason is what the kubelet writes when it kills a container for a failed
// liveness probe: Event reason "Killing" with this in its message.
const (
	livenessKillReason  = "Killing"
	livenessKillMessage = "failed liveness probe"
	// livenessProbeFailed is the Warning the kubelet writes for each failed probe.
	livenessProbeFailed = "Unhealthy"
)

// LivenessRestart is what the platform shows after an instance's container came back.
type LivenessRestart struct {
	Pod       string
	Container string
	// SamePod is true when the pod was created before the freeze: the kubelet
	// restarted the container in place; a newer pod means it was deleted.
	SamePod bool
	// RestartCount is the container's restartCount now.
	RestartCount int
	// LastTerminated describes lastState.terminated when it ended after the freeze.
	LastTerminated string
	// KillEvent is the kubelet's event naming the liveness failure ("" when none).
	KillEvent string
	// ProbeFailures counts the "Liveness probe failed" warnings since the freeze.
	ProbeFailures int
}

// Problems lists why the restart is not one by the liveness probe; none means it is.
func (l LivenessRestart) Problems() []string {
	var out []string
	if !l.SamePod {
		out = append(out, fmt.Sprintf("pod %s was created after the freeze: it was replaced, not restarted in place by the kubelet", l.Pod))
	}
	if l.RestartCount < 1 || l.LastTerminated == "" {
		out = append(out, fmt.Sprintf("container %s of pod %s shows no termination since the freeze (restartCount %d, no lastState.terminated after it)", l.Container, l.Pod, l.RestartCount))
	}
	if l.KillEvent == "" {
		out = append(out, fmt.Sprintf("no %q event for container %s saying it %s since the freeze", livenessKillReason, l.Container, livenessKillMessage))
	}
	return out
}

// JudgeLivenessRestart reads, from a pod and its events, how its container came back
// after a freeze that began at since.
func JudgeLivenessRestart(pod corev1.Pod, events []corev1.Event, container string, since time.Time) LivenessRestart {
	l := LivenessRestart{Pod: pod.Name, Container: container, SamePod: pod.CreationTimestamp.Time.Before(since)}
	if now := containerStatus(pod, container); now != nil {
		l.RestartCount = int(now.RestartCount)
		if t := now.LastTerminationState.Terminated; t != nil && !t.FinishedAt.Time.Before(since) {
			l.LastTerminated = fmt.Sprintf("reason %s, exit code %d, finished %s", t.Reason, t.ExitCode, t.FinishedAt.UTC().Format(time.RFC3339))
		}
	}
	fieldPath := "spec.containers{" + container + "}"
	for _, e := range events {
		if e.InvolvedObject.UID != pod.UID || e.InvolvedObject.FieldPath != fieldPath || eventTime(e).Before(since) {
			continue
		}
		switch {
		case e.Reason == livenessKillReason && strings.Contains(e.Message, livenessKillMessage):
			l.KillEvent = e.Reason + ": " + e.Message
		case e.Reason == livenessProbeFailed && strings.HasPrefix(e.Message, "Liveness probe failed"):
			l.ProbeFailures += max(int(e.Count), 1)
		}
	}
	return l
}

// eventTime is when an event last happened (series, last timestamp or event time).
func eventTime(e corev1.Event) time.Time {
	switch {
	case e.Series != nil && !e.Series.LastObservedTime.IsZero():
		return e.Series.LastObservedTime.Time
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	default:
		return e.CreationTimestamp.Time
	}
}

func containerStatus(p corev1.Pod, name string) *corev1.ContainerStatus {
	for i, c := range p.Status.ContainerStatuses {
		if c.Name == name {
			return &p.Status.ContainerStatuses[i]
		}
	}
	return nil
}

// LivenessJudge is what a target offers when the platform records why an instance
// restarted (the kube target: pod status and kubelet events).
type LivenessJudge interface {
	// LivenessRestart reads how the instance came back after a Hang that began at
	// since.
	LivenessRestart(ctx context.Context, instance string, since time.Time) (LivenessRestart, error)
}

// pauseScript freezes the local Redis for ms milliseconds with the container's own
// redis-cli and password (env var or file, as the chart's liveness script reads it).
// The password never appears on a command line.
func pauseScript(ms int64) string {
	return `[ -f "$REDIS_PASSWORD_FILE" ] && REDIS_PASSWORD="$(cat "$REDIS_PASSWORD_FILE")"; ` +
		`REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -h localhost -p "${REDIS_PORT:-6379}" CLIENT PAUSE ` + strconv.FormatInt(ms, 10) + ` ALL`
}

// unpauseScript ends the freeze early (Revert of a container that did not restart).
const unpauseScript = `[ -f "$REDIS_PASSWORD_FILE" ] && REDIS_PASSWORD="$(cat "$REDIS_PASSWORD_FILE")"; ` +
	`REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -h localhost -p "${REDIS_PORT:-6379}" CLIENT UNPAUSE`

// pauseFor is long enough for the liveness probe to fail failureThreshold times in a
// row (each try lasting up to its timeout), twice over.
func pauseFor(p *corev1.Probe) time.Duration {
	period, timeout, threshold := max(p.PeriodSeconds, 1), max(p.TimeoutSeconds, 1), max(p.FailureThreshold, 1)
	return 2*time.Duration((period+timeout)*threshold)*time.Second + 10*time.Second
}

// Hang freezes the instance's Redis (CLIENT PAUSE ... ALL inside its container) so
// that only its liveness probe can tell; Revert waits for the container to be back
// and the deployment healthy. On a kwok fake node no container and no liveness probe
// run: Unsupported.
func (k *Kube) Hang(ctx context.Context, instance string) (Revert, error) {
	podName, _, err := k.instancePod(ctx, instance)
	if err != nil {
		return nil, fmt.Errorf("hang %s: %w", instance, err)
	}
	pod, err := k.cs.CoreV1().Pods(project.Namespace).Get(ctx, podName, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("hang %s: read pod %s: %w", instance, podName, err)
	}
	if err := k.onRealNode(ctx, *pod); err != nil {
		return nil, err
	}
	var liveness *corev1.Probe
	for _, c := range pod.Spec.Containers {
		if c.Name == redisContainer {
			liveness = c.LivenessProbe
		}
	}
	if liveness == nil {
		return nil, fmt.Errorf("hang %s: container %s of pod %s has no liveness probe: nothing would restart a hung Redis (FR-010)", instance, redisContainer, podName)
	}
	exec, err := k.execer()
	if err != nil {
		return nil, err
	}
	pause := pauseFor(liveness)
	if err := k.execScript(ctx, exec, podName, pauseScript(pause.Milliseconds())); err != nil {
		return nil, fmt.Errorf("hang %s: %w", instance, err)
	}
	return func(ctx context.Context) error {
		restarted := func(ctx context.Context) (bool, error) {
			p, err := k.cs.CoreV1().Pods(project.Namespace).Get(ctx, podName, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			now, was := containerStatus(*p, redisContainer), containerStatus(*pod, redisContainer)
			return now != nil && was != nil && (p.UID != pod.UID || now.RestartCount > was.RestartCount) && now.Ready, nil
		}
		if err := waitfor.Until(ctx, "container "+redisContainer+" of "+podName+" to be restarted and Ready", pause+time.Minute, time.Second, restarted); err != nil {
			// Not restarted: end the freeze before reporting, so Redis serves again.
			_ = k.execScript(ctx, exec, podName, unpauseScript)
			return fmt.Errorf("resume %s: %w", instance, err)
		}
		return k.WaitHealthy(ctx, 2*time.Minute)
	}, nil
}

// LivenessRestart judges how the frozen instance came back: its pod's status and
// the kubelet's events since the freeze.
func (k *Kube) LivenessRestart(ctx context.Context, instance string, since time.Time) (LivenessRestart, error) {
	podName, _, err := k.instancePod(ctx, instance)
	if err != nil {
		return LivenessRestart{}, fmt.Errorf("liveness restart of %s: %w", instance, err)
	}
	pod, err := k.cs.CoreV1().Pods(project.Namespace).Get(ctx, podName, metav1.GetOptions{})
	if err != nil {
		return LivenessRestart{}, fmt.Errorf("liveness restart of %s: read pod %s: %w", instance, podName, err)
	}
	selector := fields.Set{"involvedObject.kind": "Pod", "involvedObject.name": podName}.AsSelector().String()
	events, err := k.cs.CoreV1().Events(project.Namespace).List(ctx, metav1.ListOptions{FieldSelector: selector})
	if err != nil {
		return LivenessRestart{}, fmt.Errorf("liveness restart of %s: list events of pod %s: %w", instance, podName, err)
	}
	return JudgeLivenessRestart(*pod, events.Items, redisContainer, since), nil
}

// onRealNode is Unsupported when the pod runs on a kwok fake node.
func (k *Kube) onRealNode(ctx context.Context, pod corev1.Pod) error {
	if pod.Spec.NodeName == "" {
		return nil
	}
	node, err := k.cs.CoreV1().Nodes().Get(ctx, pod.Spec.NodeName, metav1.GetOptions{})
	if err != nil {
		return nil // a node we may not read is judged by what follows
	}
	if node.Annotations[KwokNodeAnnotation] != "" {
		return Unsupported("kube target: pod %s runs on kwok fake node %s, where no container and no liveness probe run, so a hung Redis cannot be restarted by one; FR-010's liveness restart is exercised on a real cluster (nightly) and its judgement is unit-tested against the pod status and events a kubelet writes (tools/target/testdata/liveness)", pod.Name, pod.Spec.NodeName)
	}
	return nil
}

// execScript runs a shell script in the Redis container of a deployment pod.
func (k *Kube) execScript(ctx context.Context, exec podExecer, pod, script string) error {
	ctx, cancel := context.WithTimeout(ctx, kubeCallTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	if err := exec.Exec(ctx, project.Namespace, pod, redisContainer, []string{"sh", "-c", script}, nil, &stdout, &stderr); err != nil {
		return fmt.Errorf("exec in %s/%s: %w (stderr: %s)", project.Namespace, pod, err, strings.TrimSpace(stderr.String()))
	}
	if out := strings.TrimSpace(stdout.String()); out != "OK" {
		return fmt.Errorf("exec in %s/%s: redis-cli answered %q, want OK", project.Namespace, pod, out)
	}
	return nil
}

// The kube target judges liveness restarts.
var _ LivenessJudge = (*Kube)(nil)
