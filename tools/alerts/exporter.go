package alerts

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// Binaries a live exporter scrape needs, in the names Debian and upstream use.
var (
	redisServerNames = []string{"redis-server"}
	exporterNames    = []string{"prometheus-redis-exporter", "redis_exporter"}
)

// ExporterBinaries are the programs ScrapeExporters runs.
type ExporterBinaries struct {
	RedisServer string
	Exporter    string
}

// FindExporterBinaries looks the binaries up on PATH.
func FindExporterBinaries() (ExporterBinaries, error) {
	find := func(names []string) (string, error) {
		for _, n := range names {
			if path, err := exec.LookPath(n); err == nil {
				return path, nil
			}
		}
		return "", fmt.Errorf("none of %s on PATH", strings.Join(names, ", "))
	}
	var b ExporterBinaries
	var err error
	if b.RedisServer, err = find(redisServerNames); err != nil {
		return ExporterBinaries{}, err
	}
	if b.Exporter, err = find(exporterNames); err != nil {
		return ExporterBinaries{}, err
	}
	return b, nil
}

// ExporterScrape is what a live scrape found.
type ExporterScrape struct {
	// Names are the metric names of both exporters, sorted, without repeats.
	Names []string
	// ExporterVersion and RedisVersion say what produced them.
	ExporterVersion string
	RedisVersion    string
}

// Lab is a password-protected redis-server master and replica on loopback ports with
// one exporter against each, as the chart's sidecars run. Close stops all of it.
type Lab struct {
	// MasterExporter and ReplicaExporter are the exporters' host:port.
	MasterExporter  string
	ReplicaExporter string
	RedisVersion    string

	workDir string
	procs   []*exec.Cmd
}

// Directives the lab sets itself; a redisConfig entry for them is ignored.
var labOwnDirectives = map[string]bool{"port": true, "bind": true, "dir": true, "requirepass": true, "masterauth": true, "replicaof": true, "slaveof": true, "daemonize": true, "logfile": true, "rename-command": true}

