package sandbox

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis-shared/conformance/tools/project"
)

// ErrPrivileges means the process lacks the capabilities to build namespaces.
var ErrPrivileges = errors.New("the sandbox needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) to create network namespaces")

// ErrAlreadyUp means the state dir belongs to a sandbox that is still running.
var ErrAlreadyUp = errors.New("a sandbox is already up in this state dir (run `conform sandbox down` first)")

// Environment the supervisor process gets: its sandbox id (so `down` can find a
// supervisor whose state file is gone) and the fd of its registry lock.
const (
	EnvSupervisorID = "REDIS_SHARED_SANDBOX_ID"
	envLockFD       = "REDIS_SHARED_SANDBOX_LOCK_FD"
	// upTimeout bounds `up`: start-up, the replicas' first sync (repl-diskless-sync-delay
	// 5 s) and Prometheus' first scrape of each target (up to one interval).
	upTimeout = 90 * time.Second
)

// Options steer Up.
type Options struct {
	// StateDir holds the state file, password, configs, data and logs.
	StateDir string
	// ValuesFiles are recorded in the state file to say what the sandbox was built from.
	ValuesFiles []string
	// SupervisorCommand returns the command that runs Supervise(stateDir); Up detaches
	// it. Nil means this executable with `sandbox supervise --state-dir DIR`.
	SupervisorCommand func(stateDir string) (*exec.Cmd, error)
}

// Binaries the sandbox runs, from Debian's packages.
type binaries struct {
	redis, exporter, prometheus string
}

func findBinaries(metrics bool) (binaries, error) {
	var b binaries
	var err error
	if b.redis, err = exec.LookPath("redis-server"); err != nil {
		return b, fmt.Errorf("redis-server not found (Debian package redis-server; run `make deps`): %w", err)
	}
	if !metrics {
		return b, nil
	}
	if b.exporter, err = exec.LookPath("prometheus-redis-exporter"); err != nil {
		if b.exporter, err = exec.LookPath("redis_exporter"); err != nil {
			return b, fmt.Errorf("redis exporter not found (Debian package prometheus-redis-exporter; run `make deps`): %w", err)
		}
	}
	if b.prometheus, err = exec.LookPath("prometheus"); err != nil {
		return b, fmt.Errorf("prometheus not found (Debian package prometheus; run `make deps`): %w", err)
	}
	return b, nil
}

// CheckPrivileges returns ErrPrivileges unless the process may create namespaces.
func CheckPrivileges() error {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return fmt.Errorf("%w: read capabilities: %v", ErrPrivileges, err)
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		hexCaps, ok := strings.CutPrefix(scanner.Text(), "CapEff:")
		if !ok {
			continue
		}
		caps, err := strconv.ParseUint(strings.TrimSpace(hexCaps), 16, 64)
		if err != nil {
			return fmt.Errorf("%w: parse CapEff: %v", ErrPrivileges, err)
		}
		const capNetAdmin, capSysAdmin = 12, 21
		if caps&(1<<capNetAdmin) == 0 || caps&(1<<capSysAdmin) == 0 {
			return ErrPrivileges
		}
		return nil
	}
	return fmt.Errorf("%w: no CapEff line in /proc/self/status", ErrPrivileges)
}

