package target

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/redis-shared/conformance/tools/probe"
)

// FaultProber is what a target offers when it measures a fault from its in-cluster
// probe pod (the kube target): the probe runs in the background while the suite
// deletes a pod, and the returned wait gives its report.
type FaultProber interface {
	// ProbeDurability runs `redisprobe durability` against addr for d in the
	// background: unique keys under prefix, each acknowledged one read back after the
	// master answers again (SC-007, FR-007).
	ProbeDurability(ctx context.Context, addr, prefix string, d time.Duration) (wait func() (probe.DurabilityReport, error), err error)
	// ProbeOutage runs `redisprobe outage` for at least d in the background: reads
	// from readAddr and writes to addr every interval (SC-002).
	ProbeOutage(ctx context.Context, addr, readAddr, prefix string, d time.Duration) (wait func() (probe.OutageReport, error), err error)
}

// probeRecover bounds how long a disruptive probe waits for the master to answer
// again; the suites' own bounds (FR-010 restart_within, SC-002 write_recovery_within)
// are judged on the report, this only ends a probe whose master never came back.
const probeRecover = 3 * time.Minute

// probeSeedWithin bounds the wait, before the fault, for the replica to have caught
// up (a replica just recreated may still be in its initial sync).
const probeSeedWithin = 2 * time.Minute

// outageEvery paces the outage probe's reads and writes, as the sandbox's SC-002
// check paces its own: fine enough to time an outage to about 10 ms.
const outageEvery = 10 * time.Millisecond

// ProbeDurability starts the probe pod (so a probe the target cannot offer fails
// here, before any fault) and runs `redisprobe durability` in it in the background.
func (k *Kube) ProbeDurability(ctx context.Context, addr, prefix string, d time.Duration) (func() (probe.DurabilityReport, error), error) {
	if _, err := k.ensureProbe(ctx); err != nil {
		return nil, err
	}
	args := []string{"durability", "-addr", addr, "-prefix", prefix, "-duration", d.String(),
		"-recover", probeRecover.String(), "-ttl", (d + probeRecover + 10*time.Minute).String()}
	return background(func(rep *probe.DurabilityReport) error {
		return k.runProbe(ctx, d+2*probeRecover+probeExecMargin, rep, args...)
	}), nil
}

// ProbeOutage starts the probe pod, checks with a short `redisprobe outage` that the
// replica has caught up (a seed key written on the master reads back from readAddr),
// then runs `redisprobe outage` for d in the background.
func (k *Kube) ProbeOutage(ctx context.Context, addr, readAddr, prefix string, d time.Duration) (func() (probe.OutageReport, error), error) {
	if _, err := k.ensureProbe(ctx); err != nil {
		return nil, err
	}
	ttl := (d + probeSeedWithin + probeRecover + 10*time.Minute).String()
	var ready probe.OutageReport
	if err := k.runProbe(ctx, probeSeedWithin+probeExecMargin, &ready, "outage", "-addr", addr, "-read-addr", readAddr,
		"-prefix", prefix, "-duration", "100ms", "-seed-within", probeSeedWithin.String(), "-ttl", ttl); err != nil {
		return nil, fmt.Errorf("before the fault: %w", err)
	}
	args := []string{"outage", "-addr", addr, "-read-addr", readAddr, "-prefix", prefix, "-duration", d.String(),
		"-recover", probeRecover.String(), "-every", outageEvery.String(), "-ttl", ttl}
	return background(func(rep *probe.OutageReport) error {
		return k.runProbe(ctx, d+probeRecover+probeExecMargin, rep, args...)
	}), nil
}

// background runs one probe exec in a goroutine; wait blocks until it ends and
// returns its report (every call the same).
func background[R any](run func(rep *R) error) func() (R, error) {
	type result struct {
		rep R
		err error
	}
	done := make(chan result, 1)
	go func() {
		var rep R
		err := run(&rep)
		done <- result{rep, err}
	}()
	return sync.OnceValues(func() (R, error) {
		r := <-done
		return r.rep, r.err
	})
}

// The kube target measures faults from its probe pod.
var _ FaultProber = (*Kube)(nil)
