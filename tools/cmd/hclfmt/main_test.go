package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redis-shared/conformance/tools/exitcode"
)

const (
	tidy  = "variable \"a\" {\n  type    = string\n  default = \"x\"\n}\n"
	messy = "variable \"a\" {\ntype = string\n    default=\"x\"\n}\n"
)

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		path := filepath.Join(root, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	}
	return root
}

func TestRunCheck(t *testing.T) {
	tests := []struct {
		name       string
		files      map[string]string
		wantCode   int
		wantListed []string
	}{
		{name: "formatted tree", files: map[string]string{"main.tf": tidy, "tests/a.tftest.hcl": tidy}, wantCode: exitcode.OK},
		{name: "messy module file", files: map[string]string{"main.tf": tidy, "variables.tf": messy}, wantCode: exitcode.Failed, wantListed: []string{"variables.tf"}},
		{name: "messy test file", files: map[string]string{"tests/a.tftest.hcl": messy}, wantCode: exitcode.Failed, wantListed: []string{"tests/a.tftest.hcl"}},
		{name: "provider cache and other files are ignored", files: map[string]string{".terraform/x.tf": messy, "README.md": messy, ".terraform.lock.hcl": messy}, wantCode: exitcode.OK},
		{name: "syntax error is bad input", files: map[string]string{"main.tf": "variable \"a\" {\n"}, wantCode: exitcode.CouldNotRun},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := writeTree(t, tt.files)
			var stdout, stderr bytes.Buffer
			code := run([]string{"-check", root}, &stdout, &stderr)
			assert.Equal(t, tt.wantCode, code, stderr.String())
			var want string
			for _, f := range tt.wantListed {
				want += filepath.Join(root, f) + "\n"
			}
			assert.Equal(t, want, stdout.String())
		})
	}
}

func TestRunWriteFormatsInPlace(t *testing.T) {
	root := writeTree(t, map[string]string{"main.tf": messy})
	var stdout, stderr bytes.Buffer
	require.Equal(t, exitcode.OK, run([]string{"-w", root}, &stdout, &stderr), stderr.String())
	got, err := os.ReadFile(filepath.Join(root, "main.tf"))
	require.NoError(t, err)
	assert.Equal(t, tidy, string(got))
	assert.Equal(t, exitcode.OK, run([]string{"-check", root}, &stdout, &stderr))
}

func TestRunRejectsBadArguments(t *testing.T) {
	tests := [][]string{
		{},
		{"-check"},
		{"-check", "-w", "."},
		{"-check", filepath.Join(t.TempDir(), "missing")},
	}
	for _, args := range tests {
		var stdout, stderr bytes.Buffer
		assert.Equal(t, exitcode.CouldNotRun, run(args, &stdout, &stderr), args)
		assert.NotEmpty(t, stderr.String(), args)
	}
}