// StartLab starts the lab in workDir (data and logs), with redisConfig (directive ->
// arguments, e.g. values.Tree.EffectiveRedisConfig) on both instances, waits for the
// replication link, sends a few commands so per-command, hit and miss series exist,
// and waits until both exporters report redis_up 1. On error everything started is
// stopped again.
func StartLab(ctx context.Context, bin ExporterBinaries, workDir string, redisConfig map[string]string) (lab *Lab, err error) {
	lab = &Lab{workDir: workDir}
	defer func() {
		if err != nil {
			lab.Close()
			lab = nil
		}
	}()
	password, err := randomPassword()
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	masterPort, replicaPort := ports[0], ports[1]
	lab.MasterExporter, lab.ReplicaExporter = addr(ports[2]), addr(ports[3])

	for _, role := range []string{"master", "replica"} {
		dir := filepath.Join(workDir, role)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", dir, err)
		}
		port := masterPort
		extra := []string{}
		if role == "replica" {
			port = replicaPort
			extra = []string{"--replicaof", "127.0.0.1", strconv.Itoa(masterPort)}
		}
		args := append([]string{bin.RedisServer,
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
			"--requirepass", password, "--masterauth", password,
			"--appendonly", "yes", "--save", ""}, extra...)
		directives := make([]string, 0, len(redisConfig))
		for d := range redisConfig {
			if !labOwnDirectives[d] {
				directives = append(directives, d)
			}
		}
		sort.Strings(directives)
		for _, d := range directives {
			args = append(args, "--"+d, redisConfig[d])
		}
		if err := lab.start("redis-"+role, nil, args...); err != nil {
			return nil, err
		}
	}

	master := redis.NewClient(&redis.Options{Addr: addr(masterPort), Password: password, DialTimeout: time.Second, ReadTimeout: time.Second})
	defer master.Close()
	replica := redis.NewClient(&redis.Options{Addr: addr(replicaPort), Password: password, DialTimeout: time.Second, ReadTimeout: time.Second})
	defer replica.Close()
	if err := waitFor(ctx, "master and replica answer PING", func() error {
		if err := master.Ping(ctx).Err(); err != nil {
			return err
		}
		return replica.Ping(ctx).Err()
	}); err != nil {
		return nil, err
	}
	if err := waitFor(ctx, "replica link up", func() error {
		info := replica.InfoMap(ctx, "replication")
		if err := info.Err(); err != nil {
			return err
		}
		if info.Item("Replication", "master_link_status") != "up" {
			return errors.New("master_link_status is not up")
		}
		return nil
	}); err != nil {
		return nil, err
	}
	// Per-command, keyspace hit and miss series appear only once such commands ran.
	if err := master.Set(ctx, "metric-names:probe", "1", time.Minute).Err(); err != nil {
		return nil, fmt.Errorf("SET on master: %w", err)
	}
	if err := master.Get(ctx, "metric-names:probe").Err(); err != nil {
		return nil, fmt.Errorf("GET on master: %w", err)
	}
	if err := master.Get(ctx, "metric-names:absent").Err(); !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("GET of an absent key on master: %v", err)
	}
	if err := replica.Get(ctx, "metric-names:probe").Err(); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("GET on replica: %w", err)
	}
	info := master.InfoMap(ctx, "server")
	if err := info.Err(); err != nil {
		return nil, fmt.Errorf("INFO server: %w", err)
	}
	lab.RedisVersion = info.Item("Server", "redis_version")

	env := []string{"REDIS_PASSWORD=" + password}
	for _, e := range []struct {
		role      string
		redisPort int
		listen    string
	}{
		{"master", masterPort, lab.MasterExporter},
		{"replica", replicaPort, lab.ReplicaExporter},
	} {
		if err := lab.start("exporter-"+e.role, env, bin.Exporter,
			"-redis.addr", "redis://"+addr(e.redisPort),
			"-web.listen-address", e.listen); err != nil {
			return nil, err
		}
	}
	for _, exporter := range []string{lab.MasterExporter, lab.ReplicaExporter} {
		url := "http://" + exporter + "/metrics"
		if err := waitFor(ctx, "redis_up 1 at "+url, func() error {
			body, err := httpGet(ctx, url)
			if err != nil {
				return err
			}
			if !strings.Contains(body, "\nredis_up 1") {
				return errors.New("redis_up is not 1 yet")
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return lab, nil
}

// Start runs one more process of the lab (a Prometheus, say), logging into the lab's
// folder; Close stops it with the rest.
func (l *Lab) Start(name string, args ...string) error {
	return l.start(name, nil, args...)
}

func (l *Lab) start(name string, env []string, args ...string) error {
	logFile, err := os.Create(filepath.Join(l.workDir, name+".log"))
	if err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	defer logFile.Close()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Killed with this process even if it dies before Close runs.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	l.procs = append(l.procs, cmd)
	return nil
}

// Close stops every process the lab started.
func (l *Lab) Close() {
	for _, p := range l.procs {
		_ = p.Process.Kill()
		_ = p.Wait()
	}
	l.procs = nil
}

// Scrape reads both exporters once and returns the union of their metric names.
func (l *Lab) Scrape(ctx context.Context) (ExporterScrape, error) {
	names := map[string]bool{}
	scrape := ExporterScrape{RedisVersion: l.RedisVersion}
	for _, exporter := range []string{l.MasterExporter, l.ReplicaExporter} {
		body, err := httpGet(ctx, "http://"+exporter+"/metrics")
		if err != nil {
			return ExporterScrape{}, err
		}
		families, version := parseExposition(body)
		for n := range families {
			names[n] = true
		}
		scrape.ExporterVersion = version
	}
	for n := range names {
		scrape.Names = append(scrape.Names, n)
	}
	sort.Strings(scrape.Names)
	return scrape, nil
}

// ScrapeExporters starts a Lab, scrapes both exporters and stops it again.
func ScrapeExporters(ctx context.Context, bin ExporterBinaries, workDir string, redisConfig map[string]string) (ExporterScrape, error) {
	lab, err := StartLab(ctx, bin, workDir, redisConfig)
	if err != nil {
		return ExporterScrape{}, err
	}
	defer lab.Close()
	return lab.Scrape(ctx)
}

func addr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

func randomPassword() (string, error) {
	buf := make([]byte, 16)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("random password: %w", err)
	}
	return hex.EncodeToString(buf), nil
}

// freePorts asks the kernel for n free loopback ports.
func freePorts(n int) ([]int, error) {
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free loopback port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// waitFor retries check every 100 ms until it succeeds or ctx ends.
func waitFor(ctx context.Context, what string, check func() error) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := check()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w (last: %v)", what, ctx.Err(), err)
		case <-tick.C:
		}
	}
}

func httpGet(ctx context.Context, url string) (string, error) {
	reqCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", url, err)
	}
	return string(body), nil
}

// buildVersionPattern reads version="..." but not golang_version="...".
var buildVersionPattern = regexp.MustCompile(`[{,]version="([^"]*)"`)

// parseExposition returns the sample names of a Prometheus text exposition and the
// exporter's version from redis_exporter_build_info.
func parseExposition(body string) (map[string]bool, string) {
	names := map[string]bool{}
	version := ""
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		end := strings.IndexAny(line, "{ ")
		if end <= 0 {
			continue
		}
		name := line[:end]
		names[name] = true
		if name == "redis_exporter_build_info" {
			if m := buildVersionPattern.FindStringSubmatch(line); m != nil {
				version = m[1]
			}
		}
	}
	return names, version
}

// WriteMetricNames writes a metric-name list: a comment header saying what produced
// it, then one name a line.
func WriteMetricNames(w io.Writer, s ExporterScrape) error {
	var b strings.Builder
	b.WriteString("# Metric names of a real redis_exporter scrape (master + replica, password auth),\n")
	b.WriteString("# written by `make exporter-metric-names` (tools/cmd/exportermetrics).\n")
	fmt.Fprintf(&b, "# redis_exporter %s, redis-server %s\n", s.ExporterVersion, s.RedisVersion)
	for _, n := range s.Names {
		b.WriteString(n + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ReadMetricNames reads a list written by WriteMetricNames.
func ReadMetricNames(r io.Reader) ([]string, error) {
	var names []string
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		if strings.ContainsAny(text, " \t{}") {
			return nil, fmt.Errorf("line %d: %q is not a metric name", line, text)
		}
		names = append(names, text)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read metric names: %w", err)
	}
	return names, nil
}
