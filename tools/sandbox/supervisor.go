package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Kubelet's container restart back-off: the first restart is immediate, then 10 s
// doubling up to 5 min; a container that ran 10 min resets it.
const (
	backoffInitial = 10 * time.Second
	backoffMax     = 5 * time.Minute
	backoffReset   = 10 * time.Minute
	stopGrace      = 3 * time.Second
	holdPoll       = 100 * time.Millisecond
)

// Exit reasons recorded in ExitInfo.
const (
	ExitReasonExited   = "exited"
	ExitReasonLiveness = "liveness"
	ExitReasonHeld     = "held"
	ExitReasonStopping = "stopping"
)

// managed is one process the supervisor keeps running.
type managed struct {
	key      string // master, master/exporter, prometheus
	netns    string
	holdable bool
	command  func() (*exec.Cmd, error)
	prepare  func() error // before each start (emptyDir wipe)
	liveness *Liveness    // nil: restart on exit only
	limits   Resources    // the container's resources.limits, applied with a cgroup
	probe    func(context.Context, time.Duration) error
	record   func(st *State, p Process) // stores p in the state
}

type supervisor struct {
	mu    sync.Mutex
	state *State
}

// Supervise runs every process of the sandbox in dir until SIGTERM or ctx ends, then
// stops them. It is what `conform sandbox supervise` runs, detached by Up.
func Supervise(ctx context.Context, dir string) error {
	if fdText := os.Getenv(envLockFD); fdText != "" {
		if fd, err := strconv.Atoi(fdText); err == nil {
			// Keep the registry lock to ourselves: children must not inherit it.
			syscall.CloseOnExec(fd)
		}
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	st, err := LoadState(dir)
	if err != nil {
		return err
	}
	bins, err := readBinaries(dir)
	if err != nil {
		return err
	}
	if _, err := st.Password(); err != nil {
		return err
	}
	sup := &supervisor{state: st}
	st.Supervisor = Process{Pid: os.Getpid(), StartedAt: time.Now().UTC()}
	if err := st.save(); err != nil {
		return err
	}

	procs := sup.processes(bins)
	started := make(chan error, len(procs))
	var wg sync.WaitGroup
	for _, m := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sup.run(ctx, m, started)
		}()
	}
	var startErrs []error
	for range procs {
		if err := <-started; err != nil {
			startErrs = append(startErrs, err)
		}
	}
	if len(startErrs) > 0 {
		stop()
		wg.Wait()
		return fmt.Errorf("start sandbox processes: %w", errors.Join(startErrs...))
	}
	sup.update(func(s *State) { s.Phase = PhaseRunning })
	fmt.Fprintf(os.Stderr, "supervisor %d: sandbox %s running\n", os.Getpid(), st.ID)
	<-ctx.Done()
	sup.update(func(s *State) { s.Phase = PhaseStopping })
	wg.Wait()
	fmt.Fprintf(os.Stderr, "supervisor %d: sandbox %s stopped\n", os.Getpid(), st.ID)
	return nil
}

// update changes the state under the lock and writes it.
func (s *supervisor) update(change func(*State)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	change(s.state)
	if err := s.state.save(); err != nil {
		fmt.Fprintf(os.Stderr, "supervisor: %v\n", err)
	}
}