// Up builds the sandbox from cfg, starts its detached supervisor and returns once
// every instance answers, replicas are linked and Prometheus is ready.
func Up(ctx context.Context, cfg Config, opts Options) (*State, error) {
	if err := CheckPrivileges(); err != nil {
		return nil, err
	}
	bins, facts, err := runtimeBinaries(cfg.Metrics.Enabled)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(opts.StateDir)
	if err != nil || opts.StateDir == "" {
		return nil, fmt.Errorf("state dir %q: not usable", opts.StateDir)
	}
	if err := Sweep(ctx); err != nil {
		return nil, fmt.Errorf("remove leftovers of crashed sandboxes: %w", err)
	}
	if old, err := LoadState(dir); err == nil {
		if registryHeld(old.ID) {
			return nil, fmt.Errorf("%s: %w", dir, ErrAlreadyUp)
		}
		if err := teardown(ctx, old.ID, dir); err != nil {
			return nil, fmt.Errorf("remove the earlier sandbox in %s: %w", dir, err)
		}
	}

	id, err := newID()
	if err != nil {
		return nil, err
	}
	lock, err := takeRegistryLock(id, dir)
	if err != nil {
		return nil, err
	}
	defer lock.Close() // the supervisor holds its own copy from here on

	failed := func(err error) (*State, error) {
		err = errors.Join(err, teardown(context.WithoutCancel(ctx), id, dir))
		return nil, fmt.Errorf("sandbox %s did not come up (removed again): %w", id, err)
	}
	st, err := build(ctx, id, dir, cfg, bins, facts, opts)
	if err != nil {
		return failed(err)
	}
	if err := startSupervisor(st, lock, opts); err != nil {
		return failed(err)
	}
	if st, err = waitUp(ctx, st); err != nil {
		return failed(err)
	}
	return st, nil
}

func newID() (string, error) {
	raw := make([]byte, 3)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("sandbox id: %w", err)
	}
	return hex.EncodeToString(raw), nil
}

