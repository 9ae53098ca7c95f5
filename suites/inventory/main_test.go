package inventory

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/redis-shared/conformance/suites/internal/harness"
	"github.com/redis-shared/conformance/tools/catalog"
	"github.com/redis-shared/conformance/tools/evidence"
	"github.com/redis-shared/conformance/tools/target"
)

// testenv is the e2e-framework environment; TestMain picks the target once.
var testenv env.Environment

func TestMain(m *testing.M) {
	os.Exit(mainInventory(m))
}

// mainInventory is harness.Main for a suite that reads Kubernetes objects only: it
// writes no keys (so there is nothing to clean up) and opens the kube target itself;
// on any other target every feature skips with the reason.
func mainInventory(m *testing.M) int {
	opts := harness.RegisterFlags(flag.CommandLine)
	cfg, err := envconf.NewFromFlags()
	if err != nil {
		fmt.Fprintf(os.Stderr, "suite inventory: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s := &suite{opts: *opts}
	if opts.Target == harness.TargetKube {
		if s.run, s.kube, err = openKube(ctx, *opts, cfg.KubeconfigFile()); err != nil {
			fmt.Fprintf(os.Stderr, "suite inventory: %v\n", err)
			return 2
		}
		defer s.run.Rec.Close()
		if err := s.run.RecordFacts(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "suite inventory: %v\n", err)
		}
	}
	e, err := env.NewWithContext(context.WithValue(ctx, suiteKey{}, s), cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "suite inventory: %v\n", err)
		return 2
	}
	testenv = e
	return e.Run(m)
}

func openKube(ctx context.Context, opts harness.Options, kubeconfig string) (*harness.Run, *target.Kube, error) {
	cat, err := catalog.Load()
	if err != nil {
		return nil, nil, err
	}
	kube, err := target.OpenKube(ctx, target.KubeOptions{Kubeconfig: kubeconfig})
	if err != nil {
		return nil, nil, err
	}
	rec := evidence.NewRecorder(nil)
	if opts.Evidence != "" {
		if rec, err = evidence.OpenFile(opts.Evidence); err != nil {
			return nil, nil, err
		}
	}
	return &harness.Run{Opts: opts, Target: kube, Catalog: cat, Rec: rec, Interrupted: ctx}, kube, nil
}
