package target

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/redis-shared/conformance/tools/loadgen"
	"github.com/redis-shared/conformance/tools/sandbox"
)

// Deadlines of every client the target hands out.
const (
	dialTimeout = 2 * time.Second
	ioTimeout   = 2 * time.Second
	// pollEvery is how often waits on the sandbox look again.
	pollEvery = 100 * time.Millisecond
	// revertTimeout bounds how long putting a fault back may take.
	revertTimeout = 2 * time.Minute
)

// SandboxEnforcement names what enforces the source ranges in the sandbox.
const SandboxEnforcement = "nftables in the sandbox node namespace (emulating kube-proxy loadBalancerSourceRanges)"

// Sandbox is the local stand-in target: real redis-server, exporter and Prometheus
// processes in network namespaces, described by a state file.
type Sandbox struct {
	dir      string
	password string
	// bogus is a random wrong password and user for unauthorized attempts.
	bogus string
}

// OpenSandbox reads the running sandbox whose state lives in dir.
func OpenSandbox(dir string) (*Sandbox, error) {
	st, err := sandbox.LoadState(dir)
	if err != nil {
		return nil, fmt.Errorf("open sandbox target (is `conform sandbox up` running?): %w", err)
	}
	if st.Phase != sandbox.PhaseRunning {
		return nil, fmt.Errorf("open sandbox target: sandbox %s is %s, not %s", st.ID, st.Phase, sandbox.PhaseRunning)
	}
	password, err := st.Password()
	if err != nil {
		return nil, fmt.Errorf("open sandbox target: %w", err)
	}
	var raw [12]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, fmt.Errorf("open sandbox target: random: %w", err)
	}
	return &Sandbox{dir: dir, password: password, bogus: hex.EncodeToString(raw[:])}, nil
}

// Name is "sandbox".
func (s *Sandbox) Name() string { return "sandbox" }

// Close releases nothing: every client is closed by its caller.
func (s *Sandbox) Close() error { return nil }

func (s *Sandbox) state() (*sandbox.State, error) {
	st, err := sandbox.LoadState(s.dir)
	if err != nil {
		return nil, fmt.Errorf("sandbox target: %w", err)
	}
	return st, nil
}

// Endpoints reads the addresses from the state file.
func (s *Sandbox) Endpoints(context.Context) (Endpoints, error) {
	st, err := s.state()
	if err != nil {
		return Endpoints{}, err
	}
	var ep Endpoints
	for _, inst := range st.Instances {
		ep.Instances = append(ep.Instances, Instance{Name: inst.Name, Role: inst.Role, Pod: inst.Pod, Addr: inst.Addr})
		if inst.Role == RoleMaster && ep.Master == "" {
			ep.Master = inst.Addr
		}
		if inst.Role == RoleReplica && ep.Replicas == "" {
			ep.Replicas = inst.Addr
		}
	}
	// The sandbox serves each Service name on its addresses; prefer them when present.
	if addrs := st.Services["redis-shared-master.redis.svc.cluster.local"]; len(addrs) > 0 {
		ep.Master = addrs[0]
	}
	if addrs := st.Services["redis-shared-replicas.redis.svc.cluster.local"]; len(addrs) > 0 {
		ep.Replicas = addrs[0]
	}
	if st.LoadBalancer != nil {
		ep.LoadBalancer = st.LoadBalancer.Addr
		ep.SourceRanges = append([]string(nil), st.LoadBalancer.SourceRanges...)
	}
	return ep, nil
}

// Dial opens a TCP connection from inside the vantage point's namespace.
func (s *Sandbox) Dial(ctx context.Context, from Vantage, addr string) (net.Conn, error) {
	st, err := s.state()
	if err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, dialTimeout)
		defer cancel()
	}
	conn, err := st.Dialer(string(from))(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s from %s: %w", addr, from, err)
	}
	return conn, nil
}

func (s *Sandbox) options(from Vantage, addr string, creds Credentials) (*redis.Options, error) {
	st, err := s.state()
	if err != nil {
		return nil, err
	}
	opts := &redis.Options{
		Addr:            addr,
		Dialer:          st.Dialer(string(from)),
		Protocol:        2,
		DisableIdentity: true,
		DialTimeout:     dialTimeout,
		ReadTimeout:     ioTimeout,
		WriteTimeout:    ioTimeout,
		MaxRetries:      -1,
		PoolSize:        4,
		PoolTimeout:     dialTimeout,
		MaintNotificationsConfig: &maintnotifications.Config{
			Mode: maintnotifications.ModeDisabled,
		},
	}
	applyCredentials(opts, creds, s.password, s.bogus)
	return opts, nil
}

// applyCredentials sets the AUTH fields for a credential kind. bogus is random text
// that serves as a wrong password and an unknown user's name.
func applyCredentials(opts *redis.Options, creds Credentials, password, bogus string) {
	switch creds {
	case Valid:
		opts.Password = password
	case NoPassword:
		opts.Username, opts.Password = "", ""
	case WrongPassword:
		opts.Password = "wrong-" + bogus
	case UnknownUser:
		opts.Username, opts.Password = "nobody-"+bogus, "wrong-"+bogus
	}
}

// Client returns a go-redis client dialing from the vantage point.
func (s *Sandbox) Client(from Vantage, addr string, creds Credentials) (*redis.Client, error) {
	opts, err := s.options(from, addr, creds)
	if err != nil {
		return nil, err
	}
	return redis.NewClient(opts), nil
}