// build makes the network, the files and the initial state.
func build(ctx context.Context, id, dir string, cfg Config, bins binaries, facts map[string]string, opts Options) (*State, error) {
	topo, err := newTopology(id, cfg)
	if err != nil {
		return nil, err
	}
	for _, sub := range []string{"", "instances", "logs", "hold"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("state dir: %w", err)
		}
	}
	password := ""
	if cfg.AuthEnabled {
		raw := make([]byte, 24)
		if _, err := rand.Read(raw); err != nil {
			return nil, fmt.Errorf("generate password: %w", err)
		}
		password = hex.EncodeToString(raw)
	}
	passwordFile := filepath.Join(dir, "redis-password")
	if err := os.WriteFile(passwordFile, []byte(password+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write password file: %w", err)
	}
	if cfg.Metrics.PinnedPassword != "" {
		// The exporters' Secret is not the auth Secret: it keeps this password.
		if err := os.WriteFile(filepath.Join(dir, staleExporterPasswordFile), []byte(password+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("write the exporters' password file: %w", err)
		}
	}

	if err := buildNetwork(topo); err != nil {
		return nil, err
	}
	dataDir, dataFact, err := dataRoot(dir, id)
	if err != nil {
		return nil, err
	}
	facts[FactDataFilesystem] = dataFact
	if facts[FactDataFsync], err = dataFsyncFact(dataDir); err != nil {
		return nil, err
	}
	groups := detectCgroups(id)

	st := &State{
		SchemaVersion: StateSchemaVersion,
		ID:            id,
		Dir:           dir,
		Phase:         PhaseStarting,
		CreatedAt:     time.Now().UTC(),
		ValuesFiles:   opts.ValuesFiles,
		Namespaces:    topo.namespaces(),
		Vantages: map[string]string{
			VantageCluster: netnsName(id, "client"),
			VantageLAN:     topo.lan,
			VantageOutside: topo.outside,
		},
		Services:     map[string][]string{},
		AuthEnabled:  cfg.AuthEnabled,
		PasswordFile: passwordFile,
		Cgroups:      groups,
		Facts:        facts,
	}
	var limits []string
	var targets []scrapeTarget
	for _, p := range topo.pods {
		var role RoleConfig
		switch {
		case p.name == "master":
			role = cfg.Master
		case strings.HasPrefix(p.name, "replica-"):
			role = cfg.Replica
		default:
			continue
		}
		inst := Instance{
			Name:        p.name,
			Role:        map[bool]string{true: "master", false: "replica"}[p.name == "master"],
			Pod:         p.podRef,
			Netns:       p.netns,
			Addr:        fmt.Sprintf("%s:%d", p.ip, redisPort),
			Persistence: role.Persistence,
			DataDir:     filepath.Join(dataDir, p.name, "data"),
			Limits:      role.Resources,
			Liveness: Liveness{
				Enabled:             role.Liveness.Enabled,
				InitialDelaySeconds: int(role.Liveness.InitialDelay / time.Second),
				PeriodSeconds:       int(role.Liveness.Period / time.Second),
				TimeoutSeconds:      int(role.Liveness.Timeout / time.Second),
				FailureThreshold:    role.Liveness.FailureThreshold,
			},
		}
		limits = append(limits, fmt.Sprintf("%s redis %s", p.name, role.Resources))
		if cfg.Metrics.Enabled {
			inst.ExporterLimits = cfg.Metrics.Resources
			limits = append(limits, fmt.Sprintf("%s exporter %s", p.name, cfg.Metrics.Resources))
			inst.ExporterAddr = fmt.Sprintf("%s:%d", p.ip, exporterPort)
			inst.Exporter = &Process{}
			targets = append(targets, scrapeTarget{addr: inst.ExporterAddr, pod: p.podRef})
		}
		instDir := filepath.Join(dir, "instances", p.name)
		if err := os.MkdirAll(inst.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("instance dir: %w", err)
		}
		conf := redisConf(role, inst.Role == "replica", p.ip, inst.DataDir, password)
		if err := os.WriteFile(filepath.Join(instDir, "redis.conf"), []byte(conf), 0o600); err != nil {
			return nil, fmt.Errorf("write redis.conf for %s: %w", p.name, err)
		}
		st.Instances = append(st.Instances, inst)
		svc := project.Release + "-replicas"
		if inst.Role == "master" {
			svc = project.Release + "-master"
		}
		st.Services[svc+"."+project.Namespace+".svc.cluster.local"] = append(st.Services[svc+"."+project.Namespace+".svc.cluster.local"], inst.Addr)
		st.Services[project.Release+"-headless."+project.Namespace+".svc.cluster.local"] = append(st.Services[project.Release+"-headless."+project.Namespace+".svc.cluster.local"], inst.Addr)
	}
	switch groups.Driver {
	case CgroupNone:
		facts[FactResourceLimits] = "NOT enforced: " + groups.Why
	default:
		facts[FactResourceLimits] = fmt.Sprintf("%s (%s): %s", groups.Driver, groups.Why, strings.Join(limits, "; "))
		if groups.Driver == CgroupV2 {
			facts[FactResourceLimits] = fmt.Sprintf("%s memory.max and cpu.max: %s", groups.Driver, strings.Join(limits, "; "))
		}
	}
	facts[FactNotEmulated] = strings.Join(cfg.NotEmulated, ", ")
	if err := buildOldRedis(st, topo); err != nil {
		return nil, err
	}
	if app, ok := topo.pod(project.App); ok {
		st.App = &AppPod{Pod: app.podRef, Netns: app.netns, IP: app.ip.String(), Port: appPort}
	}
	if topo.lbIP.IsValid() {
		lb := &LoadBalancer{Name: cfg.LAN.Name, Addr: fmt.Sprintf("%s:%d", topo.lbIP, topo.lbPort), Netns: topo.node}
		for _, r := range topo.ranges {
			lb.SourceRanges = append(lb.SourceRanges, r.String())
		}
		st.LoadBalancer = lb
	}
	if cfg.Metrics.Enabled {
		promDir := filepath.Join(dir, "prometheus")
		if err := os.MkdirAll(filepath.Join(promDir, "data"), 0o700); err != nil {
			return nil, fmt.Errorf("prometheus dir: %w", err)
		}
		hasRules := cfg.Metrics.RuleFile != nil
		if hasRules {
			if err := os.WriteFile(filepath.Join(promDir, "rules.yml"), cfg.Metrics.RuleFile, 0o644); err != nil {
				return nil, fmt.Errorf("write rules.yml: %w", err)
			}
		}
		promConf, err := prometheusConfig(cfg.Metrics, targets, hasRules)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(promDir, "prometheus.yml"), promConf, 0o644); err != nil {
			return nil, fmt.Errorf("write prometheus.yml: %w", err)
		}
		st.Prometheus = &PrometheusEndpoint{URL: fmt.Sprintf("http://%s:%d", prometheus4, prometheusPort), Vantage: VantageCluster, ScrapeInterval: cfg.Metrics.Interval}
		if cfg.Metrics.ServiceMonitor {
			for _, t := range targets {
				st.Prometheus.Targets = append(st.Prometheus.Targets, t.pod)
			}
		}
	}
	if err := writeBinaries(dir, bins); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return st, st.save()
}