func (s *supervisor) processes(bins binaries) []*managed {
	dir := s.state.Dir
	var procs []*managed
	for i, inst := range s.state.Instances {
		instDir := filepath.Join(dir, "instances", inst.Name)
		live := inst.Liveness
		podDial := netnsDialer(inst.Netns)
		// Like a container's env from a Secret, each start reads the password as it is
		// then: a rotation reaches a process when it restarts, not before.
		var podPassword string
		procs = append(procs, &managed{
			key:      inst.Name,
			netns:    inst.Netns,
			holdable: true,
			limits:   inst.Limits,
			command: func() (*exec.Cmd, error) {
				password, err := s.state.Password()
				if err != nil {
					return nil, err
				}
				podPassword = password
				return exec.Command(bins.redis, filepath.Join(instDir, "redis.conf")), nil
			},
			prepare: func() error {
				if inst.Persistence {
					return os.MkdirAll(inst.DataDir, 0o700)
				}
				// An emptyDir: every start begins with an empty data dir.
				if err := os.RemoveAll(inst.DataDir); err != nil {
					return fmt.Errorf("wipe %s: %w", inst.DataDir, err)
				}
				return os.MkdirAll(inst.DataDir, 0o700)
			},
			liveness: &live,
			probe: func(ctx context.Context, timeout time.Duration) error {
				return livenessPing(ctx, podDial, podPassword, timeout)
			},
			record: func(st *State, p Process) { st.Instances[i].Redis = p },
		})
		if inst.Exporter != nil {
			procs = append(procs, &managed{
				key:      inst.Name + "/exporter",
				netns:    inst.Netns,
				holdable: true,
				limits:   inst.ExporterLimits,
				command: func() (*exec.Cmd, error) {
					password, err := s.exporterPassword()
					if err != nil {
						return nil, err
					}
					cmd := exec.Command(bins.exporter,
						"-redis.addr", fmt.Sprintf("redis://127.0.0.1:%d", redisPort),
						"-web.listen-address", fmt.Sprintf(":%d", exporterPort))
					// The chart hands the exporter the password the same way: REDIS_PASSWORD.
					cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "REDIS_PASSWORD=" + password}
					return cmd, nil
				},
				record: func(st *State, p Process) { st.Instances[i].Exporter = &p },
			})
		}
	}
	if old := s.state.OldRedis; old != nil {
		conf := filepath.Join(dir, "instances", old.Name, "redis.conf")
		procs = append(procs, &managed{
			key:      old.Name,
			netns:    old.Netns,
			holdable: true, // decommissioning it holds it down (StopOldRedis)
			command: func() (*exec.Cmd, error) {
				return exec.Command(bins.redis, conf), nil
			},
			prepare: func() error {
				// No persistence: every start begins empty, like a pod without a volume.
				if err := os.RemoveAll(old.DataDir); err != nil {
					return fmt.Errorf("wipe %s: %w", old.DataDir, err)
				}
				return os.MkdirAll(old.DataDir, 0o700)
			},
			record: func(st *State, p Process) { st.OldRedis.Redis = p },
		})
	}
	if s.state.Prometheus != nil {
		promDir := filepath.Join(dir, "prometheus")
		procs = append(procs, &managed{
			key:   "prometheus",
			netns: netnsName(s.state.ID, "prometheus"),
			command: func() (*exec.Cmd, error) {
				return exec.Command(bins.prometheus,
					"--config.file="+filepath.Join(promDir, "prometheus.yml"),
					"--storage.tsdb.path="+filepath.Join(promDir, "data"),
					"--storage.tsdb.retention.time=1d",
					fmt.Sprintf("--web.listen-address=0.0.0.0:%d", prometheusPort),
				), nil
			},
			prepare: func() error {
				// Temporary storage: a restarted Prometheus starts empty.
				if err := os.RemoveAll(filepath.Join(promDir, "data")); err != nil {
					return err
				}
				return os.MkdirAll(filepath.Join(promDir, "data"), 0o700)
			},
			record: func(st *State, p Process) { st.Prometheus.Process = p },
		})
	}
	return procs
}

func holdPath(dir, key string) string {
	return filepath.Join(dir, "hold", strings.ReplaceAll(key, "/", "-"))
}

func (s *supervisor) held(m *managed) bool {
	if !m.holdable {
		return false
	}
	_, err := os.Stat(holdPath(s.state.Dir, m.key))
	return err == nil
}

// run keeps m running until ctx ends, the way the kubelet keeps a container running.
// The first start's outcome goes to started.
func (s *supervisor) run(ctx context.Context, m *managed, started chan<- error) {
	var proc Process
	first := true
	var backoff time.Duration
	crashes := 0 // restarts since the last 10 min of uninterrupted running
	for ctx.Err() == nil {
		if !first && s.held(m) {
			if !proc.Held {
				proc.Held, proc.Pid = true, 0
				s.update(func(st *State) { m.record(st, proc) })
			}
			sleepCtx(ctx, holdPoll)
			continue
		}
		if backoff > 0 && !sleepCtx(ctx, backoff) {
			return
		}
		cmd, err := s.start(m)
		if err != nil {
			if first {
				started <- fmt.Errorf("%s: %w", m.key, err)
				return
			}
			fmt.Fprintf(os.Stderr, "supervisor: restart %s: %v\n", m.key, err)
			backoff = nextBackoff(backoff)
			continue
		}
		proc.Pid, proc.StartedAt, proc.Held = cmd.Process.Pid, time.Now().UTC(), false
		s.update(func(st *State) { m.record(st, proc) })
		if first {
			started <- nil
			first = false
		}
		reason, status := s.watch(ctx, m, cmd)
		ranFor := time.Since(proc.StartedAt)
		proc.LastExit = &ExitInfo{At: time.Now().UTC(), Reason: reason, Status: status}
		proc.Pid = 0
		switch reason {
		case ExitReasonExited, ExitReasonLiveness:
			proc.Restarts++
			if ranFor >= backoffReset {
				crashes, backoff = 0, 0
			}
			crashes++
			// The first restart is immediate; later ones back off like the kubelet's.
			if crashes > 1 {
				backoff = nextBackoff(backoff)
			}
		default:
			backoff = 0
		}
		s.update(func(st *State) { m.record(st, proc) })
		fmt.Fprintf(os.Stderr, "supervisor: %s ended (%s, %s)\n", m.key, reason, status)
	}
}

