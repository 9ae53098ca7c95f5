package target

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"

	"github.com/redis-shared/conformance/tools/probe"
	"github.com/redis-shared/conformance/tools/project"
)

// PodProber is what the kube target adds for checks about the probe pod itself:
// which pod it is and the address its connections leave from (SC-004 from a pod
// outside the LAN range). Measurements go through Target.Probe.
type PodProber interface {
	// ProbePodIP is the address the probe's connections come from.
	ProbePodIP(ctx context.Context) (string, error)
	// ProbePod names the probe pod; "" when this target has not made one.
	ProbePod() string
	// ProbeStart makes the probe pod ready (pod running, binary in place) and names it.
	ProbeStart(ctx context.Context) (string, error)
}

// The probe pod as the kube target creates it.
const (
	// ProbeLabel marks every probe pod (app.kubernetes.io/name=redisprobe): a leftover of
	// a crashed run is found by it and removed at the next start.
	ProbeLabel      = "app.kubernetes.io/name"
	ProbeLabelValue = "redisprobe"
	// ProbeContainer is the probe pod's only container.
	ProbeContainer = "probe"
	// ProbeDefaultDir is where the binary is streamed (an emptyDir: the root file
	// system is read-only).
	ProbeDefaultDir = "/tmp"
	// probeClientLabel lets the probe through the chart's NetworkPolicy when it only
	// admits labelled clients (networkPolicy.allowExternal=false).
	probeClientLabel = project.Release + "-client"
	// probeLifetime is the pod's activeDeadlineSeconds: the kubelet ends it even when
	// the run that made it crashed before deleting it. One suite run fits in it
	// (SUITES_TIMEOUT is 30m).
	probeLifetime = 30 * time.Minute
	// probeStartTimeout bounds pod scheduling, image start and the binary upload.
	probeStartTimeout = 2 * time.Minute
	// probeExecMargin is added to a measurement's own duration as its exec deadline.
	probeExecMargin = 90 * time.Second
	// probeDeleteTimeout bounds the final delete, which survives Ctrl-C.
	probeDeleteTimeout = 30 * time.Second
)

// ClusterVantageUnsupported is the reason the kube target gives for a client or dial
// from the Cluster vantage point: in-cluster checks go through the probe pod.
const ClusterVantageUnsupported = "kube target: no client from the Cluster vantage point on this machine (the suite runs outside the cluster); the probe pod measures SC-001, SC-006 and FR-014 instead"