// buildOldRedis writes the old beersystem Redis's config and password and records it
// in st: beersystem's own instance, so it gets a password of its own.
func buildOldRedis(st *State, topo topology) error {
	p, ok := topo.pod(project.OldRedis)
	if !ok {
		return fmt.Errorf("topology has no %s pod", project.OldRedis)
	}
	instDir := filepath.Join(st.Dir, "instances", project.OldRedis)
	old := &OldRedis{
		Name:         project.OldRedis,
		Service:      oldRedisService,
		Pod:          p.podRef,
		Netns:        p.netns,
		Addr:         fmt.Sprintf("%s:%d", p.ip, redisPort),
		DataDir:      filepath.Join(instDir, "data"),
		PasswordFile: filepath.Join(instDir, "redis-password"),
	}
	if err := os.MkdirAll(old.DataDir, 0o700); err != nil {
		return fmt.Errorf("%s dir: %w", project.OldRedis, err)
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return fmt.Errorf("generate the %s password: %w", project.OldRedis, err)
	}
	password := hex.EncodeToString(raw)
	if err := os.WriteFile(old.PasswordFile, []byte(password+"\n"), 0o600); err != nil {
		return fmt.Errorf("write the %s password file: %w", project.OldRedis, err)
	}
	if err := os.WriteFile(filepath.Join(instDir, "redis.conf"), []byte(oldRedisConf(old.DataDir, password)), 0o600); err != nil {
		return fmt.Errorf("write redis.conf for %s: %w", project.OldRedis, err)
	}
	st.OldRedis = old
	st.Services[old.Service] = []string{old.Addr}
	return nil
}

// writeBinaries records the resolved paths for the supervisor (it may run with another PATH).
func writeBinaries(dir string, b binaries) error {
	text := fmt.Sprintf("redis=%s\nexporter=%s\nprometheus=%s\n", b.redis, b.exporter, b.prometheus)
	if err := os.WriteFile(filepath.Join(dir, "instances", "binaries"), []byte(text), 0o600); err != nil {
		return fmt.Errorf("write binaries: %w", err)
	}
	return nil
}

func readBinaries(dir string) (binaries, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "instances", "binaries"))
	if err != nil {
		return binaries{}, fmt.Errorf("read binaries: %w", err)
	}
	var b binaries
	for _, line := range strings.Split(string(raw), "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "redis":
			b.redis = v
		case "exporter":
			b.exporter = v
		case "prometheus":
			b.prometheus = v
		}
	}
	return b, nil
}

func startSupervisor(st *State, lock *os.File, opts Options) error {
	makeCmd := opts.SupervisorCommand
	if makeCmd == nil {
		makeCmd = func(dir string) (*exec.Cmd, error) {
			exe, err := os.Executable()
			if err != nil {
				return nil, fmt.Errorf("find own executable: %w", err)
			}
			return exec.Command(exe, "sandbox", "supervise", "--state-dir", dir), nil
		}
	}
	cmd, err := makeCmd(st.Dir)
	if err != nil {
		return err
	}
	logFile, err := os.OpenFile(filepath.Join(st.Dir, "logs", "supervisor.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("supervisor log: %w", err)
	}
	defer logFile.Close()
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, EnvSupervisorID+"="+st.ID, envLockFD+"=3")
	cmd.ExtraFiles = []*os.File{lock}
	cmd.Stdin = nil
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // outlive the CLI and its terminal
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start supervisor: %w", err)
	}
	// Reap it if it ends while this process still runs (tests); harmless for the CLI.
	go func() { _ = cmd.Wait() }()
	return nil
}