func nextBackoff(prev time.Duration) time.Duration {
	if prev == 0 {
		return backoffInitial
	}
	return min(2*prev, backoffMax)
}

// start runs m's prepare step and starts it inside its namespace, logging to logs/.
func (s *supervisor) start(m *managed) (*exec.Cmd, error) {
	if m.prepare != nil {
		if err := m.prepare(); err != nil {
			return nil, err
		}
	}
	cmd, err := m.command()
	if err != nil {
		return nil, err
	}
	logName := filepath.Join(s.state.Dir, "logs", filepath.Base(m.key)+".log")
	if m.key != filepath.Base(m.key) {
		logName = filepath.Join(s.state.Dir, "logs", filepath.Dir(m.key)+"-"+filepath.Base(m.key)+".log")
	}
	logFile, err := os.OpenFile(logName, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if cmd.Env == nil {
		cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	}
	cg := s.state.Cgroups
	if err := cg.prepare(m.key, m.limits); err != nil {
		return nil, err
	}
	if err := startInNetNS(m.netns, cmd); err != nil {
		return nil, fmt.Errorf("start in %s: %w", m.netns, err)
	}
	// Into its cgroup at once: a process running without its limits would make
	// every figure about them a lie, so it does not run at all.
	if err := cg.attach(m.key, cmd.Process.Pid); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, err
	}
	return cmd, nil
}

// watch waits for cmd to end: by itself, by failing its liveness probe, by a hold or
// by the supervisor stopping. It returns the reason and the exit status.
func (s *supervisor) watch(ctx context.Context, m *managed, cmd *exec.Cmd) (string, string) {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	var probeC <-chan time.Time
	var probeTimer *time.Timer
	if m.liveness != nil && m.liveness.Enabled {
		probeTimer = time.NewTimer(time.Duration(m.liveness.InitialDelaySeconds) * time.Second)
		defer probeTimer.Stop()
		probeC = probeTimer.C
	}
	holdTick := time.NewTicker(holdPoll)
	defer holdTick.Stop()
	failures := 0
	for {
		select {
		case err := <-done:
			return ExitReasonExited, exitStatus(err)
		case <-ctx.Done():
			return ExitReasonStopping, terminate(cmd, done)
		case <-holdTick.C:
			if s.held(m) {
				return ExitReasonHeld, terminate(cmd, done)
			}
		case <-probeC:
			probeStart := time.Now()
			timeout := time.Duration(m.liveness.TimeoutSeconds) * time.Second
			if err := m.probe(ctx, timeout); err != nil {
				failures++
				fmt.Fprintf(os.Stderr, "supervisor: %s liveness probe failed (%d/%d): %v\n", m.key, failures, m.liveness.FailureThreshold, err)
			} else {
				failures = 0
			}
			if failures >= m.liveness.FailureThreshold {
				// The kubelet kills the container; a hung process gets no grace here.
				_ = cmd.Process.Signal(syscall.SIGKILL)
				return ExitReasonLiveness, exitStatus(<-done)
			}
			// Like the kubelet's ticker: periods count from probe start, so a probe that
			// times out does not stretch the period.
			probeTimer.Reset(time.Until(probeStart.Add(time.Duration(m.liveness.PeriodSeconds) * time.Second)))
		}
	}
}

// terminate stops cmd with SIGTERM, then SIGKILL after the grace period.
func terminate(cmd *exec.Cmd, done <-chan error) string {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	// A stopped process only acts on SIGTERM once continued.
	_ = cmd.Process.Signal(syscall.SIGCONT)
	select {
	case err := <-done:
		return exitStatus(err)
	case <-time.After(stopGrace):
		_ = cmd.Process.Signal(syscall.SIGKILL)
		return exitStatus(<-done)
	}
}

func exitStatus(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// sleepCtx sleeps d unless ctx ends first; it reports whether it slept fully.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// exporterPassword is what a (re)started exporter gets as REDIS_PASSWORD: the
// password file, or the one before the last rotation while a fault keeps the
// exporter on it (KeepExporterPassword).
func (s *supervisor) exporterPassword() (string, error) {
	if raw, err := os.ReadFile(filepath.Join(s.state.Dir, staleExporterPasswordFile)); err == nil {
		return strings.TrimSpace(string(raw)), nil
	}
	return s.state.Password()
}