// podExecer runs a command in a container of a pod, streaming stdin and capturing the
// outputs; the deadline of ctx bounds it.
type podExecer interface {
	Exec(ctx context.Context, namespace, pod, container string, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error
}

// probeHolder is the kube target's probe pod, created on first use and deleted by
// Close. Its zero value is ready to use.
type probeHolder struct {
	mu    sync.Mutex
	exec  podExecer
	pod   string
	ip    string
	node  string
	err   error
	swept bool
}

// unsupportedVantage answers a data-plane client request of the kube target for a
// vantage point it does not serve from here.
func unsupportedVantage(from Vantage) error {
	if from == Cluster {
		return Unsupported("%s", ClusterVantageUnsupported)
	}
	return ErrKubeDataPlane
}

func (k *Kube) probeDir() string {
	if k.opts.ProbeDir != "" {
		return k.opts.ProbeDir
	}
	return ProbeDefaultDir
}

func (k *Kube) probePath() string { return path.Join(k.probeDir(), "redisprobe") }

// ensureProbe returns the running probe pod with the binary in place, creating it on
// first use. A failure is remembered: every later probe call reports the same cause.
func (k *Kube) ensureProbe(ctx context.Context) (string, error) {
	h := &k.probe
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pod != "" || h.err != nil {
		return h.pod, h.err
	}
	if k.opts.ProbeBinary == "" {
		h.err = Unsupported("kube target: no probe binary given (--probe-bin; make bin/redisprobe builds it)")
		return "", h.err
	}
	if _, err := os.Stat(k.opts.ProbeBinary); err != nil {
		h.err = fmt.Errorf("kube target: probe binary %s (make bin/redisprobe): %w", k.opts.ProbeBinary, err)
		return "", h.err
	}
	if h.exec == nil {
		if k.cfg == nil {
			h.err = errors.New("kube target: no REST config to exec into the probe pod")
			return "", h.err
		}
		h.exec = &restExecer{cfg: k.cfg, cs: k.cs}
	}
	ctx, cancel := context.WithTimeout(ctx, probeStartTimeout)
	defer cancel()
	if err := k.sweepProbes(ctx); err != nil {
		h.err = err
		return "", err
	}
	pod, err := k.createProbePod(ctx)
	if err != nil {
		h.err = err
		return "", err
	}
	h.pod = pod.Name
	ready, err := k.waitProbeRunning(ctx, pod.Name)
	if err != nil {
		h.err = err
		return h.pod, err
	}
	h.ip, h.node = ready.Status.PodIP, ready.Spec.NodeName
	if err := k.uploadProbe(ctx, pod.Name); err != nil {
		h.err = err
		return h.pod, err
	}
	return h.pod, nil
}

// sweepProbes removes probe pods a crashed run left behind (once per target).
func (k *Kube) sweepProbes(ctx context.Context) error {
	if k.probe.swept {
		return nil
	}
	pods := k.cs.CoreV1().Pods(project.Namespace)
	list, err := pods.List(ctx, metav1.ListOptions{LabelSelector: ProbeLabel + "=" + ProbeLabelValue})
	if err != nil {
		return fmt.Errorf("kube target: list leftover probe pods: %w", err)
	}
	grace := int64(0)
	for _, p := range list.Items {
		if err := pods.Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &grace}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("kube target: remove leftover probe pod %s: %w", p.Name, err)
		}
	}
	k.probe.swept = true
	return nil
}

// probePodSpec builds the probe pod from the master StatefulSet's Redis container:
// same image and pull secrets (no registry of ours), the password as an env var from
// the Secret (never on a command line), a read-only root with an emptyDir for the
// binary, and a deadline after which the kubelet ends it whatever happens to us.
func probePodSpec(set corev1.PodSpec, dir string) (corev1.Pod, error) {
	var redis *corev1.Container
	for i, c := range set.Containers {
		if c.Name == "redis" {
			redis = &set.Containers[i]
		}
	}
	if redis == nil && len(set.Containers) > 0 {
		redis = &set.Containers[0]
	}
	if redis == nil || redis.Image == "" {
		return corev1.Pod{}, fmt.Errorf("StatefulSet %s has no Redis container image to start the probe from", project.MasterService)
	}
	deadline := int64(probeLifetime.Seconds())
	grace := int64(0)
	no, yes := false, true
	uid := int64(1001) // the Bitnami image's non-root user
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: "redisprobe-",
			Namespace:    project.Namespace,
			Labels: map[string]string{
				ProbeLabel:                     ProbeLabelValue,
				"app.kubernetes.io/part-of":    "redis-shared-conformance",
				"app.kubernetes.io/managed-by": "conformance-suite",
				probeClientLabel:               "true",
			},
		},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			ActiveDeadlineSeconds:         &deadline,
			TerminationGracePeriodSeconds: &grace,
			AutomountServiceAccountToken:  &no,
			EnableServiceLinks:            &no,
			ImagePullSecrets:              set.ImagePullSecrets,
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot:   &yes,
				RunAsUser:      &uid,
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{{
				Name:            ProbeContainer,
				Image:           redis.Image,
				ImagePullPolicy: redis.ImagePullPolicy,
				// Idle until the suite execs the probe; ends with the pod's deadline.
				Command: []string{"sleep", strconv.FormatInt(deadline, 10)},
				Env: []corev1.EnvVar{{
					Name: probe.PasswordEnv,
					ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
						LocalObjectReference: corev1.LocalObjectReference{Name: project.AuthSecret},
						Key:                  project.AuthPasswordKey,
					}},
				}},
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
					Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("256Mi")},
				},
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: &no,
					ReadOnlyRootFilesystem:   &yes,
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
				VolumeMounts: []corev1.VolumeMount{{Name: "probe", MountPath: dir}},
			}},
			Volumes: []corev1.Volume{{Name: "probe", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
		},
	}, nil
}

