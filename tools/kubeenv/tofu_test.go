package kubeenv

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gruntwork-io/terratest/modules/terraform"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/redis-shared/conformance/tools/chart"
	"github.com/redis-shared/conformance/tools/project"
	"github.com/redis-shared/conformance/tools/target"
)

var tofuBinary = flag.String("tofu", "", "OpenTofu binary for the tofu apply/destroy test (make test-kube-tofu passes bin/tofu)")

// tofuMirrorEnv names the filesystem provider mirror, as for make test-tofu.
const tofuMirrorEnv = "TOFU_PROVIDER_MIRROR"

// tofuExample is the root module the test applies: the nightly kind CI's.
const tofuExample = "tofu/examples/kind"

// TestTofuApplyDestroy applies tofu/examples/kind with the pinned chart (assembled by
// `make chart`; helm installs it from its folder, no registry) against the
// local control plane through terratest and the real tofu binary and providers (from
// a filesystem mirror), checks through the kube target what tofu made (namespaces,
// both auth Secrets with equal password digests, the Helm release and its
// StatefulSets, the dashboard ConfigMap), then destroys it and checks none is left.
func TestTofuApplyDestroy(t *testing.T) {
	mirror := os.Getenv(tofuMirrorEnv)
	if mirror == "" {
		t.Skip(tofuMirrorEnv + " not set: tofu apply/destroy needs the hashicorp/kubernetes, helm and random providers from a filesystem mirror (no registry here); run `make test-kube-tofu TOFU_PROVIDER_MIRROR=dir`")
	}
	if *binDir == "" || *tofuBinary == "" {
		t.Skip("needs the control-plane binaries and bin/tofu: run `make test-kube-tofu TOFU_PROVIDER_MIRROR=dir` (passes --bin and --tofu)")
	}
	mirror, err := filepath.Abs(mirror)
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(mirror, "registry.opentofu.org", "hashicorp"))
	require.NoError(t, err, "%s=%s has no registry.opentofu.org/hashicorp/ folder", tofuMirrorEnv, mirror)
	_, err = os.Stat(*tofuBinary)
	require.NoError(t, err, "tofu binary (make tofu-binary)")

	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	pinned, err := chart.Ensure(ctx, root)
	require.NoError(t, err, "the pinned chart (make chart)")

	began := time.Now()
	env, err := Start(ctx, Options{BinDir: *binDir, Root: root, Log: testLog{t}})
	require.NoError(t, err, "start the local control plane")
	t.Cleanup(func() { assert.NoError(t, env.Close(), "tear down") })
	require.NoError(t, standInsForTofu(ctx, env, root), "stand-ins")
	up := time.Since(began)

	// tofu writes state, lock file and .terraform next to the code: run on a copy of
	// tofu/ and helm-values/ (the module reads ../helm-values) so the tree stays clean.
	work := t.TempDir()
	for _, dir := range []string{"tofu", "helm-values"} {
		require.NoError(t, copyTree(filepath.Join(root, dir), filepath.Join(work, dir)))
	}
	cliConfig := filepath.Join(work, "mirror.tfrc")
	require.NoError(t, os.WriteFile(cliConfig, []byte(mirrorCLIConfig(mirror)), 0o600))
	opts := &terraform.Options{
		TerraformBinary: *tofuBinary,
		TerraformDir:    filepath.Join(work, tofuExample),
		Vars: map[string]any{
			"kubeconfig_path":    env.Kubeconfig,
			"kubeconfig_context": "kubeenv",
			"chart_path":         pinned.Dir,
		},
		EnvVars: map[string]string{
			// Only the mirror's providers; the machine's own CLI config must not leak in.
			"TF_CLI_CONFIG_FILE":  cliConfig,
			"TF_DATA_DIR":         filepath.Join(work, "tf-data"),
			"TF_PLUGIN_CACHE_DIR": "",
			"TF_IN_AUTOMATION":    "1",
			"CHECKPOINT_DISABLE":  "1",
		},
		NoColor: true,
	}

	cs, err := env.Clientset()
	require.NoError(t, err)
	dyn, err := dynamic.NewForConfig(env.Config)
	require.NoError(t, err)
	kube := target.NewKube(cs, dyn)

	applied := time.Now()
	destroyed := false
	t.Cleanup(func() {
		if !destroyed {
			_, err := terraform.DestroyE(t, opts)
			assert.NoError(t, err, "tofu destroy after a failure")
		}
	})
	applyOut, err := terraform.InitAndApplyE(t, opts)
	require.NoError(t, err, "tofu init and apply of %s", tofuExample)
	applyTook := time.Since(applied)
	secret, err := cs.CoreV1().Secrets(project.Namespace).Get(ctx, project.AuthSecret, metav1.GetOptions{})
	require.NoError(t, err)
	password := string(secret.Data[project.AuthPasswordKey])
	require.NotEmpty(t, password)
	assert.NotContains(t, applyOut, password, "tofu's apply output shows the password")

	// What tofu made, as the kube target sees it.
	inv, err := kube.Inventory(ctx)
	require.NoError(t, err)
	assert.True(t, inv.Namespace.Exists, "namespace %s", project.Namespace)
	own, copied := inv.Secret(project.Namespace), inv.Secret(project.App)
	assert.True(t, own.Exists && own.HasKey, "Secret %s/%s with key %s", project.Namespace, project.AuthSecret, project.AuthPasswordKey)
	assert.True(t, copied.Exists && copied.HasKey, "Secret %s/%s with key %s", project.App, project.AuthSecret, project.AuthPasswordKey)
	assert.True(t, own.Password.Equal(copied.Password), "both Secrets hold the same password (compared by digest)")
	var sets []string
	for _, s := range inv.StatefulSets {
		if s.Release == project.Release {
			sets = append(sets, fmt.Sprintf("%s %d/%d", s.Name, s.Ready, s.Replicas))
		}
	}
	assert.Equal(t, []string{project.MasterService + " 1/1", project.ReplicasService + " 1/1"}, sets, "StatefulSets of the release, Ready/replicas")
	assert.Len(t, inv.LoadBalancers(), 1, "the LAN LoadBalancer Service")
	release, err := helmRelease(ctx, cs)
	require.NoError(t, err)
	assert.Equal(t, "deployed", release, "status of Helm release %s", project.Release)
	_, err = cs.CoreV1().ConfigMaps("monitoring").Get(ctx, project.Release+"-dashboard", metav1.GetOptions{})
	assert.NoError(t, err, "the dashboard ConfigMap")
	dns, err := terraform.OutputE(t, opts, "master_service_dns")
	require.NoError(t, err)
	assert.Equal(t, project.MasterDNSName, dns, "tofu's master_service_dns output")

	destroyedAt := time.Now()
	destroyOut, err := terraform.DestroyE(t, opts)
	destroyed = true
	require.NoError(t, err, "tofu destroy")
	assert.NotContains(t, destroyOut, password, "tofu's destroy output shows the password")
	destroyTook := time.Since(destroyedAt)

	// Nothing of it is left: namespaces (with the Secrets and the release), the dashboard.
	for _, ns := range []string{project.Namespace, project.App} {
		_, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		assert.True(t, apierrors.IsNotFound(err), "namespace %s after destroy: %v", ns, err)
	}
	inv, err = kube.Inventory(ctx)
	require.NoError(t, err)
	assert.False(t, inv.Namespace.Exists)
	assert.False(t, inv.Secret(project.Namespace).Exists || inv.Secret(project.App).Exists, "auth Secrets after destroy")
	assert.Empty(t, inv.StatefulSets, "StatefulSets after destroy")
	release, err = helmRelease(ctx, cs)
	require.NoError(t, err)
	assert.Empty(t, release, "Helm release after destroy")
	_, err = cs.CoreV1().ConfigMaps("monitoring").Get(ctx, project.Release+"-dashboard", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "dashboard ConfigMap after destroy: %v", err)
	require.NoError(t, env.Alive(), "a control-plane component died during the test")
	t.Logf("tofu on the local control plane: set-up %s, init+apply %s, destroy %s, total %s",
		up.Round(time.Millisecond), applyTook.Round(time.Millisecond), destroyTook.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
}

