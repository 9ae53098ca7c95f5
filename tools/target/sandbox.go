package target

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/redis-shared/conformance/tools/loadgen"
	"github.com/redis-shared/conformance/tools/probe"
	"github.com/redis-shared/conformance/tools/project"
	"github.com/redis-shared/conformance/tools/sandbox"
	"github.com/redis-shared/conformance/tools/waitfor"
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
	dir string
	// passwords are every password this target has seen (a rotation adds one), so
	// Leaks finds an old one too.
	passwords *[]string
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
	return &Sandbox{dir: dir, passwords: &[]string{password}, bogus: hex.EncodeToString(raw[:])}, nil
}

// password is the current one: the password file, which a rotation rewrites.
func (s *Sandbox) password(st *sandbox.State) (string, error) {
	password, err := st.Password()
	if err != nil {
		return "", fmt.Errorf("sandbox target: %w", err)
	}
	if password != "" && !slices.Contains(*s.passwords, password) {
		*s.passwords = append(*s.passwords, password)
	}
	return password, nil
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
	if addrs := st.Services[project.MasterDNSName]; len(addrs) > 0 {
		ep.Master = addrs[0]
	}
	if addrs := st.Services[project.ReplicasService+"."+project.Namespace+".svc."+project.ClusterDomain]; len(addrs) > 0 {
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

// Probe runs the measurement in-process with a dialer inside the vantage point's
// network namespace.
func (s *Sandbox) Probe(ctx context.Context, from Vantage, req probe.Request) (probe.Report, error) {
	st, err := s.state()
	if err != nil {
		return probe.Report{Kind: req.Kind}, err
	}
	if _, ok := st.Vantages[string(from)]; !ok {
		return probe.Report{Kind: req.Kind}, Unsupported("sandbox %s has no vantage point %q", st.ID, from)
	}
	password, err := s.password(st)
	if err != nil {
		return probe.Report{Kind: req.Kind}, err
	}
	rep, err := probe.Run(ctx, probe.Env{Dial: st.Dialer(string(from)), Password: password}, req)
	rep.Vantage = "sandbox network namespace " + string(from)
	return rep, err
}

func (s *Sandbox) options(from Vantage, addr string, creds Credentials) (*redis.Options, error) {
	st, err := s.state()
	if err != nil {
		return nil, err
	}
	password, err := s.password(st)
	if err != nil {
		return nil, err
	}
	return clientOptions(addr, st.Dialer(string(from)), creds, password, s.bogus), nil
}

// clientOptions are both targets' go-redis options: deadlines, no retries, the
// credentials of creds (applyCredentials).
func clientOptions(addr string, dial loadgen.DialFunc, creds Credentials, password, bogus string) *redis.Options {
	opts := &redis.Options{
		Addr:            addr,
		Dialer:          dial,
		Protocol:        2,
		DisableIdentity: true,
		DialTimeout:     dialTimeout,
		ReadTimeout:     ioTimeout,
		WriteTimeout:    ioTimeout,
		MaxRetries:      -1,
		// One dial per connection: go-redis's default of 5 dial retries turned a LAN
		// host the LoadBalancer drops into minutes per check (issue 17, item 9).
		DialerRetries: 1,
		PoolSize:      4,
		PoolTimeout:   dialTimeout,
		MaintNotificationsConfig: &maintnotifications.Config{
			Mode: maintnotifications.ModeDisabled,
		},
	}
	applyCredentials(opts, creds, password, bogus)
	return opts
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
	password, err := s.password(st)
	if err != nil {
		return nil, err
	}
	// The generator's own client, the one `make bench` chose; it dials from the vantage point.
	return loadgen.NewDialer(loadgen.DefaultClient, loadgen.Endpoint{
		Addr:         addr,
		Password:     password,
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
	st, err := s.state()
	if err != nil {
		return Facts{}, err
	}
	facts := Facts{ChartVersion: "none (the sandbox emulates the chart from the merged helm-values)", Enforcement: SandboxEnforcement, Extra: st.Facts}
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
	info := client.InfoMap(ctx, "server")
	if err := info.Err(); err != nil {
		return facts, fmt.Errorf("INFO server on the master: %w", err)
	}
	facts.RedisVersion = info.Item("Server", "redis_version")
	return facts, nil
}

// Leaks reports whether data holds the password.
func (s *Sandbox) Leaks(data []byte) bool {
	if st, err := s.state(); err == nil {
		_, _ = s.password(st)
	}
	for _, p := range *s.passwords {
		if p != "" && bytes.Contains(data, []byte(p)) {
			return true
		}
	}
	return false
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

// poll runs cond every pollEvery until it holds or timeout passes (waitfor.Until); an
// error of cond is retried and the last one named; what names the wait in the error.
func poll(ctx context.Context, timeout time.Duration, what string, cond func() (bool, error)) error {
	var lastErr error
	err := waitfor.Until(ctx, what, timeout, pollEvery, func(context.Context) (bool, error) {
		ok, err := cond()
		if err != nil {
			lastErr = err
		}
		return ok, nil
	})
	if err != nil && lastErr != nil {
		return fmt.Errorf("%w (last error: %v)", err, lastErr)
	}
	return err
}

// The beersystem side of the sandbox (user story 4): the old dedicated Redis and a pod
// to run the stand-in app in. Sandbox-only: a cluster has its own beersystem.

// OldRedis is beersystem's own Redis before the cutover, as the sandbox serves it.
type OldRedis struct {
	Name string
	// Service is the cluster DNS name it stands for.
	Service string
	// Addr is its in-cluster address host:port.
	Addr string
}

// OldRedis returns where the old beersystem Redis is.
func (s *Sandbox) OldRedis() (OldRedis, error) {
	st, err := s.state()
	if err != nil {
		return OldRedis{}, err
	}
	if st.OldRedis == nil {
		return OldRedis{}, fmt.Errorf("sandbox %s has no old beersystem Redis (brought up by an older build: run `conform sandbox down` and `up`)", st.ID)
	}
	return OldRedis{Name: st.OldRedis.Name, Service: st.OldRedis.Service, Addr: st.OldRedis.Addr}, nil
}

// OldRedisClient returns a client of the old beersystem Redis from the vantage point,
// with the old Redis's own password (which, like the shared one, never leaves the target).
func (s *Sandbox) OldRedisClient(from Vantage) (*redis.Client, error) {
	st, err := s.state()
	if err != nil {
		return nil, err
	}
	old, err := s.OldRedis()
	if err != nil {
		return nil, err
	}
	password, err := st.OldRedisPassword()
	if err != nil {
		return nil, err
	}
	opts, err := s.options(from, old.Addr, NoPassword)
	if err != nil {
		return nil, err
	}
	opts.Password = password
	return redis.NewClient(opts), nil
}

// DecommissionOldRedis stops the old beersystem Redis and keeps it down until Revert,
// which starts it again (empty: it has no persistence).
func (s *Sandbox) DecommissionOldRedis(ctx context.Context) (Revert, error) {
	st, err := s.state()
	if err != nil {
		return nil, err
	}
	revert, err := st.StopOldRedis(ctx, revertTimeout)
	if err != nil {
		if revert != nil {
			_ = revert(context.WithoutCancel(ctx))
		}
		return nil, fmt.Errorf("decommission the old beersystem Redis: %w", err)
	}
	return func(ctx context.Context) error { return revert(ctx) }, nil
}

// HTTPClient returns an HTTP client whose connections start at the vantage point.
func (s *Sandbox) HTTPClient(from Vantage) (*http.Client, error) {
	st, err := s.state()
	if err != nil {
		return nil, err
	}
	return st.HTTPClient(string(from)), nil
}

// AppRedis names the Redis the stand-in beersystem is pointed at.
type AppRedis string

// The two Redis servers of the cutover.
const (
	// AppOnOld is beersystem's own Redis (before the cutover).
	AppOnOld AppRedis = "old"
	// AppOnNew is the redis-shared master Service with the shared Secret's password.
	AppOnNew AppRedis = "new"
)

// BeersystemOptions start the stand-in beersystem.
type BeersystemOptions struct {
	// Binary is the built tools/cmd/beersystem.
	Binary string
	On     AppRedis
	// PodName is its POD_NAME (the client name is beersystem-<PodName>).
	PodName string
	// KeyPrefix is its BEERSYSTEM_KEY_PREFIX: the suite's run prefix, so the harness
	// cleanup removes what it wrote on the new Redis.
	KeyPrefix string
	// TTL is put on every key it writes (sessions and cache).
	TTL time.Duration
	// Log receives its stdout and stderr; nil discards them.
	Log io.Writer
}

// Beersystem is one running stand-in beersystem ("pod").
type Beersystem struct {
	// URL is its HTTP address, reached from the cluster vantage point.
	URL string
	// IP is its pod IP: its connections show with it in CLIENT LIST.
	IP  string
	Pod string
	// Settings describes its Redis env settings without the password.
	Settings string
	cmd      *exec.Cmd
	done     chan struct{}
	waitErr  error
}

// StartBeersystem starts the stand-in beersystem in the sandbox's app pod with the Redis
// env settings a Deployment would give it: REDIS_HOST and REDIS_PORT of the chosen Redis
// and REDIS_PASSWORD from the matching secret. The sandbox has no cluster DNS, so
// REDIS_HOST is the address the sandbox serves the Service name on.
func (s *Sandbox) StartBeersystem(opts BeersystemOptions) (*Beersystem, error) {
	st, err := s.state()
	if err != nil {
		return nil, err
	}
	if st.App == nil {
		return nil, fmt.Errorf("sandbox %s has no app pod (brought up by an older build: run `conform sandbox down` and `up`)", st.ID)
	}
	if opts.Binary == "" || opts.KeyPrefix == "" || opts.TTL <= 0 {
		return nil, errors.New("start beersystem: binary, key prefix and TTL are required")
	}
	var service, addr, password, secret string
	switch opts.On {
	case AppOnOld:
		old, err := s.OldRedis()
		if err != nil {
			return nil, err
		}
		if password, err = st.OldRedisPassword(); err != nil {
			return nil, err
		}
		service, addr, secret = old.Service, old.Addr, "the old Redis's own password file"
	case AppOnNew:
		service = sandbox.MasterService
		addrs := st.Services[service]
		if len(addrs) == 0 {
			return nil, fmt.Errorf("sandbox %s serves no %s", st.ID, service)
		}
		if password, err = s.password(st); err != nil {
			return nil, err
		}
		addr, secret = addrs[0], "the sandbox password file "+st.PasswordFile+" (stand-in for Secret redis-shared-auth key redis-password)"
	default:
		return nil, fmt.Errorf("start beersystem: Redis %q: want %q or %q", opts.On, AppOnOld, AppOnNew)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("start beersystem: address %q of %s: %w", addr, service, err)
	}
	listen := net.JoinHostPort(st.App.IP, strconv.Itoa(st.App.Port))
	ttl := opts.TTL.String()
	cmd := exec.Command(opts.Binary)
	cmd.Env = []string{
		"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
		"REDIS_HOST=" + host,
		"REDIS_PORT=" + port,
		"REDIS_PASSWORD=" + password,
		"POD_NAME=" + opts.PodName,
		"BEERSYSTEM_LISTEN=" + listen,
		"BEERSYSTEM_KEY_PREFIX=" + opts.KeyPrefix,
		"BEERSYSTEM_SESSION_TTL=" + ttl,
		"BEERSYSTEM_CACHE_TTL=" + ttl,
	}
	if opts.Log != nil {
		cmd.Stdout, cmd.Stderr = opts.Log, opts.Log
	}
	// The app dies with the suite that started it, like a pod with its node.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := st.StartApp(cmd); err != nil {
		return nil, err
	}
	app := &Beersystem{
		URL: "http://" + listen,
		IP:  st.App.IP,
		Pod: st.App.Pod,
		Settings: fmt.Sprintf("REDIS_HOST=%s REDIS_PORT=%s (the address the sandbox serves %s on: no cluster DNS here), REDIS_PASSWORD from %s",
			host, port, service, secret),
		cmd:  cmd,
		done: make(chan struct{}),
	}
	go func() {
		app.waitErr = cmd.Wait()
		close(app.done)
	}()
	return app, nil
}

// Pid is the app's process id.
func (b *Beersystem) Pid() int { return b.cmd.Process.Pid }

// Exited reports whether the app has ended, with its exit error.
func (b *Beersystem) Exited() (bool, error) {
	select {
	case <-b.done:
		return true, b.waitErr
	default:
		return false, nil
	}
}

// Stop is scaling the app to zero: SIGTERM, then SIGKILL after grace. It returns the
// app's exit error (nil: it stopped cleanly) once the process is gone.
func (b *Beersystem) Stop(ctx context.Context, grace time.Duration) error {
	if exited, err := b.Exited(); exited {
		return err
	}
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-b.done:
		return b.waitErr
	case <-timer.C:
	case <-ctx.Done():
	}
	_ = b.cmd.Process.Kill()
	<-b.done
	return fmt.Errorf("beersystem did not stop within %s of SIGTERM and was killed: %v", grace, b.waitErr)
}

// Faults only the sandbox can do: the edge-case suite asks for them by interface and
// skips with its reason on a target without them.

// Partitioner drops the network between an instance and the master.
type Partitioner interface {
	// Partition drops every packet between the replica and the master until Revert.
	Partition(ctx context.Context, replica string) (Revert, error)
}

// PasswordRotator rotates the deployment's password the way the runbook does.
type PasswordRotator interface {
	// RotatePassword puts a new password into the Secret and restarts the instances
	// in the runbook's order (master, then each replica), each with its exporter.
	RotatePassword(ctx context.Context) ([]RotationStep, error)
	// PreviousPasswordClient is a client with the password before the last rotation.
	PreviousPasswordClient(from Vantage, addr string) (*redis.Client, error)
}

// RotationStep is one instance restarted during a rotation and how long it took.
type RotationStep struct {
	Instance string
	Took     time.Duration
}

// MemoryLimiter reads the containers' memory limits as the kernel enforces them and
// pushes an instance past its limit.
type MemoryLimiter interface {
	// MemoryLimit is the instance's container memory limit in bytes and what
	// enforces it (cgroup v2, cgroup v1).
	MemoryLimit(instance string) (int64, string, error)
	// OOMKills counts the kernel's OOM kills in the instance's container.
	OOMKills(instance string) (int, error)
	// PushPastMemoryLimit makes the instance's redis-server hold more memory than its
	// container's limit (large unfinished requests, with the valid password) until
	// the kernel ends it; it returns how many bytes it sent.
	PushPastMemoryLimit(ctx context.Context, instance string) (int64, error)
}

var (
	_ Partitioner     = (*Sandbox)(nil)
	_ PasswordRotator = (*Sandbox)(nil)
	_ MemoryLimiter   = (*Sandbox)(nil)
)

// Partition drops the packets between the replica's pod and the master's in the
// replica's namespace (nftables).
func (s *Sandbox) Partition(_ context.Context, replica string) (Revert, error) {
	st, err := s.state()
	if err != nil {
		return nil, err
	}
	heal, err := st.Partition(replica)
	if err != nil {
		return nil, err
	}
	return Revert(heal), nil
}

// RotatePassword writes a new password into the sandbox's Secret stand-in and
// restarts every instance, master first, each with its exporter.
func (s *Sandbox) RotatePassword(ctx context.Context) ([]RotationStep, error) {
	st, err := s.state()
	if err != nil {
		return nil, err
	}
	if _, err := s.password(st); err != nil {
		return nil, err
	}
	steps, err := st.RotatePassword(ctx, revertTimeout)
	if _, perr := s.password(st); perr != nil {
		err = errors.Join(err, perr)
	}
	out := make([]RotationStep, 0, len(steps))
	for _, step := range steps {
		out = append(out, RotationStep{Instance: step.Instance, Took: step.Took})
	}
	return out, err
}

// PreviousPasswordClient is a client with the password before the last rotation.
func (s *Sandbox) PreviousPasswordClient(from Vantage, addr string) (*redis.Client, error) {
	if len(*s.passwords) < 2 {
		return nil, errors.New("sandbox target: no rotation has happened, there is no previous password")
	}
	opts, err := s.options(from, addr, Valid)
	if err != nil {
		return nil, err
	}
	opts.Password = (*s.passwords)[len(*s.passwords)-2]
	return redis.NewClient(opts), nil
}

// MemoryLimit reads the instance's cgroup memory limit.
func (s *Sandbox) MemoryLimit(instance string) (int64, string, error) {
	st, err := s.state()
	if err != nil {
		return 0, "", err
	}
	return st.MemoryLimit(instance)
}

// OOMKills reads the instance's cgroup OOM kill count.
func (s *Sandbox) OOMKills(instance string) (int, error) {
	st, err := s.state()
	if err != nil {
		return 0, err
	}
	return st.OOMKills(instance)
}

// PushPastMemoryLimit opens connections to the instance that each send a SET whose
// value is a single bulk string of hundreds of MB and never finish it: Redis keeps
// the unfinished request in the client's query buffer (client-query-buffer-limit is
// 1 GB, proto-max-bulk-len 512 MB), so together they pass the container's limit.
// Nothing is ever stored: the command never completes.
func (s *Sandbox) PushPastMemoryLimit(ctx context.Context, instance string) (int64, error) {
	st, err := s.state()
	if err != nil {
		return 0, err
	}
	inst, err := st.Instance(instance)
	if err != nil {
		return 0, err
	}
	limit, _, err := st.MemoryLimit(instance)
	if err != nil {
		return 0, err
	}
	if limit <= 0 {
		return 0, fmt.Errorf("%s has no memory limit to push past", instance)
	}
	password, err := s.password(st)
	if err != nil {
		return 0, err
	}
	const perConn = 400 << 20 // under proto-max-bulk-len (512 MB)
	conns := int(limit*3/2/perConn) + 1
	var sent atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := range conns {
		wg.Go(func() {
			errs <- s.fillQueryBuffer(ctx, st, inst.Addr, password, fmt.Sprintf("oom-push-%d", i), perConn, &sent)
		})
	}
	wg.Wait()
	close(errs)
	var first error
	for err := range errs {
		if err != nil && first == nil {
			first = err
		}
	}
	return sent.Load(), first
}

// fillQueryBuffer authenticates and streams one unfinished bulk string until the
// server goes away (the expected end) or all of it is sent.
func (s *Sandbox) fillQueryBuffer(ctx context.Context, st *sandbox.State, addr, password, key string, size int64, sent *atomic.Int64) error {
	dialCtx, cancel := context.WithTimeout(ctx, dialTimeout)
	conn, err := st.Dialer(string(Cluster))(dialCtx, "tcp", addr)
	cancel()
	if err != nil {
		return fmt.Errorf("dial %s: %w", addr, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Minute))
	if password != "" {
		if _, err := fmt.Fprintf(conn, "*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n", len(password), password); err != nil {
			return fmt.Errorf("AUTH: %w", err)
		}
		reply := make([]byte, 5)
		if _, err := io.ReadFull(conn, reply); err != nil || string(reply) != "+OK\r\n" {
			return fmt.Errorf("AUTH on %s was not accepted (%q, %v)", addr, reply, err)
		}
	}
	if _, err := fmt.Fprintf(conn, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n", len(key), key, size+1); err != nil {
		return fmt.Errorf("SET header: %w", err)
	}
	chunk := bytes.Repeat([]byte("x"), 1<<20)
	for written := int64(0); written < size; written += int64(len(chunk)) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		n, err := conn.Write(chunk)
		sent.Add(int64(n))
		if err != nil {
			return nil // the server is gone: what this push is for
		}
	}
	return nil
}