func (k *Kube) createProbePod(ctx context.Context) (*corev1.Pod, error) {
	set, err := k.cs.AppsV1().StatefulSets(project.Namespace).Get(ctx, project.MasterService, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("kube target: read StatefulSet %s for the probe's image: %w", project.MasterService, err)
	}
	spec, err := probePodSpec(set.Spec.Template.Spec, k.probeDir())
	if err != nil {
		return nil, fmt.Errorf("kube target: %w", err)
	}
	pod, err := k.cs.CoreV1().Pods(project.Namespace).Create(ctx, &spec, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("kube target: create the probe pod: %w", err)
	}
	return pod, nil
}

// waitProbeRunning waits until the probe pod runs with its container ready.
func (k *Kube) waitProbeRunning(ctx context.Context, name string) (*corev1.Pod, error) {
	return k.waitPodRunning(ctx, project.Namespace, name)
}

// uploadScript reads exactly size bytes from stdin into dest, checks the size and
// makes it executable. A byte count, not end of input, ends the copy: kwok's exec
// (v0.8.0) never closes the command's stdin pipe, and a count does not depend on how
// a runtime passes the end of the stream on. sh, head and wc are in the Bitnami image.
func uploadScript(dest string, size int64) string {
	n := strconv.FormatInt(size, 10)
	return "head -c " + n + " > '" + dest + "' && [ \"$(wc -c < '" + dest + "')\" -eq " + n + " ] && chmod 0755 '" + dest + "'"
}

// uploadProbe streams the static binary into the pod over exec stdin.
func (k *Kube) uploadProbe(ctx context.Context, pod string) error {
	return k.uploadInto(ctx, k.probe.exec, project.Namespace, pod)
}

// runProbe execs the probe with the request as JSON on stdin, bounded by the
// request's budget, and decodes the Report from stdout. Exit 1 still carries a report
// (returned with the error); exit 2 means the kube target built a bad request.
func (k *Kube) runProbe(ctx context.Context, req probe.Request) (probe.Report, error) {
	pod, err := k.ensureProbe(ctx)
	if err != nil {
		return probe.Report{Kind: req.Kind}, err
	}
	rep, err := k.runInPod(ctx, k.probe.exec, project.Namespace, pod, req)
	rep.Vantage = "probe pod " + project.Namespace + "/" + pod
	return rep, err
}

// Probe runs a measurement from a vantage point: from Cluster in the probe pod (the
// redisprobe binary, the request on stdin), from LAN and outside in-process through
// the vantage's dialer (kubevantage.go).
func (k *Kube) Probe(ctx context.Context, from Vantage, req probe.Request) (probe.Report, error) {
	if from != Cluster {
		dial, err := k.vantageDialer(from)
		if err != nil {
			return probe.Report{Kind: req.Kind}, err
		}
		password, err := k.password(ctx)
		if err != nil {
			return probe.Report{Kind: req.Kind}, err
		}
		rep, err := probe.Run(ctx, probe.Env{Dial: dial, Password: password}, req)
		rep.Vantage = "this machine as the " + string(from) + " vantage point"
		return rep, err
	}
	if req.Kind == probe.KindCleanup && k.ProbePod() == "" {
		// Every key the cluster vantage writes goes through the probe pod.
		return probe.Report{Kind: req.Kind}, Unsupported("kube target: no probe pod ran, so no key under %s was written from inside the cluster", req.Prefix)
	}
	if req.Kind == probe.KindDial {
		if _, err := k.ensureProbe(ctx); err != nil {
			return probe.Report{Kind: req.Kind}, err
		}
		if err := k.probeHasPodNetwork(ctx); err != nil {
			return probe.Report{Kind: req.Kind}, err
		}
	}
	return k.runProbe(ctx, req)
}