// waitUp waits for the supervisor to start everything and for the sandbox to be healthy.
func waitUp(ctx context.Context, st *State) (*State, error) {
	deadline := time.Now().Add(upTimeout)
	current := st
	err := waitFor(ctx, upTimeout, "the supervisor to start every process", func() (bool, error) {
		fresh, err := LoadState(st.Dir)
		if err != nil {
			return false, err
		}
		current = fresh
		if fresh.Supervisor.Pid > 0 && !processAlive(fresh.Supervisor.Pid) {
			return false, permanentError{fmt.Errorf("supervisor exited: %s", logTail(filepath.Join(st.Dir, "logs", "supervisor.log")))}
		}
		return fresh.Phase == PhaseRunning, nil
	})
	if err != nil {
		return nil, err
	}
	var last Report
	err = waitFor(ctx, time.Until(deadline), "every instance and Prometheus to answer", func() (bool, error) {
		fresh, err := LoadState(st.Dir)
		if err != nil {
			return false, err
		}
		current = fresh
		if err := crashedDuringStart(fresh); err != nil {
			return false, permanentError{err}
		}
		last = fresh.Check(ctx, CheckOptions{SkipLink: true})
		return last.Healthy(), nil
	})
	if errors.As(err, new(permanentError)) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, strings.Join(last.Problems(), "; "))
	}
	// Healthy means what `status` means: every replica linked and every target
	// scraped at least once, so a check that starts right after `up` finds both.
	err = waitFor(ctx, time.Until(deadline), "every replica's link to come up and Prometheus to scrape every target", func() (bool, error) {
		fresh, err := LoadState(st.Dir)
		if err != nil {
			return false, err
		}
		current = fresh
		if err := crashedDuringStart(fresh); err != nil {
			return false, permanentError{err}
		}
		last = fresh.Check(ctx, CheckOptions{Targets: true, Scraped: true})
		return last.Healthy(), nil
	})
	if errors.As(err, new(permanentError)) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("%w; not up: %s", err, strings.Join(last.Problems(), "; "))
	}
	return current, nil
}

// crashedDuringStart reports a process that already exited once while `up` waits:
// a bad value (an unknown redis directive, a broken rule) makes it crash-loop.
func crashedDuringStart(st *State) error {
	check := func(name, logName string, p *Process) error {
		if p == nil || p.LastExit == nil || p.LastExit.Reason != ExitReasonExited {
			return nil
		}
		return fmt.Errorf("%s exited during start-up (%s): %s", name, p.LastExit.Status, logTail(filepath.Join(st.Dir, "logs", logName)))
	}
	var errs []error
	for _, inst := range st.Instances {
		errs = append(errs, check(inst.Name, inst.Name+".log", &inst.Redis), check(inst.Name+" exporter", inst.Name+"-exporter.log", inst.Exporter))
	}
	if st.Prometheus != nil {
		errs = append(errs, check("prometheus", "prometheus.log", &st.Prometheus.Process))
	}
	if st.OldRedis != nil {
		errs = append(errs, check(st.OldRedis.Name, st.OldRedis.Name+".log", &st.OldRedis.Redis))
	}
	return errors.Join(errs...)
}

// logTail returns the last lines of a log file, for error messages.
func logTail(path string) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.Join(lines, " | ")
}

// takeRegistryLock creates and locks the registry file of id, naming dir in it.
func takeRegistryLock(id, dir string) (*os.File, error) {
	if err := os.MkdirAll(registryDir, 0o700); err != nil {
		return nil, fmt.Errorf("registry dir: %w", err)
	}
	// Lock first, then rename into place: a sweep never sees an unlocked entry of a
	// sandbox that is still coming up.
	tmp := registryPath(id) + ".new"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("registry lock: %w", err)
	}
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if err == nil {
		_, err = f.WriteString(dir + "\n")
	}
	if err == nil {
		err = os.Rename(tmp, registryPath(id))
	}
	if err != nil {
		f.Close()
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("registry lock %s: %w", registryPath(id), err)
	}
	return f, nil
}

