package safeio_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redis-shared/conformance/tools/safeio"
)

func TestReadInput(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.yaml")
	require.NoError(t, os.WriteFile(small, []byte("a: 1\n"), 0o600))
	big := filepath.Join(dir, "big.yaml")
	require.NoError(t, os.WriteFile(big, make([]byte, 2048), 0o600))
	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	link := filepath.Join(dir, "link")
	require.NoError(t, os.Symlink(small, link))
	zeroLink := filepath.Join(dir, "zero")
	require.NoError(t, os.Symlink("/dev/zero", zeroLink))

	cases := []struct {
		name    string
		path    string
		want    string
		wantErr string
	}{
		{"regular file", small, "a: 1\n", ""},
		{"symlink to a regular file", link, "a: 1\n", ""},
		{"over the limit", big, "", big + ": larger than the limit of 1024 bytes"},
		{"named pipe", fifo, "", fifo + ": not a regular file (it is a named pipe)"},
		{"character device", "/dev/zero", "", "/dev/zero: not a regular file (it is a character device)"},
		{"symlink to a device", zeroLink, "", zeroLink + ": not a regular file (it is a character device)"},
		{"directory", dir, "", dir + ": not a regular file (it is a directory)"},
		{"missing", filepath.Join(dir, "nope"), "", "stat " + filepath.Join(dir, "nope") + ": no such file or directory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := safeio.ReadInput(tc.path, 1024)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Equal(t, tc.wantErr, err.Error())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(got))
		})
	}
}

func TestReadInputProcFileOverLimit(t *testing.T) {
	// /proc files say size 0; the read itself must stop at the limit.
	_, err := safeio.ReadInput("/proc/self/maps", 16)
	assert.ErrorIs(t, err, safeio.ErrTooLarge)
}

func TestCheckDir(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	assert.NoError(t, safeio.CheckDir(dir))
	assert.EqualError(t, safeio.CheckDir(file), file+": is a regular file, want a directory")
}
