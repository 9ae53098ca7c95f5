// Package chart pins and assembles the real Bitnami redis chart. The Go module proxy
// serves the github.com/bitnami/charts repository as a Go module; helm-values/chart.lock
// names the module version, its h1 sum and the chart versions. Ensure fetches it with
// `go mod download` (cached in the module cache), checks the sum and Chart.yaml, and
// copies the chart with its dependencies (common) into bin/chart/ (git-ignored), where
// the helm SDK loads it offline. Nothing of the chart is committed.
package chart

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/dirhash"
	"sigs.k8s.io/yaml"
)

// LockFile is the pin, relative to the project root.
const LockFile = "helm-values/chart.lock"

// BuildDir is where assembled charts go, relative to the project root (git-ignored).
const BuildDir = "bin/chart"

// downloadTimeout bounds `go mod download` (12 MB; about 3 s warm from the proxy).
const downloadTimeout = 5 * time.Minute

// ErrPin is a pin that does not match what was fetched (wrong sum or chart version).
var ErrPin = errors.New("chart pin mismatch")

// Lock is helm-values/chart.lock.
type Lock struct {
	Module       string       `json:"module"`
	Version      string       `json:"version"`
	Sum          string       `json:"sum"`
	Chart        string       `json:"chart"`
	ChartVersion string       `json:"chartVersion"`
	AppVersion   string       `json:"appVersion"`
	Dependencies []Dependency `json:"dependencies"`
}

// Dependency is a chart of the same module copied into the chart's charts/ folder.
type Dependency struct {
	Path    string `json:"path"`
	Version string `json:"version"`
}

// Pinned is an assembled, verified chart.
type Pinned struct {
	Lock Lock
	// Dir is the assembled chart folder (Chart.yaml, templates/, charts/common).
	Dir string
	// Name and Version are what the chart's Chart.yaml says.
	Name    string
	Version string
	// DirSum is the h1 hash of the assembled folder, re-checked on every Ensure.
	DirSum string
}

// String names the chart for reports: name@version (module sum).
func (p Pinned) String() string {
	return fmt.Sprintf("%s@%s (%s@%s %s)", p.Name, p.Version, p.Lock.Module, p.Lock.Version, p.Lock.Sum)
}

// ReadLock reads and checks the pin file.
func ReadLock(path string) (Lock, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Lock{}, fmt.Errorf("read chart pin: %w", err)
	}
	var lock Lock
	if err := yaml.UnmarshalStrict(raw, &lock); err != nil {
		return Lock{}, fmt.Errorf("chart pin %s: %w", path, err)
	}
	for field, v := range map[string]string{"module": lock.Module, "version": lock.Version, "sum": lock.Sum, "chart": lock.Chart, "chartVersion": lock.ChartVersion} {
		if strings.TrimSpace(v) == "" {
			return Lock{}, fmt.Errorf("chart pin %s: %s is empty", path, field)
		}
	}
	if !strings.HasPrefix(lock.Sum, "h1:") {
		return Lock{}, fmt.Errorf("chart pin %s: sum %q is not an h1: hash", path, lock.Sum)
	}
	for _, rel := range append([]string{lock.Chart}, depPaths(lock)...) {
		if filepath.IsAbs(rel) || strings.Contains(rel, "..") {
			return Lock{}, fmt.Errorf("chart pin %s: path %q must stay inside the module", path, rel)
		}
	}
	return lock, nil
}

func depPaths(lock Lock) []string {
	out := make([]string, 0, len(lock.Dependencies))
	for _, d := range lock.Dependencies {
		out = append(out, d.Path)
	}
	return out
}

// Ensure returns the pinned chart of the project at root, assembling it when the
// build folder lacks it. An assembled folder is re-hashed every time, so a changed
// file is noticed; a sum or version that differs from the pin is ErrPin.
func Ensure(ctx context.Context, root string) (Pinned, error) {
	lock, err := ReadLock(filepath.Join(root, LockFile))
	if err != nil {
		return Pinned{}, err
	}
	return EnsureLock(ctx, lock, filepath.Join(root, BuildDir))
}

