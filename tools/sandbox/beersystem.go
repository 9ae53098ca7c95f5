package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"time"
)

// The beersystem side of the sandbox (user story 4): the old dedicated Redis the
// cutover moves away from, and a pod namespace for the stand-in app.

// StopOldRedis decommissions the old beersystem Redis: the supervisor stops it and
// keeps it down until Revert, which starts it again (empty: it has no persistence)
// and returns once it answers PING.
func (s *State) StopOldRedis(ctx context.Context, timeout time.Duration) (Revert, error) {
	if s.OldRedis == nil {
		return nil, fmt.Errorf("sandbox %s has no old beersystem Redis (state written by an older build)", s.ID)
	}
	key := s.OldRedis.Name
	current := func() (*Process, error) {
		fresh, err := s.Refresh()
		if err != nil {
			return nil, err
		}
		if fresh.OldRedis == nil {
			return nil, fmt.Errorf("sandbox %s: the old beersystem Redis left the state file", s.ID)
		}
		return &fresh.OldRedis.Redis, nil
	}
	return s.holdProcess(ctx, key, current, s.pingOldRedis, timeout)
}

func (s *State) pingOldRedis(ctx context.Context) error {
	password, err := s.OldRedisPassword()
	if err != nil {
		return err
	}
	return ping(ctx, s.Dialer(VantageCluster), s.OldRedis.Addr, password, 2*time.Second)
}

// checkOldRedis is the old Redis's line of the health report.
func (s *State) checkOldRedis(ctx context.Context) *InstanceHealth {
	old := s.OldRedis
	h := &InstanceHealth{Name: old.Name, Addr: old.Addr, Pid: old.Redis.Pid, Restarts: old.Redis.Restarts}
	if old.Redis.Held {
		h.Problems = append(h.Problems, "held down (decommissioned by StopOldRedis)")
		return h
	}
	if err := s.pingOldRedis(ctx); err != nil {
		h.Problems = append(h.Problems, fmt.Sprintf("PING: %v", err))
	}
	return h
}

// StartApp starts cmd inside the app pod's namespace (AppPod), where it has its own
// IP on the cluster network and reaches every Service like a pod would. The caller
// owns the process (and stops it); `down` kills whatever is left in the namespace.
func (s *State) StartApp(cmd *exec.Cmd) error {
	if s.App == nil {
		return errors.New("sandbox " + s.ID + " has no app pod (state written by an older build)")
	}
	if err := startInNetNS(s.App.Netns, cmd); err != nil {
		return fmt.Errorf("start %s in pod %s: %w", cmd.Path, s.App.Pod, err)
	}
	return nil
}