// KwokNodeAnnotation marks a kwok fake node: no container runs on it and exec runs
// on the machine of the kwok controller.
const KwokNodeAnnotation = "kwok.x-k8s.io/node"

// probeHasPodNetwork is Unsupported when the probe pod runs on a kwok fake node.
func (k *Kube) probeHasPodNetwork(ctx context.Context) error {
	k.probe.mu.Lock()
	pod, nodeName := k.probe.pod, k.probe.node
	k.probe.mu.Unlock()
	if nodeName == "" {
		return nil
	}
	nctx, cancel := context.WithTimeout(ctx, kubeCallTimeout)
	defer cancel()
	node, err := k.cs.CoreV1().Nodes().Get(nctx, nodeName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("kube target: read node %s of probe pod %s: %w", nodeName, pod, err)
	case node.Annotations[KwokNodeAnnotation] != "":
		return Unsupported("kube target: probe pod %s runs on kwok fake node %s: there is no pod network (a local control plane has no data path) and exec runs on the kwok controller's machine, so nothing can connect from the pod's IP; a pod's refusal at the LoadBalancer is checked only on a real cluster", pod, nodeName)
	}
	return nil
}

// ProbeStart makes the probe pod ready and names it.
func (k *Kube) ProbeStart(ctx context.Context) (string, error) { return k.ensureProbe(ctx) }

// ProbePodIP returns the address the probe's connections leave from, creating the
// pod when needed; Unsupported when the pod has no pod network (kwok fake node).
func (k *Kube) ProbePodIP(ctx context.Context) (string, error) {
	if _, err := k.ensureProbe(ctx); err != nil {
		return "", err
	}
	if err := k.probeHasPodNetwork(ctx); err != nil {
		return "", err
	}
	k.probe.mu.Lock()
	defer k.probe.mu.Unlock()
	if k.probe.ip == "" {
		return "", fmt.Errorf("kube target: probe pod %s has no IP", k.probe.pod)
	}
	return k.probe.ip, nil
}

// ProbePod names the probe pod, "" when none was created.
func (k *Kube) ProbePod() string {
	k.probe.mu.Lock()
	defer k.probe.mu.Unlock()
	return k.probe.pod
}

// closeProbe deletes the probe pod (grace 0) on a context of its own, so that it
// runs after Ctrl-C too.
func (k *Kube) closeProbe() error {
	k.probe.mu.Lock()
	defer k.probe.mu.Unlock()
	if k.probe.pod == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), probeDeleteTimeout)
	defer cancel()
	grace := int64(0)
	err := k.cs.CoreV1().Pods(project.Namespace).Delete(ctx, k.probe.pod, metav1.DeleteOptions{GracePeriodSeconds: &grace})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("kube target: delete probe pod %s: %w", k.probe.pod, err)
	}
	k.probe.pod, k.probe.ip = "", ""
	k.probe.err = errors.New("kube target: closed")
	return nil
}

// restExecer execs through the API server: WebSocket first, SPDY when the server
// (or a proxy in between) does not upgrade to WebSocket.
type restExecer struct {
	cfg *rest.Config
	cs  kubernetes.Interface
}

func (e *restExecer) Exec(ctx context.Context, namespace, pod, container string, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error {
	req := e.cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: container, Command: cmd,
			Stdin: stdin != nil, Stdout: true, Stderr: true,
		}, scheme.ParameterCodec)
	spdy, err := remotecommand.NewSPDYExecutor(e.cfg, http.MethodPost, req.URL())
	if err != nil {
		return fmt.Errorf("exec into %s/%s: %w", namespace, pod, err)
	}
	ws, err := remotecommand.NewWebSocketExecutor(e.cfg, http.MethodGet, req.URL().String())
	if err != nil {
		return fmt.Errorf("exec into %s/%s: %w", namespace, pod, err)
	}
	exec, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return fmt.Errorf("exec into %s/%s: %w", namespace, pod, err)
	}
	return exec.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: stdin, Stdout: stdout, Stderr: stderr})
}

// The kube target tells about its probe pod.
var _ PodProber = (*Kube)(nil)