// EnsureLock is Ensure with an explicit pin and build folder.
func EnsureLock(ctx context.Context, lock Lock, buildDir string) (Pinned, error) {
	dest := filepath.Join(buildDir, assemblyName(lock))
	if p, err := readAssembled(lock, dest); err == nil {
		return p, nil
	}
	moduleDir, err := download(ctx, lock)
	if err != nil {
		return Pinned{}, err
	}
	if err := assemble(lock, moduleDir, buildDir, dest); err != nil {
		return Pinned{}, err
	}
	return readAssembled(lock, dest)
}

// assemblyName is one folder per pin, so a new pin never reuses an old assembly.
func assemblyName(lock Lock) string {
	h := strings.NewReplacer("/", "_", "+", "-", "=", "").Replace(strings.TrimPrefix(lock.Sum, "h1:"))
	return fmt.Sprintf("%s-%s-%s", filepath.Base(lock.Chart), lock.ChartVersion, h[:12])
}

const stampFile = "assembled.json"

type stamp struct {
	Sum    string `json:"sum"`
	DirSum string `json:"dirSum"`
}

// readAssembled checks an assembled folder: stamp written for this pin, the folder's
// hash unchanged, Chart.yaml at the pinned version.
func readAssembled(lock Lock, dest string) (Pinned, error) {
	raw, err := os.ReadFile(filepath.Join(dest, stampFile))
	if err != nil {
		return Pinned{}, err
	}
	var st stamp
	if err := json.Unmarshal(raw, &st); err != nil {
		return Pinned{}, fmt.Errorf("assembled chart %s: stamp: %w", dest, err)
	}
	if st.Sum != lock.Sum {
		return Pinned{}, fmt.Errorf("assembled chart %s is of module sum %s, pin says %s: %w", dest, st.Sum, lock.Sum, ErrPin)
	}
	chartDir := filepath.Join(dest, filepath.Base(lock.Chart))
	dirSum, err := dirhash.HashDir(chartDir, "chart", dirhash.Hash1)
	if err != nil {
		return Pinned{}, fmt.Errorf("hash assembled chart %s: %w", chartDir, err)
	}
	if dirSum != st.DirSum {
		return Pinned{}, fmt.Errorf("assembled chart %s changed since it was assembled (hash %s, was %s)", chartDir, dirSum, st.DirSum)
	}
	name, version, err := checkChartYAML(lock, chartDir)
	if err != nil {
		return Pinned{}, err
	}
	return Pinned{Lock: lock, Dir: chartDir, Name: name, Version: version, DirSum: dirSum}, nil
}

// checkChartYAML reads only the Chart.yaml files (loading the whole chart costs more
// than everything else here): the chart's and each dependency's version.
func checkChartYAML(lock Lock, chartDir string) (string, string, error) {
	meta, err := chartMetadata(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return "", "", err
	}
	if meta.Version != lock.ChartVersion {
		return "", "", fmt.Errorf("chart %s: Chart.yaml version %s, pin %s says %s: %w", chartDir, meta.Version, LockFile, lock.ChartVersion, ErrPin)
	}
	if lock.AppVersion != "" && meta.AppVersion != lock.AppVersion {
		return "", "", fmt.Errorf("chart %s: Chart.yaml appVersion %s, pin says %s: %w", chartDir, meta.AppVersion, lock.AppVersion, ErrPin)
	}
	for _, d := range lock.Dependencies {
		name := filepath.Base(d.Path)
		dep, err := chartMetadata(filepath.Join(chartDir, "charts", name, "Chart.yaml"))
		if err != nil {
			return "", "", fmt.Errorf("chart %s: dependency %s: %w", chartDir, name, err)
		}
		if d.Version != "" && dep.Version != d.Version {
			return "", "", fmt.Errorf("chart %s: dependency %s is %s, pin says %s: %w", chartDir, name, dep.Version, d.Version, ErrPin)
		}
	}
	return meta.Name, meta.Version, nil
}

type metadata struct {
	Name       string `json:"name"`
	Version    string `json:"version"`
	AppVersion string `json:"appVersion"`
}

func chartMetadata(path string) (metadata, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return metadata{}, fmt.Errorf("read chart metadata: %w", err)
	}
	var m metadata
	if err := yaml.Unmarshal(raw, &m); err != nil {
		return metadata{}, fmt.Errorf("chart metadata %s: %w", path, err)
	}
	if m.Name == "" || m.Version == "" {
		return metadata{}, fmt.Errorf("chart metadata %s: no name or version", path)
	}
	return m, nil
}