// standInsForTofu applies what the homelab (or kind) has before tofu runs: the fake
// node, MetalLB's pool, the Prometheus operator CRDs, the monitoring namespace for the
// dashboard, and the storage stand-in under the StorageClass name the kind values use.
func standInsForTofu(ctx context.Context, env *Env, root string) error {
	files := []string{"crds/monitoring.coreos.com.yaml", "node.yaml", "metallb.yaml"}
	var paths []string
	for _, f := range files {
		paths = append(paths, filepath.Join(root, FixtureDir, f))
	}
	if err := env.ApplyFiles(ctx, paths...); err != nil {
		return err
	}
	raw, err := os.ReadFile(filepath.Join(root, FixtureDir, "storage.yaml"))
	if err != nil {
		return fmt.Errorf("storage stand-in: %w", err)
	}
	objs, err := ParseObjects(raw)
	if err != nil {
		return fmt.Errorf("storage stand-in: %w", err)
	}
	// kind's local-path-provisioner registers as "standard" (helm-values/kind.yaml).
	for _, o := range objs {
		switch o.GetKind() {
		case "StorageClass":
			o.SetName(kindStorageClass)
		case "PersistentVolume":
			if err := unstructured.SetNestedField(o.Object, kindStorageClass, "spec", "storageClassName"); err != nil {
				return fmt.Errorf("storage stand-in: PersistentVolume %s: %w", o.GetName(), err)
			}
		}
	}
	if err := env.Apply(ctx, objs); err != nil {
		return fmt.Errorf("storage stand-in: %w", err)
	}
	cs, err := env.Clientset()
	if err != nil {
		return err
	}
	_, err = cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "monitoring"}}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create namespace monitoring: %w", err)
	}
	return nil
}

// kindStorageClass is the StorageClass helm-values/kind.yaml asks for.
const kindStorageClass = "standard"

// helmRelease returns the status of the latest stored revision of the release ("" when
// there is none). Helm 3 keeps each revision in a Secret labelled owner=helm.
func helmRelease(ctx context.Context, cs kubernetes.Interface) (string, error) {
	secrets, err := cs.CoreV1().Secrets(project.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "owner=helm,name=" + project.Release})
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("list Helm release Secrets: %w", err)
	}
	status, latest := "", 0
	for _, s := range secrets.Items {
		if v, err := strconv.Atoi(s.Labels["version"]); err == nil && v > latest {
			status, latest = s.Labels["status"], v
		}
	}
	return status, nil
}

// mirrorCLIConfig is the CLI config tofu.mk's tofu-mirror-config writes: providers only
// from the filesystem mirror.
func mirrorCLIConfig(mirror string) string {
	return fmt.Sprintf("provider_installation {\n  filesystem_mirror {\n    path    = %q\n    include = [\"registry.opentofu.org/hashicorp/*\"]\n  }\n}\n", mirror)
}

// copyTree copies the regular files of src into dst, leaving out tofu's working
// files (.terraform, lock files, state) a developer may have next to the code.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if name == ".terraform" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if name == ".terraform.lock.hcl" || strings.HasSuffix(name, ".tfstate") || strings.HasSuffix(name, ".tfstate.backup") || !d.Type().IsRegular() {
			return nil
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), raw, 0o644)
	})
}
