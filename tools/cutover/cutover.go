// Package cutover is the beersystem cutover runbook (user story 4): it moves the
// beersystem Deployment from its own Redis to redis-shared with planned downtime.
// Every step records its progress in an annotation on the Deployment, so apply is
// idempotent and resumes after an interruption, and rollback restores the recorded
// replicas, the Redis env settings and the ConfigMaps it edited exactly.
package cutover

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/redis-shared/conformance/tools/catalog"
	"github.com/redis-shared/conformance/tools/project"
	"github.com/redis-shared/conformance/tools/waitfor"
)

// StateAnnotation holds the recorded State as JSON on the Deployment.
const StateAnnotation = "redis-shared.io/cutover"

// The steps of apply, in order; Options.AfterStep and errors name them.
const (
	StepRecord    = "record"
	StepScaleDown = "scale-down"
	StepPatch     = "patch"
	StepScaleUp   = "scale-up"
	// StepVerify is apply's data-plane check after the scale-up.
	StepVerify = "verify"
)

// Phases of the recorded state: the last step that completed.
const (
	PhaseRecorded   = "recorded"
	PhaseScaledDown = "scaled-down"
	PhasePatched    = "patched"
	PhaseDone       = "done"
)

// DefaultWaitTimeout is Options.WaitTimeout's default.
const DefaultWaitTimeout = 2 * time.Minute

// Options configure a Runbook. Zero values take the deployment's names (tools/project)
// and DefaultWaitTimeout.
type Options struct {
	Namespace      string
	Deployment     string
	OldRedis       string
	RedisNamespace string
	Secret         string
	SecretKey      string
	NewHost        string
	NewPort        int
	// HostEnv, PortEnv, PasswordEnv name the variables the application reads for
	// Redis; empty ones are guessed from the container's env and envFrom (see
	// GuessSettings).
	HostEnv, PortEnv, PasswordEnv string
	// WaitTimeout bounds each wait for pods to go or become Ready.
	WaitTimeout time.Duration
	// Gate is the optional conformance-report preflight gate.
	Gate Gate
	// Now is the clock (decommission's soak time); nil is time.Now.
	Now func() time.Time
	// Log receives one line per step; nil discards.
	Log io.Writer
	// Until, when StepScaleDown, makes apply stop once beersystem is at zero pods, so
	// that the new Redis can be deployed and checked inside the window (the spec's
	// order); until then the Secret comparison and the report gate wait, and the
	// next apply, which runs the whole preflight, continues. "" runs every step.
	Until string
	// DataPlane is the optional access to the new and old Redis servers.
	DataPlane DataPlane
	// RefuseOtherClients makes other workloads that name the old Redis a NO-GO
	// of the preflight instead of a warning.
	RefuseOtherClients bool
	// BeforeStep, when set, runs before scale-down, patch and scale-up; an error from
	// it counts as a failure of that step (tests inject failures and interruptions).
	BeforeStep func(ctx context.Context, step string) error
}

// State is what the annotation records.
type State struct {
	Phase    string `json:"phase"`
	Replicas int32  `json:"replicas"`
	// Env is the container's complete original env list, so rollback restores it
	// exactly (order included).
	Env []corev1.EnvVar `json:"env"`
	// Settings say where host, port and password lived and how the patch changes them.
	Settings Settings `json:"settings"`
	// ConfigMaps holds the complete original data of each ConfigMap the patch edits,
	// so rollback restores it exactly.
	ConfigMaps   map[string]map[string]string `json:"configMaps,omitempty"`
	ScaledDownAt *time.Time                   `json:"scaledDownAt,omitempty"`
	ReadyAt      *time.Time                   `json:"readyAt,omitempty"`
	// DowntimeSeconds is scale-down to Ready: the evidence of the planned downtime.
	DowntimeSeconds float64 `json:"downtimeSeconds,omitempty"`
	// OldCounts are the old Redis's command counts at OldCountsAt: after the
	// scale-down (OldCountsWhen "scale-down"), or at the first data-plane check when
	// apply had no access to the old Redis ("verify"). Decommission requires no
	// command since.
	OldCounts     CommandCounts `json:"oldCounts,omitempty"`
	OldCountsAt   *time.Time    `json:"oldCountsAt,omitempty"`
	OldCountsWhen string        `json:"oldCountsWhen,omitempty"`
	// DataPlane is the last data-plane check (apply's step 6 or verify); nil: none.
	DataPlane *DataPlaneEvidence `json:"dataPlane,omitempty"`
	// DecommissionedAt is when decommission --confirm started deleting the old Redis.
	DecommissionedAt *time.Time `json:"decommissionedAt,omitempty"`
	// IdleProof says how the old Redis was shown idle before the decommission.
	IdleProof string `json:"idleProof,omitempty"`
}

// Runbook runs the cutover steps against one cluster.
type Runbook struct {
	cs   kubernetes.Interface
	opts Options
}