type downloadInfo struct {
	Dir   string
	Sum   string
	Error string
}

// download runs `go mod download -json` outside any module (so go.mod and go.sum are
// never touched) and checks the sum it reports against the pin, then re-hashes the
// extracted folder the way `go mod verify` does.
func download(ctx context.Context, lock Lock) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, downloadTimeout)
	defer cancel()
	tmp, err := os.MkdirTemp("", "chart-download-")
	if err != nil {
		return "", fmt.Errorf("chart download: %w", err)
	}
	defer os.RemoveAll(tmp)
	target := lock.Module + "@" + lock.Version
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", target)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GO111MODULE=on", "GOFLAGS=-mod=mod", "GOWORK=off")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var info downloadInfo
	if err := json.Unmarshal(stdout.Bytes(), &info); err != nil || info.Error != "" || runErr != nil {
		detail := strings.Join(strings.Fields(info.Error+" "+stderr.String()), " ")
		if detail == "" && runErr != nil {
			detail = runErr.Error()
		}
		return "", fmt.Errorf("go mod download %s: %s", target, detail)
	}
	if info.Sum != lock.Sum {
		return "", fmt.Errorf("go mod download %s: sum %s, pin %s says %s: %w", target, info.Sum, LockFile, lock.Sum, ErrPin)
	}
	got, err := dirhash.HashDir(info.Dir, target, dirhash.Hash1)
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", info.Dir, err)
	}
	if got != lock.Sum {
		return "", fmt.Errorf("module folder %s hashes to %s, pin says %s: %w", info.Dir, got, lock.Sum, ErrPin)
	}
	return info.Dir, nil
}

// assemble copies the chart and its dependencies into a temporary folder next to dest
// and renames it into place, so parallel callers never see half a chart.
func assemble(lock Lock, moduleDir, buildDir, dest string) error {
	if err := os.MkdirAll(buildDir, 0o755); err != nil {
		return fmt.Errorf("chart build folder: %w", err)
	}
	tmp, err := os.MkdirTemp(buildDir, ".assemble-")
	if err != nil {
		return fmt.Errorf("chart build folder: %w", err)
	}
	defer os.RemoveAll(tmp)
	chartDir := filepath.Join(tmp, filepath.Base(lock.Chart))
	if err := copyTree(filepath.Join(moduleDir, lock.Chart), chartDir); err != nil {
		return err
	}
	for _, d := range lock.Dependencies {
		if err := copyTree(filepath.Join(moduleDir, d.Path), filepath.Join(chartDir, "charts", filepath.Base(d.Path))); err != nil {
			return err
		}
	}
	if _, _, err := checkChartYAML(lock, chartDir); err != nil {
		return err
	}
	dirSum, err := dirhash.HashDir(chartDir, "chart", dirhash.Hash1)
	if err != nil {
		return fmt.Errorf("hash assembled chart: %w", err)
	}
	raw, err := json.Marshal(stamp{Sum: lock.Sum, DirSum: dirSum})
	if err != nil {
		return fmt.Errorf("chart stamp: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, stampFile), raw, 0o644); err != nil {
		return fmt.Errorf("chart stamp: %w", err)
	}
	if err := os.Rename(tmp, dest); err == nil {
		return nil
	}
	if _, err := readAssembled(lock, dest); err == nil {
		return nil // a parallel caller placed the same chart first
	}
	// A stale or damaged assembly of the same pin: moved aside, then replaced.
	aside := fmt.Sprintf("%s.old-%d", dest, time.Now().UnixNano())
	if err := os.Rename(dest, aside); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("move old assembly %s aside: %w", dest, err)
	}
	defer os.RemoveAll(aside)
	if err := os.Rename(tmp, dest); err != nil {
		return fmt.Errorf("place assembled chart at %s: %w", dest, err)
	}
	return nil
}

// copyTree copies regular files and folders (the module cache is read-only: copies
// are made writable so the build folder can be removed).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("copy chart: %w", err)
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return fmt.Errorf("copy chart: %w", err)
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("copy chart: %s is not a regular file", path)
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("copy chart: %w", err)
		}
		return os.WriteFile(target, raw, 0o644)
	})
}
