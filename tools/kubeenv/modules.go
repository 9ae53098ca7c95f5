package kubeenv

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Files taken at run time from the pinned modules' sources in the module cache (the
// same versions bin/ was built from), never copied into the repository.
var (
	// kwok's default stages, as kwokctl configures them: fake nodes initialise and
	// keep their lease; pods become Ready, complete and are deleted.
	kwokStages = []string{
		"kustomize/stage/node/fast/node-initialize.yaml",
		"kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
		"kustomize/stage/pod/fast/pod-ready.yaml",
		"kustomize/stage/pod/fast/pod-complete.yaml",
		"kustomize/stage/pod/fast/pod-delete.yaml",
	}
	metallbCRDDir = "config/crd/bases"
)

// moduleDir asks the go command where a wrapper module's dependency sits in the
// module cache (downloading it when the cache was cleaned).
func (e *Env) moduleDir(ctx context.Context, wrapper, module string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", module)
	cmd.Dir = filepath.Join(e.opts.Root, "tools", "kubeenv", "build", wrapper)
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("locate %s in the module cache (from %s): %w: %s", module, cmd.Dir, err, strings.TrimSpace(stderr.String()))
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", fmt.Errorf("locate %s: the module is not downloaded (run make kube-tools)", module)
	}
	return dir, nil
}

// writeKwokConfig writes kwok's configuration: its default stages, from its source.
func (e *Env) writeKwokConfig() (string, error) {
	dir, err := e.moduleDir(context.Background(), "controlplane", "sigs.k8s.io/kwok")
	if err != nil {
		return "", err
	}
	var cfg bytes.Buffer
	for _, stage := range kwokStages {
		raw, err := os.ReadFile(filepath.Join(dir, stage))
		if err != nil {
			return "", fmt.Errorf("kwok stage: %w", err)
		}
		cfg.WriteString("---\n")
		cfg.Write(raw)
		cfg.WriteString("\n")
	}
	path := filepath.Join(e.Dir, "kwok.yaml")
	if err := os.WriteFile(path, cfg.Bytes(), 0o600); err != nil {
		return "", fmt.Errorf("write kwok config: %w", err)
	}
	return path, nil
}

// kwokCRDs are the kwok CRDs the env serves: ClusterExec, so that a test says what an
// exec into a fake pod runs (locally, on this machine).
var kwokCRDs = []string{"kustomize/crd/bases/kwok.x-k8s.io_clusterexecs.yaml"}

// applyKwokCRDs installs kwok's ClusterExec CRD before kwok starts (it watches it).
func (e *Env) applyKwokCRDs(ctx context.Context) error {
	dir, err := e.moduleDir(ctx, "controlplane", "sigs.k8s.io/kwok")
	if err != nil {
		return err
	}
	var files []string
	for _, crd := range kwokCRDs {
		files = append(files, filepath.Join(dir, crd))
	}
	return e.ApplyFiles(ctx, files...)
}

// applyMetalLBCRDs installs MetalLB's own CRDs (the controller watches all of them)
// and waits until they are served.
func (e *Env) applyMetalLBCRDs(ctx context.Context) error {
	dir, err := e.moduleDir(ctx, "metallb", "go.universe.tf/metallb")
	if err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(dir, metallbCRDDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("MetalLB CRDs in %s: none found (%v)", filepath.Join(dir, metallbCRDDir), err)
	}
	return e.ApplyFiles(ctx, files...)
}
