package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// Revert undoes a fault. It is safe to call more than once.
type Revert func(ctx context.Context) error

// Kill sends sig (syscall.SIGKILL for `kill -9`) to the instance's redis-server and
// returns the pid it hit, for WaitRestarted.
func (s *State) Kill(instance string, sig syscall.Signal) (int, error) {
	fresh, err := s.Refresh()
	if err != nil {
		return 0, err
	}
	inst, err := fresh.Instance(instance)
	if err != nil {
		return 0, err
	}
	pid := inst.Redis.Pid
	if pid <= 0 || !processAlive(pid) {
		return 0, fmt.Errorf("kill %s: redis-server is not running", instance)
	}
	if err := syscall.Kill(pid, sig); err != nil {
		return 0, fmt.Errorf("kill %s (pid %d) with %s: %w", instance, pid, sig, err)
	}
	return pid, nil
}

// WaitRestarted waits until the supervisor has started a new redis-server for the
// instance (its pid is no longer oldPid) and that one answers PING. It returns the
// instance as the state file now has it.
func (s *State) WaitRestarted(ctx context.Context, instance string, oldPid int, timeout time.Duration) (Instance, error) {
	var current Instance
	err := waitFor(ctx, timeout, fmt.Sprintf("%s to be restarted and answer PING", instance), func() (bool, error) {
		fresh, err := s.Refresh()
		if err != nil {
			return false, err
		}
		current, err = fresh.Instance(instance)
		if err != nil {
			return false, err
		}
		if current.Redis.Pid <= 0 || current.Redis.Pid == oldPid {
			return false, nil
		}
		return s.pingInstance(ctx, current) == nil, nil
	})
	return current, err
}

// WaitHealthy waits until every check of Check passes.
func (s *State) WaitHealthy(ctx context.Context, opts CheckOptions, timeout time.Duration) error {
	var last Report
	err := waitFor(ctx, timeout, "the sandbox to be healthy", func() (bool, error) {
		fresh, err := s.Refresh()
		if err != nil {
			return false, err
		}
		last = fresh.Check(ctx, opts)
		return last.Healthy(), nil
	})
	if err != nil {
		return fmt.Errorf("%w: %v", err, last.Problems())
	}
	return nil
}

func (s *State) pingInstance(ctx context.Context, inst Instance) error {
	password, err := s.Password()
	if err != nil {
		return err
	}
	return ping(ctx, s.Dialer(VantageCluster), inst.Addr, password, 2*time.Second)
}

// Stop keeps the instance's redis-server down until the returned Revert is called,
// like scaling its pod's container away: the supervisor stops it and does not restart
// it. Its exporter keeps running (and reports redis_up 0), so alerts can fire. Stop
// returns once the process is gone; Revert returns once it answers PING again.
func (s *State) Stop(ctx context.Context, instance string, timeout time.Duration) (Revert, error) {
	return s.hold(ctx, instance, instance, func(inst Instance) *Process { return &inst.Redis }, timeout)
}

// StopExporter keeps the instance's exporter down until Revert, so its Prometheus
// target goes down while Redis keeps serving. Revert returns once it runs again.
func (s *State) StopExporter(ctx context.Context, instance string, timeout time.Duration) (Revert, error) {
	return s.hold(ctx, instance, instance+"/exporter", func(inst Instance) *Process { return inst.Exporter }, timeout)
}

// hold asks the supervisor to keep process key of an instance down and waits until it is.
func (s *State) hold(ctx context.Context, instance, key string, proc func(Instance) *Process, timeout time.Duration) (Revert, error) {
	current := func() (*Process, error) {
		fresh, err := s.Refresh()
		if err != nil {
			return nil, err
		}
		inst, err := fresh.Instance(instance)
		if err != nil {
			return nil, err
		}
		p := proc(inst)
		if p == nil {
			return nil, fmt.Errorf("sandbox %s: %s has no such process (metrics.enabled is false?)", s.ID, key)
		}
		return p, nil
	}
	var ready func(context.Context) error
	if key == instance {
		// A Redis instance is back when it answers PING, not merely when it runs.
		ready = func(ctx context.Context) error {
			fresh, err := s.Refresh()
			if err != nil {
				return err
			}
			inst, err := fresh.Instance(instance)
			if err != nil {
				return err
			}
			return s.pingInstance(ctx, inst)
		}
	}
	return s.holdProcess(ctx, key, current, ready, timeout)
}

// holdProcess writes key's hold file and waits until the supervisor has the process
// down. Revert removes the file and waits until a new process runs (and, with ready,
// until ready passes).
func (s *State) holdProcess(ctx context.Context, key string, current func() (*Process, error), ready func(context.Context) error, timeout time.Duration) (Revert, error) {
	before, err := current()
	if err != nil {
		return nil, err
	}
	oldPid := before.Pid
	path := holdPath(s.Dir, key)
	if err := os.WriteFile(path, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("hold %s: %w", key, err)
	}
	revert := func(ctx context.Context) error {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("release %s: %w", key, err)
		}
		return waitFor(ctx, timeout, fmt.Sprintf("%s to run again", key), func() (bool, error) {
			p, err := current()
			if err != nil || p.Held || p.Pid <= 0 || p.Pid == oldPid || !processAlive(p.Pid) {
				return false, err
			}
			if ready == nil {
				return true, nil
			}
			return ready(ctx) == nil, nil
		})
	}
	err = waitFor(ctx, timeout, fmt.Sprintf("%s to be held down", key), func() (bool, error) {
		p, err := current()
		if err != nil {
			return false, err
		}
		return p.Held && p.Pid == 0, nil
	})
	if err != nil {
		return revert, errors.Join(err, revert(context.WithoutCancel(ctx)))
	}
	return revert, nil
}

// Freeze SIGSTOPs the instance's redis-server: it hangs without exiting, so only the
// emulated liveness probe can notice (after about periodSeconds x failureThreshold)
// and have it restarted. Revert SIGCONTs it if it is still the same process.
func (s *State) Freeze(instance string) (int, Revert, error) {
	pid, err := s.Kill(instance, syscall.SIGSTOP)
	if err != nil {
		return 0, nil, err
	}
	revert := func(context.Context) error {
		if processAlive(pid) {
			if err := syscall.Kill(pid, syscall.SIGCONT); err != nil && !errors.Is(err, syscall.ESRCH) {
				return fmt.Errorf("continue %s (pid %d): %w", instance, pid, err)
			}
		}
		return nil
	}
	return pid, revert, nil
}
