// Package harness is what every suite's TestMain shares: the flags, the one choice of
// target, the evidence recorder, the per-run key prefix with its final cleanup proof,
// and the feature-level guards (disruptive, target) that skip with a reason.
package harness

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/redis-shared/conformance/tools/catalog"
	"github.com/redis-shared/conformance/tools/evidence"
	"github.com/redis-shared/conformance/tools/loadgen"
	"github.com/redis-shared/conformance/tools/probe"
	"github.com/redis-shared/conformance/tools/sandbox"
	"github.com/redis-shared/conformance/tools/target"
)

// Target names accepted by --target.
const (
	TargetSandbox = "sandbox"
	TargetKube    = "kube"
)

// KeyTTL is put on every key a check writes, so nothing outlives a crashed run long.
const KeyTTL = 10 * time.Minute

// keyPrefixBase starts every key the suites write; the run id and suite follow.
const keyPrefixBase = "conformance:"

// SkipNotDisruptive is the reason a disruptive check gives when not asked for.
const SkipNotDisruptive = "disruptive checks run only with --disruptive (make conformance DISRUPTIVE=1)"

// Options are the suite flags.
type Options struct {
	Target     string
	Evidence   string
	Disruptive bool
	StateDir   string
	// RunID names this run in key prefixes; random when empty.
	RunID string
	// Kubeconfig is e2e-framework's --kubeconfig (target kube).
	Kubeconfig string
	// KubeContext is e2e-framework's --context: the kubeconfig context (target kube);
	// "" is the kubeconfig's current context.
	KubeContext string
	// ProbeBinary is the static probe binary the kube target streams into its probe pod.
	ProbeBinary string
	// ProbeDir is where the probe pod holds the binary (an emptyDir).
	ProbeDir string
	// OutsideVia is the outside vantage point on the kube target (SOCKS5 proxy address).
	OutsideVia string
	// LANVia is the LAN vantage point on the kube target (SOCKS5 proxy on a LAN host).
	LANVia string
	// PrometheusURL is the cluster's Prometheus as the kube target's probe pod reaches it.
	PrometheusURL string
}

// RegisterFlags defines the suite flags on fs.
func RegisterFlags(fs *flag.FlagSet) *Options {
	o := &Options{}
	fs.StringVar(&o.Target, "target", TargetSandbox, "target to check: sandbox or kube")
	fs.StringVar(&o.Evidence, "evidence", "", "append evidence records (JSON lines) to this file; empty: discard")
	fs.BoolVar(&o.Disruptive, "disruptive", false, "also run disruptive checks (kill and stop instances, fire alerts)")
	fs.StringVar(&o.StateDir, "state-dir", sandbox.DefaultStateDir, "sandbox state directory (target sandbox)")
	fs.StringVar(&o.RunID, "run-id", "", "run id used in key prefixes (default: random)")
	fs.StringVar(&o.ProbeBinary, "probe-bin", "bin/redisprobe", "static probe binary the kube target streams into its in-cluster probe pod (target kube)")
	fs.StringVar(&o.ProbeDir, "probe-dir", "/tmp", "directory (an emptyDir) the probe binary is streamed to in the probe pod (target kube)")
	fs.StringVar(&o.OutsideVia, "outside-via", "", "SOCKS5 proxy host:port on a machine outside the LAN, the outside vantage point (target kube); empty: outside checks skip")
	fs.StringVar(&o.LANVia, "lan-via", "", "SOCKS5 proxy host:port on a LAN host, the LAN vantage point (target kube); empty: this machine, when it has a LAN address")
	fs.StringVar(&o.PrometheusURL, "prometheus-url", "", "URL of the cluster's Prometheus as a pod reaches it, queried from the probe pod (target kube), e.g. http://prometheus-operated.monitoring.svc:9090; empty: monitoring checks skip")
	return o
}

// Run is what every assessment reaches through its context.
type Run struct {
	Opts    Options
	Target  target.Target
	Catalog *catalog.Catalog
	Rec     *evidence.Recorder
	// Prefix is the suite's key prefix: conformance:<run>:<suite>:
	Prefix string
	// Interrupted ends when the run is cancelled by SIGINT or SIGTERM.
	Interrupted context.Context
}

type runKey struct{}

// From returns the run stored in ctx; it panics when the suite was not set up by Main,
// which is a defect of the suite, not of the target.
func From(ctx context.Context) *Run {
	r, ok := ctx.Value(runKey{}).(*Run)
	if !ok {
		panic("harness: context carries no run (TestMain must call harness.Main)")
	}
	return r
}