// registryHeld says whether a live supervisor (or an `up` in progress) holds id's lock.
func registryHeld(id string) bool {
	f, err := os.Open(registryPath(id))
	if err != nil {
		return false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return true
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}

// Down stops the sandbox whose state is in dir and removes everything it made, then
// removes the leftovers of any crashed sandbox. Running it again is harmless.
func Down(ctx context.Context, dir string) error {
	if err := CheckPrivileges(); err != nil {
		return err
	}
	ctx = context.WithoutCancel(ctx) // finish cleaning up even when interrupted
	dir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	var errs []error
	st, err := LoadState(dir)
	switch {
	case err == nil:
		errs = append(errs, teardown(ctx, st.ID, dir))
	case errors.Is(err, fs.ErrNotExist):
	default:
		errs = append(errs, err)
	}
	errs = append(errs, Sweep(ctx))
	return errors.Join(errs...)
}

// Sweep tears down every sandbox whose namespaces or registry entry remain while no
// supervisor holds its lock: what a crashed run left.
func Sweep(ctx context.Context) error {
	ids := map[string]bool{}
	names, err := listNetNS()
	if err != nil {
		return err
	}
	for _, name := range names {
		if m := idPattern.FindStringSubmatch(name); m != nil {
			ids[m[1]] = true
		}
	}
	for _, id := range listCgroupIDs() {
		ids[id] = true
	}
	if entries, err := os.ReadDir(dataRootBase); err == nil {
		for _, e := range entries {
			ids[e.Name()] = true
		}
	}
	entries, err := os.ReadDir(registryDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("list %s: %w", registryDir, err)
	}
	for _, e := range entries {
		if id, ok := strings.CutSuffix(e.Name(), ".lock"); ok {
			ids[id] = true
		}
	}
	var errs []error
	for id := range ids {
		if registryHeld(id) {
			continue
		}
		dir := ""
		if raw, err := os.ReadFile(registryPath(id)); err == nil {
			dir = strings.TrimSpace(string(raw))
		}
		errs = append(errs, teardown(ctx, id, dir))
	}
	return errors.Join(errs...)
}

// teardown removes sandbox id: its supervisor, every process in its namespaces, the
// namespaces (and with the node namespace its nftables table), its files in dir (when
// dir's state file is id's or gone) and its registry entry.
func teardown(ctx context.Context, id, dir string) error {
	var errs []error
	for _, pid := range findSupervisors(id) {
		errs = append(errs, stopProcess(ctx, pid, 5*time.Second))
	}
	names, err := listNetNS()
	errs = append(errs, err)
	var mine []string
	for _, name := range names {
		if strings.HasPrefix(name, namePrefix+id+"-") {
			mine = append(mine, name)
		}
	}
	errs = append(errs, killNetNSProcesses(ctx, mine))
	for _, name := range mine {
		errs = append(errs, deleteNetNS(name))
	}
	if dir != "" {
		st, err := LoadState(dir)
		if errors.Is(err, fs.ErrNotExist) || (err == nil && st.ID == id) {
			errs = append(errs, removeStateDir(dir))
		}
	}
	errs = append(errs, removeCgroups(id), removeDataRoot(id))
	if err := os.Remove(registryPath(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// findSupervisors returns the pids of supervisors of sandbox id, found by the
// environment variable Up gives them (their state file may be gone).
func findSupervisors(id string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	marker := EnvSupervisorID + "=" + id
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err != nil {
			continue
		}
		for _, entry := range strings.Split(string(env), "\x00") {
			if entry == marker {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// stopProcess sends SIGTERM, waits up to grace, then SIGKILLs.
func stopProcess(ctx context.Context, pid int, grace time.Duration) error {
	if !processAlive(pid) {
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	if waitFor(ctx, grace, fmt.Sprintf("process %d to exit after SIGTERM", pid), func() (bool, error) {
		return !processAlive(pid), nil
	}) == nil {
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	return waitFor(ctx, 3*time.Second, fmt.Sprintf("process %d to exit after SIGKILL", pid), func() (bool, error) {
		return !processAlive(pid), nil
	})
}