// LoadDialer returns a generator dialer from the vantage point.
func (s *Sandbox) LoadDialer(from Vantage, addr string, conns int) (loadgen.Dialer, error) {
	st, err := s.state()
	if err != nil {
		return nil, err
	}
	// The generator's own client, the one `make bench` chose; it dials from the vantage point.
	return loadgen.NewDialer(loadgen.DefaultClient, loadgen.Endpoint{
		Addr:         addr,
		Password:     s.password,
		DialTimeout:  dialTimeout,
		ReadTimeout:  ioTimeout,
		WriteTimeout: ioTimeout,
		DialContext:  st.Dialer(string(from)),
	}, conns)
}

// Prometheus is the sandbox's Prometheus, reached from its vantage point.
func (s *Sandbox) Prometheus() (*Prometheus, error) {
	st, err := s.state()
	if err != nil {
		return nil, err
	}
	if st.Prometheus == nil {
		return nil, fmt.Errorf("sandbox %s: %w (metrics.enabled is false)", st.ID, ErrNoPrometheus)
	}
	return &Prometheus{URL: st.Prometheus.URL, Client: st.HTTPClient(st.Prometheus.Vantage)}, nil
}

// Facts asks the master for its version; the sandbox deploys no chart.
func (s *Sandbox) Facts(ctx context.Context) (Facts, error) {
	ep, err := s.Endpoints(ctx)
	if err != nil {
		return Facts{}, err
	}
	facts := Facts{ChartVersion: "none (the sandbox emulates the chart from the merged helm-values)", Enforcement: SandboxEnforcement}
	if ep.LoadBalancer == "" {
		facts.Enforcement = "none: no LoadBalancer is deployed"
	}
	client, err := s.Client(Cluster, ep.Master, Valid)
	if err != nil {
		return facts, err
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	info, err := client.Info(ctx, "server").Result()
	if err != nil {
		return facts, fmt.Errorf("INFO server on the master: %w", err)
	}
	facts.RedisVersion = InfoField(info, "redis_version")
	return facts, nil
}

// InfoField returns one key of an INFO reply, "" when absent.
func InfoField(info, key string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), key+":"); ok {
			return v
		}
	}
	return ""
}

// Leaks reports whether data holds the password.
func (s *Sandbox) Leaks(data []byte) bool {
	return s.password != "" && bytes.Contains(data, []byte(s.password))
}

// Restarts reads the supervisor's record of an instance.
func (s *Sandbox) Restarts(_ context.Context, name string) (Restart, error) {
	st, err := s.state()
	if err != nil {
		return Restart{}, err
	}
	inst, err := st.Instance(name)
	if err != nil {
		return Restart{}, err
	}
	return Restart{Count: inst.Redis.Restarts, Pid: inst.Redis.Pid, Started: inst.Redis.StartedAt}, nil
}

// Kill sends SIGKILL to the instance's redis-server; the sandbox's emulated kubelet
// restarts it. Revert waits for the restart and for the deployment's health.
func (s *Sandbox) Kill(ctx context.Context, name string) (Revert, error) {
	st, err := s.state()
	if err != nil {
		return nil, err
	}
	pid, err := st.Kill(name, syscall.SIGKILL)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error {
		if _, err := st.WaitRestarted(ctx, name, pid, revertTimeout); err != nil {
			return err
		}
		return s.WaitHealthy(ctx, revertTimeout)
	}, nil
}

// Hang freezes the instance's redis-server (SIGSTOP): only the liveness probe can
// notice. Revert resumes it if it was not restarted and waits for health.
func (s *Sandbox) Hang(ctx context.Context, name string) (Revert, error) {
	st, err := s.state()
	if err != nil {
		return nil, err
	}
	_, resume, err := st.Freeze(name)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error {
		if err := resume(ctx); err != nil {
			return err
		}
		return s.WaitHealthy(ctx, revertTimeout)
	}, nil
}

// Stop holds an instance down until Revert.
func (s *Sandbox) Stop(ctx context.Context, name string) (Revert, error) {
	st, err := s.state()
	if err != nil {
		return nil, err
	}
	release, err := st.Stop(ctx, name, revertTimeout)
	if err != nil {
		if release != nil {
			_ = release(context.WithoutCancel(ctx))
		}
		return nil, err
	}
	return func(ctx context.Context) error {
		if err := release(ctx); err != nil {
			return err
		}
		return s.WaitHealthy(ctx, revertTimeout)
	}, nil
}

// WaitHealthy polls the sandbox's own health check until it is clean.
func (s *Sandbox) WaitHealthy(ctx context.Context, timeout time.Duration) error {
	var last []string
	err := poll(ctx, timeout, "the sandbox to be healthy", func() (bool, error) {
		st, err := s.state()
		if err != nil {
			return false, err
		}
		checkCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		report := st.Check(checkCtx, sandbox.CheckOptions{})
		last = report.Problems()
		return report.Healthy(), nil
	})
	if err != nil && len(last) > 0 {
		return fmt.Errorf("%w: %s", err, strings.Join(last, "; "))
	}
	return err
}

// poll runs cond every pollEvery until it holds or timeout passes; what names the
// wait in the error.
func poll(ctx context.Context, timeout time.Duration, what string, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	var lastErr error
	for {
		ok, err := cond()
		if ok {
			return nil
		}
		if err != nil {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return fmt.Errorf("waited %s for %s: %w (last error: %v)", timeout, what, ctx.Err(), lastErr)
			}
			return fmt.Errorf("waited %s for %s: %w", timeout, what, ctx.Err())
		case <-tick.C:
		}
	}
}
