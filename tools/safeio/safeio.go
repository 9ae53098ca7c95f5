// Package safeio reads the files a user names (values, rendered manifests, tofu,
// kubeconfigs, report inputs) fail-closed: only regular files, and only up to a size
// limit, so a FIFO, a device such as /dev/zero, a directory or a huge file is refused
// at once with one line instead of hanging or eating the memory.
package safeio

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Size limits per kind of input. Each is far above what the project's own inputs
// need (helm-values are a few KiB, a rendering tens of KiB, a conformance run's
// `go test -json` a few MiB) and far below what hurts a 2-core runner.
const (
	MiB              = 1 << 20
	ValuesLimit      = 4 * MiB  // one Helm values file
	ManifestsLimit   = 16 * MiB // one multi-document rendering
	TofuLimit        = 4 * MiB  // one .tf/.tftest.hcl file
	PlanLimit        = 64 * MiB // `tofu show -json` of a plan
	KubeconfigLimit  = 4 * MiB  // one kubeconfig
	ReportInputLimit = 64 * MiB // policy results, go test -json, evidence, report.json
)

// ErrNotRegular and ErrTooLarge are what ReadInput and CheckInput refuse with.
var (
	ErrNotRegular = errors.New("not a regular file")
	ErrTooLarge   = errors.New("larger than the limit")
)

// ReadInput reads a user-supplied file: a regular file (a symlink to one is fine) of
// at most limit bytes. Errors name the path and say what is wrong.
func ReadInput(path string, limit int64) ([]byte, error) {
	if err := CheckInput(path, limit); err != nil {
		return nil, err
	}
	// O_NONBLOCK: should the path have turned into a FIFO since the check, opening it
	// still does not wait for a writer (and the kind is checked again below).
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := checkInfo(path, info, limit); err != nil {
		return nil, err
	}
	// Read one byte past the limit: files under /proc report size 0 but have content.
	raw, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(raw)) > limit {
		return nil, tooLarge(path, limit)
	}
	return raw, nil
}

// CheckInput refuses a path that is not a regular file of at most limit bytes,
// without opening it; for inputs a library reads itself (a kubeconfig).
func CheckInput(path string, limit int64) error {
	info, err := os.Stat(path)
	if err != nil {
		return err // *fs.PathError: "stat PATH: no such file or directory"
	}
	return checkInfo(path, info, limit)
}

// CheckDir refuses a path that is not a directory (a folder input such as tofu/).
func CheckDir(path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		return fmt.Errorf("%s: is %s, want a directory", path, kind(info.Mode()))
	}
	return nil
}

func checkInfo(path string, info fs.FileInfo, limit int64) error {
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%s: %w (it is %s)", path, ErrNotRegular, kind(info.Mode()))
	}
	if info.Size() > limit {
		return tooLarge(path, limit)
	}
	return nil
}

func tooLarge(path string, limit int64) error {
	return fmt.Errorf("%s: %w of %s", path, ErrTooLarge, human(limit))
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m.IsRegular():
		return "a regular file"
	default:
		return "an irregular file"
	}
}

func human(n int64) string {
	if n%MiB == 0 {
		return fmt.Sprintf("%d MiB", n/MiB)
	}
	return fmt.Sprintf("%d bytes", n)
}