// New returns a Runbook with the defaults filled in.
func New(cs kubernetes.Interface, opts Options) *Runbook {
	def := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	def(&opts.Namespace, project.App)
	def(&opts.Deployment, project.App)
	def(&opts.OldRedis, project.OldRedis)
	def(&opts.RedisNamespace, project.Namespace)
	def(&opts.Secret, project.AuthSecret)
	def(&opts.SecretKey, project.AuthPasswordKey)
	def(&opts.NewHost, project.MasterDNSName)
	if opts.NewPort == 0 {
		opts.NewPort = project.RedisPort
	}
	if opts.WaitTimeout == 0 {
		opts.WaitTimeout = DefaultWaitTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	return &Runbook{cs: cs, opts: opts}
}

func (r *Runbook) logf(format string, args ...any) {
	fmt.Fprintf(r.opts.Log, format+"\n", args...)
}

func containerIndex(spec *corev1.PodSpec, name string) int {
	for i, c := range spec.Containers {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// ReadState returns the recorded state of the Deployment, nil when there is none.
func ReadState(d *appsv1.Deployment) (*State, error) {
	raw, ok := d.Annotations[StateAnnotation]
	if !ok {
		return nil, nil
	}
	var s State
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		return nil, fmt.Errorf("annotation %s on Deployment %s/%s: %w", StateAnnotation, d.Namespace, d.Name, err)
	}
	return &s, nil
}

func (r *Runbook) getDeployment(ctx context.Context) (*appsv1.Deployment, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	d, err := r.cs.AppsV1().Deployments(r.opts.Namespace).Get(ctx, r.opts.Deployment, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("Deployment %s/%s: %w", r.opts.Namespace, r.opts.Deployment, err)
	}
	return d, nil
}

// update applies change to a fresh copy of the Deployment, retrying on conflicts.
func (r *Runbook) update(ctx context.Context, what string, change func(d *appsv1.Deployment) error) error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		d, err := r.getDeployment(ctx)
		if err != nil {
			return err
		}
		if err := change(d); err != nil {
			return err
		}
		uctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		_, err = r.cs.AppsV1().Deployments(r.opts.Namespace).Update(uctx, d, metav1.UpdateOptions{FieldManager: "conform-cutover"})
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

func (r *Runbook) getConfigMap(ctx context.Context, name string) (*corev1.ConfigMap, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cm, err := r.cs.CoreV1().ConfigMaps(r.opts.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("ConfigMap %s/%s: %w", r.opts.Namespace, name, err)
	}
	return cm, nil
}

// updateConfigMap replaces a ConfigMap's data by change(current data), retrying on
// conflicts.
func (r *Runbook) updateConfigMap(ctx context.Context, name string, change func(map[string]string) map[string]string) error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cm, err := r.getConfigMap(ctx, name)
		if err != nil {
			return err
		}
		cm.Data = change(cm.Data)
		uctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		_, err = r.cs.CoreV1().ConfigMaps(r.opts.Namespace).Update(uctx, cm, metav1.UpdateOptions{FieldManager: "conform-cutover"})
		return err
	})
	if err != nil {
		return fmt.Errorf("update ConfigMap %s/%s: %w", r.opts.Namespace, name, err)
	}
	return nil
}

func setState(d *appsv1.Deployment, s *State) error {
	if s == nil {
		delete(d.Annotations, StateAnnotation)
		return nil
	}
	raw, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	if d.Annotations == nil {
		d.Annotations = map[string]string{}
	}
	d.Annotations[StateAnnotation] = string(raw)
	return nil
}

// waitPodsGone waits until no pod of the Deployment's selector is left.
func (r *Runbook) waitPodsGone(ctx context.Context, d *appsv1.Deployment) error {
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return fmt.Errorf("selector of %s: %w", d.Name, err)
	}
	return r.poll(ctx, "no beersystem pod left", func(ctx context.Context) (bool, error) {
		n, err := r.countPods(ctx, sel)
		return n == 0, err
	})
}

func (r *Runbook) countPods(ctx context.Context, sel labels.Selector) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	pods, err := r.cs.CoreV1().Pods(r.opts.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return 0, fmt.Errorf("list pods: %w", err)
	}
	return len(pods.Items), nil
}

// waitReady waits until the Deployment's current generation has every replica
// updated, Ready and available, and no old pod remains.
func (r *Runbook) waitReady(ctx context.Context) error {
	var last string
	err := r.poll(ctx, "beersystem Ready", func(ctx context.Context) (bool, error) {
		d, err := r.getDeployment(ctx)
		if err != nil {
			return false, err
		}
		last = statusLine(d)
		return healthy(d), nil
	})
	if err != nil {
		return fmt.Errorf("%w (last seen: %s)", err, last)
	}
	return nil
}

func healthy(d *appsv1.Deployment) bool {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	st := d.Status
	return st.ObservedGeneration >= d.Generation && st.Replicas == want &&
		st.UpdatedReplicas == want && st.ReadyReplicas == want && st.AvailableReplicas == want
}

// poll waits for cond (waitfor.Until) within the runbook's WaitTimeout.
func (r *Runbook) poll(ctx context.Context, what string, cond func(context.Context) (bool, error)) error {
	return waitfor.Until(ctx, what, r.opts.WaitTimeout, 250*time.Millisecond, cond)
}

// CatalogSoak is FR-018's soak_time bound from the requirement catalog.
func CatalogSoak() (time.Duration, error) {
	cat, err := catalog.Load()
	if err != nil {
		return 0, fmt.Errorf("catalog: %w", err)
	}
	b, err := cat.Bound("FR-018", "soak_time")
	if err != nil {
		return 0, fmt.Errorf("catalog: %w", err)
	}
	v, err := b.Float()
	if err != nil {
		return 0, fmt.Errorf("catalog: %w", err)
	}
	unit := map[string]time.Duration{"h": time.Hour, "min": time.Minute, "s": time.Second}[b.Unit]
	if unit == 0 {
		return 0, fmt.Errorf("catalog: FR-018 soak_time unit %q not handled", b.Unit)
	}
	return time.Duration(v * float64(unit)), nil
}

// ErrInterrupted marks an apply stopped by its context: nothing was rolled back and
// apply resumes from the recorded state.
var ErrInterrupted = errors.New("interrupted")

// notFound says whether err is a Kubernetes NotFound.
func notFound(err error) bool { return apierrors.IsNotFound(err) }