// Main is the whole TestMain of a suite: it parses the flags, opens the target once,
// runs the tests in an e2e-framework environment stored in *testenv, then deletes the
// suite's keys and proves none are left. It returns the exit code.
func Main(m *testing.M, suite string, testenv *env.Environment) int {
	opts := RegisterFlags(flag.CommandLine)
	cfg, err := envconf.NewFromFlags()
	if err != nil {
		fmt.Fprintf(os.Stderr, "suite %s: %v\n", suite, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts.Kubeconfig = cfg.KubeconfigFile()
	opts.KubeContext = cfg.KubeContext()
	run, closeRun, err := Open(ctx, *opts, suite)
	if err != nil {
		fmt.Fprintf(os.Stderr, "suite %s: %v\n", suite, err)
		return 2
	}
	defer closeRun()
	if err := run.RecordFacts(ctx); err != nil {
		// Facts are for the report's header; the checks themselves still run.
		fmt.Fprintf(os.Stderr, "suite %s: %v\n", suite, err)
	}
	e, err := env.NewWithContext(context.WithValue(ctx, runKey{}, run), cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "suite %s: %v\n", suite, err)
		return 2
	}
	// Features labelled for another target skip with the reason (guard.go).
	*testenv = Guard(e, opts.Target)
	code := e.Run(m)
	// Cleanup runs even after Ctrl-C, on its own bounded context.
	cleanCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := run.CleanupKeys(cleanCtx, os.Stdout); err != nil {
		fmt.Fprintf(os.Stdout, "FAIL: suite %s: %v\n", suite, err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Open builds the run for a suite: catalog, target and recorder. The returned func
// closes them.
func Open(ctx context.Context, opts Options, suite string) (*Run, func(), error) {
	cat, err := catalog.Load()
	if err != nil {
		return nil, nil, err
	}
	if opts.RunID == "" {
		var raw [4]byte
		if _, err := rand.Read(raw[:]); err != nil {
			return nil, nil, fmt.Errorf("run id: %w", err)
		}
		opts.RunID = hex.EncodeToString(raw[:])
	}
	if err := loadgen.ValidatePrefix(opts.RunID); err != nil || strings.Contains(opts.RunID, ":") {
		return nil, nil, fmt.Errorf("--run-id %q: want at least 4 characters without glob characters, whitespace or ':'", opts.RunID)
	}
	tgt, err := OpenTarget(ctx, opts)
	if err != nil {
		return nil, nil, err
	}
	rec := evidence.NewRecorder(nil)
	if opts.Evidence != "" {
		if rec, err = evidence.OpenFile(opts.Evidence); err != nil {
			_ = tgt.Close()
			return nil, nil, err
		}
	}
	run := &Run{
		Opts: opts, Target: tgt, Catalog: cat, Rec: rec,
		Prefix:      keyPrefixBase + opts.RunID + ":" + suite + ":",
		Interrupted: ctx,
	}
	return run, func() { _ = rec.Close(); _ = tgt.Close() }, nil
}

// RecordFacts writes what the report states about the target as evidence meta.
func (r *Run) RecordFacts(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	facts, err := r.Target.Facts(ctx)
	meta := map[string]string{
		evidence.MetaTarget:       r.Target.Name(),
		evidence.MetaRedisVersion: facts.RedisVersion,
		evidence.MetaChartVersion: facts.ChartVersion,
		evidence.MetaEnforcement:  facts.Enforcement,
	}
	for k, v := range facts.Extra {
		meta[k] = v
	}
	for k, v := range meta {
		if v == "" {
			continue
		}
		if recErr := r.Rec.Meta(k, v); recErr != nil {
			return recErr
		}
	}
	if err != nil {
		return fmt.Errorf("facts about the target: %w", err)
	}
	return nil
}

// OpenTarget opens the target the flags name.
func OpenTarget(ctx context.Context, opts Options) (target.Target, error) {
	switch opts.Target {
	case TargetSandbox:
		return target.OpenSandbox(opts.StateDir)
	case TargetKube:
		return target.OpenKube(ctx, target.KubeOptions{Kubeconfig: opts.Kubeconfig, Context: opts.KubeContext, LANVia: opts.LANVia, ProbeBinary: fromModuleRoot(opts.ProbeBinary), ProbeDir: opts.ProbeDir, OutsideVia: opts.OutsideVia, PrometheusURL: opts.PrometheusURL})
	default:
		return nil, fmt.Errorf("--target %q: want %s or %s", opts.Target, TargetSandbox, TargetKube)
	}
}

// CleanupKeys deletes every key under the run's prefix on the master and proves none
// is left on any instance (SCAN, never KEYS), from the cluster vantage point through
// Target.Probe. It writes one line of evidence to log.
func (r *Run) CleanupKeys(ctx context.Context, log io.Writer) error {
	ep, err := r.Target.Endpoints(ctx)
	if err != nil {
		return fmt.Errorf("cleanup of %s*: %w", r.Prefix, err)
	}
	var verify []string
	for _, inst := range ep.Instances {
		verify = append(verify, inst.Addr)
	}
	rep, err := r.Target.Probe(ctx, target.Cluster, probe.Request{Kind: probe.KindCleanup, Addr: ep.Master, Prefix: r.Prefix, Addrs: verify})
	if reason, ok := target.IsUnsupported(err); ok {
		fmt.Fprintf(log, "cleanup: %s\n", reason)
		return nil
	}
	if err != nil {
		return fmt.Errorf("cleanup of %s* (%s): %w", r.Prefix, rep.Vantage, err)
	}
	if rep.Cleanup == nil {
		return fmt.Errorf("cleanup of %s* (%s): the report has no cleanup part", r.Prefix, rep.Vantage)
	}
	if rep.Cleanup.Left() > 0 {
		return fmt.Errorf("keys left under %s after cleanup: %v", r.Prefix, rep.Cleanup.Remaining)
	}
	fmt.Fprintf(log, "cleanup from %s: deleted %d keys under %s*; SCAN finds none left on %d addresses\n", rep.Vantage, rep.Cleanup.Deleted, r.Prefix, len(rep.Cleanup.Remaining))
	return nil
}

// fromModuleRoot resolves a relative path that does not exist from the working
// directory against the module root instead: go test runs a suite in its package
// directory, and --probe-bin's default bin/redisprobe is relative to the repository.
func fromModuleRoot(path string) string {
	if path == "" || filepath.IsAbs(path) {
		return path
	}
	if _, err := os.Stat(path); err == nil {
		return path
	}
	dir, err := os.Getwd()
	if err != nil {
		return path
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, path)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return path
		}
		dir = parent
	}
}
