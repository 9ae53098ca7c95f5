package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

const netnsDir = "/run/netns"

// inNetNS runs fn on a locked OS thread switched into the named namespace. A socket
// or child process made inside fn stays in that namespace. If the thread cannot be
// switched back it is left locked, so the runtime retires it with the goroutine
// instead of reusing a thread that sits in the wrong namespace.
func inNetNS(name string, fn func() error) error {
	target, err := netns.GetFromName(name)
	if err != nil {
		return fmt.Errorf("open network namespace %s: %w", name, err)
	}
	defer target.Close()
	return InNetNSHandle(target, fn)
}

// InNetNSHandle runs fn on a locked OS thread inside the network namespace target;
// sockets and processes made in fn stay there. A thread that cannot switch back
// stays locked and dies with the goroutine.
func InNetNSHandle(target netns.NsHandle, fn func() error) error {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("get current network namespace: %w", err)
	}
	defer orig.Close()
	if err := netns.Set(target); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("enter network namespace: %w", err)
	}
	fnErr := fn()
	if err := netns.Set(orig); err != nil {
		// Stay locked: the goroutine's exit then ends this thread.
		return errors.Join(fnErr, fmt.Errorf("restore network namespace: %w", err))
	}
	runtime.UnlockOSThread()
	return fnErr
}

// createNetNS makes a named namespace with its loopback up.
func createNetNS(name string) error {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("get current network namespace: %w", err)
	}
	defer orig.Close()
	created, createErr := netns.NewNamed(name)
	if createErr == nil {
		created.Close()
	}
	// NewNamed may have switched the thread even when it failed later on.
	if err := netns.Set(orig); err != nil {
		return errors.Join(createErr, fmt.Errorf("restore network namespace after creating %s: %w", name, err))
	}
	runtime.UnlockOSThread()
	if createErr != nil {
		return fmt.Errorf("create network namespace %s: %w", name, createErr)
	}
	return nil
}

// deleteNetNS removes a named namespace; a missing one is not an error.
func deleteNetNS(name string) error {
	err := netns.DeleteNamed(name)
	if err == nil || errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
		// EINVAL: not a mount point any more (half-made); remove the file anyway.
		if rmErr := os.Remove(filepath.Join(netnsDir, name)); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) {
			return fmt.Errorf("remove network namespace file %s: %w", name, rmErr)
		}
		return nil
	}
	return fmt.Errorf("delete network namespace %s: %w", name, err)
}

// listNetNS returns the names of all named namespaces.
func listNetNS() ([]string, error) {
	entries, err := os.ReadDir(netnsDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", netnsDir, err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names, nil
}

// nsInode identifies a namespace the way /proc/<pid>/ns/net does.
type nsInode struct{ dev, ino uint64 }

func inodeOf(path string) (nsInode, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return nsInode{}, err
	}
	return nsInode{dev: st.Dev, ino: st.Ino}, nil
}

// pidsInNetNS lists the processes whose network namespace is one of names.
func pidsInNetNS(names []string) ([]int, error) {
	wanted := map[nsInode]bool{}
	for _, name := range names {
		ino, err := inodeOf(filepath.Join(netnsDir, name))
		if err != nil {
			continue // gone or never made
		}
		wanted[ino] = true
	}
	if len(wanted) == 0 {
		return nil, nil
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ino, err := inodeOf(fmt.Sprintf("/proc/%d/ns/net", pid))
		if err != nil {
			continue // exited meanwhile
		}
		if wanted[ino] {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// killNetNSProcesses SIGKILLs every process in the namespaces and waits until they are gone.
func killNetNSProcesses(ctx context.Context, names []string) error {
	pids, err := pidsInNetNS(names)
	if err != nil {
		return err
	}
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	return waitFor(ctx, 5*time.Second, "processes in the sandbox namespaces to exit", func() (bool, error) {
		left, err := pidsInNetNS(names)
		return len(left) == 0, err
	})
}

// startInNetNS starts cmd with the namespace as its network namespace: the fork
// happens on a thread that sits in that namespace, and the child inherits it.
func startInNetNS(name string, cmd *exec.Cmd) error {
	return inNetNS(name, cmd.Start)
}

// dialInNetNS opens a connection whose socket is created inside the namespace.
func dialInNetNS(ctx context.Context, name, network, addr string) (net.Conn, error) {
	var conn net.Conn
	err := inNetNS(name, func() error {
		var dialer net.Dialer
		c, err := dialer.DialContext(ctx, network, addr)
		conn = c
		return err
	})
	if err != nil {
		if conn != nil {
			_ = conn.Close()
		}
		return nil, err
	}
	return conn, nil
}

// permanentError ends a wait at once: something failed that waiting cannot mend.
type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// waitFor polls cond until it holds, fails, or timeout passes; what names the wait in
// the error.
func waitFor(ctx context.Context, timeout time.Duration, what string, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		ok, err := cond()
		if ok {
			return nil
		}
		if errors.As(err, new(permanentError)) {
			return err
		}
		lastErr = err
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return fmt.Errorf("waiting %s for %s: %w (last error: %v)", timeout, what, ctx.Err(), lastErr)
			}
			return fmt.Errorf("waiting %s for %s: %w", timeout, what, ctx.Err())
		case <-tick.C:
		}
	}
}
