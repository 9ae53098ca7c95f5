package kubeenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/redis-shared/conformance/tools/chart"
	"github.com/redis-shared/conformance/tools/project"
	"github.com/redis-shared/conformance/tools/render"
	"github.com/redis-shared/conformance/tools/values"
	"github.com/redis-shared/conformance/tools/waitfor"
)

// FixtureDir holds the manifests of the stand-ins, relative to the repository root.
const FixtureDir = "fixtures/kube"

// fixtureFiles in apply order (Apply itself puts namespaces and CRDs first).
var fixtureFiles = []string{
	"crds/monitoring.coreos.com.yaml",
	"node.yaml",
	"storage.yaml",
	"metallb.yaml",
	"tofu-equivalent.yaml",
	"beersystem-old-redis.yaml",
}

// Deployment says what Deploy put on the cluster.
type Deployment struct {
	// Chart names the rendered chart: name@version (module sum).
	Chart string
	// Objects is the number of chart objects applied.
	Objects int
	// Took is the time from the first apply until everything was ready.
	Took time.Duration
}

// Deploy puts the deployment under test on the env as the homelab has it: the
// stand-ins (fake node, local-path StorageClass with static volumes, MetalLB pool,
// Prometheus operator CRDs, old beersystem Redis), the tofu-equivalent objects
// (namespaces, the auth Secret in redis and beersystem with one generated password)
// and the pinned Bitnami chart (helm-values/chart.lock, assembled by `make chart`)
// rendered with the project's homelab values, so the checks judge the objects the
// homelab gets. kwok runs no containers: the pods only look Ready; the tests put a
// loopback redis-server behind them. It waits until both Redis pods are Ready, their
// PVCs Bound and the LAN Service has its address.
func (e *Env) Deploy(ctx context.Context) (Deployment, error) {
	began := time.Now()
	var files []string
	for _, f := range fixtureFiles {
		files = append(files, filepath.Join(e.opts.Root, FixtureDir, f))
	}
	if err := e.ApplyFiles(ctx, files...); err != nil {
		return Deployment{}, fmt.Errorf("deploy stand-ins: %w", err)
	}
	if err := e.CreateAuthSecrets(ctx); err != nil {
		return Deployment{}, err
	}
	vals, err := values.LoadLayered(e.opts.Root, values.LayeringHomelab)
	if err != nil {
		return Deployment{}, fmt.Errorf("deploy: %w", err)
	}
	pinned, err := chart.Ensure(ctx, e.opts.Root)
	if err != nil {
		return Deployment{}, fmt.Errorf("deploy: pinned chart (make chart): %w", err)
	}
	manifests, err := render.Manifests(ctx, pinned.Dir, vals, render.Options{})
	if err != nil {
		return Deployment{}, fmt.Errorf("deploy %s: %w", pinned, err)
	}
	objs, err := ParseObjects(render.Join(manifests))
	if err != nil {
		return Deployment{}, fmt.Errorf("deploy rendered chart: %w", err)
	}
	if err := e.Apply(ctx, objs); err != nil {
		return Deployment{}, fmt.Errorf("deploy rendered chart: %w", err)
	}
	if err := e.WaitDeployed(ctx, 2*time.Minute); err != nil {
		return Deployment{}, err
	}
	d := Deployment{Chart: pinned.String(), Objects: len(objs), Took: time.Since(began)}
	fmt.Fprintf(e.opts.Log, "kubeenv: deployed %d objects of %s and the stand-ins; ready after %s\n", d.Objects, d.Chart, d.Took.Round(time.Millisecond))
	return d, nil
}

// CreateAuthSecrets writes the Secret redis-shared-auth with one generated password
// into redis and beersystem, as tofu does. The password is never returned or logged.
func (e *Env) CreateAuthSecrets(ctx context.Context) error {
	var raw [24]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return fmt.Errorf("generate password: %w", err)
	}
	password := hex.EncodeToString(raw[:])
	cs, err := e.Clientset()
	if err != nil {
		return err
	}
	for _, ns := range []string{project.Namespace, project.App} {
		if err := e.PutAuthSecret(ctx, cs.CoreV1().Secrets(ns), password); err != nil {
			return err
		}
	}
	return nil
}

// PutAuthSecret creates or replaces the auth Secret through secrets.
func (e *Env) PutAuthSecret(ctx context.Context, secrets secretWriter, password string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: project.AuthSecret, Labels: map[string]string{"app.kubernetes.io/managed-by": "kubeenv"}},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{project.AuthPasswordKey: []byte(password)},
	}
	_, err := secrets.Create(ctx, s, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		_, err = secrets.Update(ctx, s, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("write Secret %s: %w", project.AuthSecret, err)
	}
	return nil
}

type secretWriter interface {
	Create(ctx context.Context, s *corev1.Secret, opts metav1.CreateOptions) (*corev1.Secret, error)
	Update(ctx context.Context, s *corev1.Secret, opts metav1.UpdateOptions) (*corev1.Secret, error)
}

// WaitDeployed waits until two Redis pods are Ready, every PVC in redis is Bound
// and the LAN Service has an ingress address.
func (e *Env) WaitDeployed(ctx context.Context, timeout time.Duration) error {
	cs, err := e.Clientset()
	if err != nil {
		return err
	}
	ns := project.Namespace
	state := "not looked at yet"
	deployed := func(ctx context.Context) (bool, error) {
		var err error
		if state, err = deployState(ctx, cs, ns); err != nil || state == "" {
			return state == "", err
		}
		return false, e.alive()
	}
	if err := waitfor.Until(ctx, "the deployment", timeout, 250*time.Millisecond, deployed); err != nil {
		return fmt.Errorf("%w (last seen: %s)", err, state)
	}
	return nil
}

// deployState says what is not ready yet; "" when everything is.
func deployState(ctx context.Context, cs kubernetes.Interface, ns string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=redis-shared"})
	if err != nil {
		return "", fmt.Errorf("list pods in %s: %w", ns, err)
	}
	ready, terminating := 0, 0
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			terminating++
			continue
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				ready++
			}
		}
	}
	if ready != 2 || terminating > 0 {
		return fmt.Sprintf("%d of 2 Redis pods Ready, %d terminating", ready, terminating), nil
	}
	pvcs, err := cs.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", fmt.Errorf("list PVCs in %s: %w", ns, err)
	}
	for _, pvc := range pvcs.Items {
		if pvc.Status.Phase != corev1.ClaimBound {
			return fmt.Sprintf("PVC %s is %s", pvc.Name, pvc.Status.Phase), nil
		}
	}
	svc, err := cs.CoreV1().Services(ns).Get(ctx, project.LANService, metav1.GetOptions{})
	if err != nil {
		return fmt.Sprintf("Service %s: %v", project.LANService, err), nil
	}
	if len(svc.Status.LoadBalancer.Ingress) == 0 {
		return fmt.Sprintf("Service %s has no LoadBalancer ingress yet", project.LANService), nil
	}
	// The EndpointSlice controller follows pod readiness a moment later.
	slices, err := cs.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=" + project.MetricsService})
	if err != nil {
		return "", fmt.Errorf("list EndpointSlices of %s: %w", project.MetricsService, err)
	}
	endpoints := 0
	for _, sl := range slices.Items {
		for _, ep := range sl.Endpoints {
			if ep.Conditions.Ready == nil || *ep.Conditions.Ready {
				endpoints += len(ep.Addresses)
			}
		}
	}
	if endpoints != ready {
		return fmt.Sprintf("Service %s has %d ready endpoints for %d Ready pods", project.MetricsService, endpoints, ready), nil
	}
	return "", nil
}
