package chart

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redis-shared/conformance/tools/project"
)

func projectLock(t *testing.T) Lock {
	t.Helper()
	root, err := project.Root()
	require.NoError(t, err)
	lock, err := ReadLock(filepath.Join(root, LockFile))
	require.NoError(t, err)
	return lock
}

// The pinned chart assembles with common as its dependency, at the pinned versions,
// and a changed file in the assembly is noticed and repaired.
func TestEnsureAssemblesAndRechecks(t *testing.T) {
	lock := projectLock(t)
	build := t.TempDir()
	p, err := EnsureLock(context.Background(), lock, build)
	require.NoError(t, err)
	assert.Equal(t, "redis", p.Name)
	assert.Equal(t, "23.1.1", p.Version)
	assert.FileExists(t, filepath.Join(p.Dir, "charts", "common", "Chart.yaml"))

	// Tampering with the assembly is caught by the folder hash; Ensure assembles anew.
	values := filepath.Join(p.Dir, "values.yaml")
	require.NoError(t, os.WriteFile(values, []byte("tampered: true\n"), 0o644))
	_, err = readAssembled(lock, filepath.Dir(p.Dir))
	require.ErrorContains(t, err, "changed since it was assembled")
	again, err := EnsureLock(context.Background(), lock, build)
	require.NoError(t, err)
	assert.Equal(t, p.DirSum, again.DirSum)
}

// A pin that does not match what the proxy serves is ErrPin, in one line.
func TestWrongPinIsErrPin(t *testing.T) {
	good := projectLock(t)
	wrongSum := good
	wrongSum.Sum = "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	wrongVersion := good
	wrongVersion.ChartVersion = "23.1.0"
	wrongDep := good
	wrongDep.Dependencies = []Dependency{{Path: "bitnami/common", Version: "1.0.0"}}
	for name, lock := range map[string]Lock{"sum": wrongSum, "chart version": wrongVersion, "dependency version": wrongDep} {
		t.Run(name, func(t *testing.T) {
			_, err := EnsureLock(context.Background(), lock, t.TempDir())
			require.ErrorIs(t, err, ErrPin)
			assert.NotContains(t, err.Error(), "\n")
		})
	}
}

func TestReadLockRejectsBadPins(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{
		"empty sum":       "module: m\nversion: v\nsum: \"\"\nchart: c\nchartVersion: 1\n",
		"not h1":          "module: m\nversion: v\nsum: sha256:x\nchart: c\nchartVersion: 1\n",
		"escaping path":   "module: m\nversion: v\nsum: h1:x\nchart: ../c\nchartVersion: 1\n",
		"unknown field":   "module: m\nversion: v\nsum: h1:x\nchart: c\nchartVersion: 1\nextra: 1\n",
		"missing version": "module: m\nsum: h1:x\nchart: c\nchartVersion: 1\n",
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
			require.NoError(t, os.WriteFile(path, []byte(doc), 0o644))
			_, err := ReadLock(path)
			require.Error(t, err)
		})
	}
}
