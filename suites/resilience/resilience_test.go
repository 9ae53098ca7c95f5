package resilience

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/redis-shared/conformance/suites/internal/harness"
	"github.com/redis-shared/conformance/suites/internal/judge"
	"github.com/redis-shared/conformance/tools/evidence"
	"github.com/redis-shared/conformance/tools/probe"
	"github.com/redis-shared/conformance/tools/target"
)

// Traffic shapes while an instance is down.
const (
	// requestEvery paces the probing readers and writers: fine enough to time an
	// outage to about 10 ms, light enough not to load the survivor.
	requestEvery = 10 * time.Millisecond
	// warmUp is traffic before the fault, to show it flowed.
	warmUp = time.Second
	// replicaHold is how long the replica stays down while the master is probed.
	replicaHold = 5 * time.Second
	// ledgerWriters and ledgerPipeline shape the durability writers: many acked
	// writes in flight when the master dies is what exposes a lax fsync policy.
	ledgerWriters  = 8
	ledgerPipeline = 32
	// ledgerBeforeKill is how long writes are acknowledged before the kill.
	ledgerBeforeKill = 2 * time.Second
	// ledgerValueSize pads each value: more bytes per second make each background
	// fsync last longer, the window in which everysec acknowledges unwritten data.
	ledgerValueSize = 512
	// ledgerKeysPerWriter bounds the keys each writer cycles over (8 x 20,000 x ~600 B
	// is about 100 MB, below the values' maxmemory of 200 MB; an eviction would still
	// be caught and reported).
	ledgerKeysPerWriter = 20_000
)

func TestInstanceFailure(t *testing.T) {
	masterDown := features.New("master failure").
		WithLabel("req", "SC-002").
		WithLabel("type", "disruptive").
		Setup(harness.Disruptive).
		Setup(harness.NeedsVantage(target.Cluster)).
		Assess("with the master killed, the master Service answers writes again within the bound derived from the probe settings", assessMasterKilled).
		Feature()
	replicaDown := features.New("replica failure").
		WithLabel("req", "SC-002").
		WithLabel("type", "disruptive").
		Setup(harness.Disruptive).
		Setup(harness.NeedsVantage(target.Cluster)).
		Assess("with the replica down, reads and writes through the master Service all succeed", assessReplicaDown).
		Feature()
	restart := features.New("automatic restart of a failed instance").
		WithLabel("req", "FR-010").
		WithLabel("type", "disruptive").
		Setup(harness.Disruptive).
		Setup(harness.NeedsVantage(target.Cluster)).
		Assess("a killed instance runs and replicates again within the catalog bound", assessKilledRestarted).
		Assess("a hung instance is restarted by its liveness probe within the catalog bound", assessHungRestarted).
		Feature()
	testenv.Test(t, masterDown, replicaDown, restart)
}

func TestDurability(t *testing.T) {
	ledger := features.New("acknowledged writes survive a master kill").
		WithLabel("req", "SC-007").
		WithLabel("req", "FR-007").
		WithLabel("type", "disruptive").
		Setup(harness.Disruptive).
		Setup(harness.NeedsVantage(target.Cluster)).
		Assess("no acknowledged write is lost across kill -9 of the master and its restart", assessNoAckedWriteLost).
		Feature()
	testenv.Test(t, ledger)
}

func client(ctx context.Context, t *testing.T, addr string) *redis.Client {
	t.Helper()
	c := harness.From(ctx).Client(t, "a client from the cluster vantage point", target.Cluster, addr, target.Valid)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// prober sends one request every requestEvery until stopped and books each outcome.
type prober struct {
	mu       sync.Mutex
	outcomes []probe.Outcome
	firstErr error
}

func (p *prober) run(ctx context.Context, stop <-chan struct{}, request func(ctx context.Context, seq int) error) {
	tick := time.NewTicker(requestEvery)
	defer tick.Stop()
	for seq := 0; ; seq++ {
		err := request(ctx, seq)
		p.mu.Lock()
		p.outcomes = append(p.outcomes, probe.Outcome{At: time.Now(), OK: err == nil})
		if err != nil && p.firstErr == nil {
			p.firstErr = err
		}
		p.mu.Unlock()
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (p *prober) snapshot() []probe.Outcome {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]probe.Outcome(nil), p.outcomes...)
}

func (p *prober) succeededAfter(at time.Time) bool {
	for _, o := range p.snapshot() {
		if o.OK && o.At.After(at) {
			return true
		}
	}
	return false
}

func assessMasterKilled(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r := harness.From(ctx)
	ep := harness.Endpoints(ctx, t)
	replicas := ep.ByRole(target.RoleReplica)
	require.NotEmpty(t, replicas, "no replica: nothing can serve reads while the master is down")
	recoveryBound := harness.Seconds(t, r.Bound(t, "SC-002", "write_recovery_within"))
	master := client(ctx, t, ep.Master)
	replica := client(ctx, t, replicas[0].Addr)
	seed := r.Key("sc002", "seed")
	require.NoError(t, master.Set(ctx, seed, "before-the-kill", harness.KeyTTL).Err())
	require.NoError(t, harness.WaitFor(ctx, "the seed key on the replica", 5*time.Second, 10*time.Millisecond, func(ctx context.Context) (bool, error) {
		return replica.Get(ctx, seed).Val() == "before-the-kill", nil
	}))

	var reads, writes prober
	var staleReads atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		reads.run(ctx, stop, func(ctx context.Context, _ int) error {
			// Availability: the replica answers. A missing or changed seed is data
			// loss, SC-007's business; it is counted apart, not as a failed read.
			v, err := replica.Get(ctx, seed).Result()
			if errors.Is(err, redis.Nil) || (err == nil && v != "before-the-kill") {
				staleReads.Add(1)
				return nil
			}
			return err
		})
	})
	wg.Go(func() {
		writes.run(ctx, stop, func(ctx context.Context, seq int) error {
			return master.Set(ctx, r.Key("sc002", "write", strconv.Itoa(seq)), seq, harness.KeyTTL).Err()
		})
	})
	if err := harness.Observe(ctx, warmUp); err != nil {
		close(stop)
		wg.Wait()
		require.NoError(t, err)
	}
	before, err := r.Target.Restarts(ctx, "master")
	require.NoError(t, err)
	killed := time.Now()
	revert, err := r.Target.Kill(ctx, "master")
	if err != nil {
		close(stop)
		wg.Wait()
		require.NoError(t, err, "kill the master")
	}
	t.Cleanup(func() { harness.MustRevert(t, ctx, "restart the master", revert) })
	// Writes are back once one succeeds after the master's restart (a restart faster
	// than the probe interval shows no failed write at all: a zero-second outage).
	var restarted time.Time
	waitErr := harness.WaitFor(ctx, "the master to restart and take writes again", recoveryBound+5*time.Second, 50*time.Millisecond, func(ctx context.Context) (bool, error) {
		if restarted.IsZero() {
			now, err := r.Target.Restarts(ctx, "master")
			if err != nil || now.Pid == before.Pid || now.Pid <= 0 {
				return false, nil
			}
			restarted = time.Now()
		}
		return writes.succeededAfter(restarted), nil
	})
	observeErr := harness.Observe(ctx, warmUp) // traffic after recovery, to show it stays up
	close(stop)
	wg.Wait()
	end := time.Now()

	writeOutage := probe.OutageAfter(writes.snapshot(), killed)
	readOutage := probe.OutageAfter(reads.snapshot(), killed)
	recovery := writeOutage.Since(killed, end)
	r.Figures(t,
		evidence.Figure{Name: "master Service answered writes again after", Value: recovery.Seconds(), Unit: "s"},
		evidence.Figure{Name: "writes", Value: float64(len(writes.snapshot())), Unit: "count"},
		evidence.Figure{Name: "failed writes", Value: float64(writeOutage.Failed), Unit: "count"},
		evidence.Figure{Name: "replica reads", Value: float64(len(reads.snapshot())), Unit: "count"},
		evidence.Figure{Name: "failed replica reads", Value: float64(readOutage.Failed), Unit: "count"},
		evidence.Figure{Name: "replica reads missing the seed key", Value: float64(staleReads.Load()), Unit: "count"})
	r.Note(t, "kill -9 of the master; a writer on the master Service (as applications use it) and a reader on %s, one request each every %s. Without Sentinel there is no failover: writes pause while the master is down, until it is restarted and Ready again", replicas[0].Name, requestEvery)
	if writes.firstErr != nil {
		r.Note(t, "first failed write: %v", writes.firstErr)
	}
	require.NoError(t, waitErr)
	require.NoError(t, observeErr)
	for _, problem := range judge.MasterDown(r.Catalog, recovery) {
		t.Error(problem)
	}
	require.NoError(t, harness.Revert(ctx, revert), "restart the master")
	return ctx
}

func assessReplicaDown(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r := harness.From(ctx)
	ep := harness.Endpoints(ctx, t)
	replicas := ep.ByRole(target.RoleReplica)
	require.NotEmpty(t, replicas, "no replica to take down")
	master := client(ctx, t, ep.Master)
	revert, err := r.Target.Stop(ctx, replicas[0].Name)
	require.NoError(t, err, "stop %s", replicas[0].Name)
	t.Cleanup(func() { harness.MustRevert(t, ctx, "restart "+replicas[0].Name, revert) })
	stopped := time.Now()
	var traffic prober
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		traffic.run(ctx, stop, func(ctx context.Context, seq int) error {
			key := r.Key("sc002", "replica-down", strconv.Itoa(seq))
			if err := master.Set(ctx, key, seq, harness.KeyTTL).Err(); err != nil {
				return err
			}
			got, err := master.Get(ctx, key).Int()
			if err == nil && got != seq {
				return fmt.Errorf("GET %s returned %d", key, got)
			}
			return err
		})
	})
	observeErr := harness.Observe(ctx, replicaHold)
	close(stop)
	wg.Wait()
	require.NoError(t, observeErr)
	outage := probe.OutageAfter(traffic.snapshot(), stopped)
	requests := len(traffic.snapshot())
	r.Figures(t,
		evidence.Figure{Name: "failed SET+GET through the master Service", Value: float64(outage.Failed), Unit: "count"},
		evidence.Figure{Name: "SET+GET through the master Service", Value: float64(requests), Unit: "count"},
		evidence.Figure{Name: "replica down for", Value: replicaHold.Seconds(), Unit: "s"})
	r.Note(t, "the replica stopped; a client on the master Service, as applications use it, sends SET then GET every %s", requestEvery)
	if traffic.firstErr != nil {
		r.Note(t, "first failure: %v", traffic.firstErr)
	}
	for _, problem := range judge.ReplicaDown(r.Catalog, requests, outage.Failed) {
		t.Error(problem)
	}
	require.NoError(t, harness.Revert(ctx, revert), "restart %s", replicas[0].Name)
	return ctx
}

func assessKilledRestarted(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r := harness.From(ctx)
	ep := harness.Endpoints(ctx, t)
	victim := ep.Instances[len(ep.Instances)-1]
	before, err := r.Target.Restarts(ctx, victim.Name)
	require.NoError(t, err)
	killed := time.Now()
	revert, err := r.Target.Kill(ctx, victim.Name)
	require.NoError(t, err, "kill %s", victim.Name)
	t.Cleanup(func() { harness.MustRevert(t, ctx, "restart "+victim.Name, revert) })
	err = harness.Revert(ctx, revert)
	back := time.Since(killed)
	after, restartsErr := r.Target.Restarts(ctx, victim.Name)
	r.Figures(t,
		evidence.Figure{Name: victim.Name + " running and healthy again after", Value: back.Seconds(), Unit: "s"},
		evidence.Figure{Name: victim.Name + " restarts", Value: float64(after.Count - before.Count), Unit: "count"})
	require.NoError(t, err, "%s did not come back", victim.Name)
	require.NoError(t, restartsErr)
	assert.NotEqual(t, before.Pid, after.Pid, "%s runs the same process: it was not restarted", victim.Name)
	judgeRestart(t, r, back)
	return ctx
}

func assessHungRestarted(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r := harness.From(ctx)
	ep := harness.Endpoints(ctx, t)
	bound := harness.Seconds(t, r.Bound(t, "FR-010", "restart_within"))
	victim := ep.Instances[len(ep.Instances)-1]
	before, err := r.Target.Restarts(ctx, victim.Name)
	require.NoError(t, err)
	hung := time.Now()
	revert, err := r.Target.Hang(ctx, victim.Name)
	harness.SkipUnsupported(t, "freezing "+victim.Name, err)
	require.NoError(t, err, "freeze %s", victim.Name)
	t.Cleanup(func() { harness.MustRevert(t, ctx, "resume "+victim.Name, revert) })
	// Only the liveness probe can see a frozen process: a new pid is its restart.
	err = harness.WaitFor(ctx, victim.Name+" to be restarted by its liveness probe", bound, 250*time.Millisecond, func(ctx context.Context) (bool, error) {
		now, err := r.Target.Restarts(ctx, victim.Name)
		return err == nil && now.Pid > 0 && now.Pid != before.Pid, nil
	})
	restarted := time.Since(hung)
	r.Figures(t, evidence.Figure{Name: victim.Name + " restarted by the liveness probe after", Value: restarted.Seconds(), Unit: "s"})
	require.NoError(t, err)
	require.NoError(t, harness.Revert(ctx, revert), "%s healthy again", victim.Name)
	harness.Holds(t, "FR-010", r.Bound(t, "FR-010", "restart_within"), restarted.Seconds())
	return ctx
}

func assessNoAckedWriteLost(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r := harness.From(ctx)
	ep := harness.Endpoints(ctx, t)
	master := client(ctx, t, ep.Master)
	fsync, err := master.ConfigGet(ctx, "appendfsync").Result()
	if err == nil {
		r.Note(t, "master appendfsync %q, appendonly %q", fsync["appendfsync"], master.ConfigGet(ctx, "appendonly").Val()["appendonly"])
	}
	evictedBefore := evictedKeys(ctx, t, master)
	ledger := probe.NewLedger()
	var failedWrites atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range ledgerWriters {
		c := client(ctx, t, ep.Master)
		wg.Go(func() {
			for seq := 0; ; seq++ {
				select {
				case <-stop:
					return
				case <-ctx.Done():
					return
				default:
				}
				// Each writer cycles over its own keys, so memory stays bounded however
				// fast it writes; an overwrite lost after its ack is a loss too.
				keys := make([]string, ledgerPipeline)
				values := make([]string, ledgerPipeline)
				cmds, _ := c.Pipelined(ctx, func(p redis.Pipeliner) error {
					for i := range keys {
						slot := (seq*ledgerPipeline + i) % ledgerKeysPerWriter
						keys[i] = r.Key("sc007", strconv.Itoa(w), strconv.Itoa(slot))
						values[i] = ledgerValue(fmt.Sprintf("%s@%d", keys[i], seq))
						p.Set(ctx, keys[i], values[i], harness.KeyTTL)
					}
					return nil
				})
				failed := false
				for i := range keys {
					if i < len(cmds) && cmds[i].Err() == nil {
						ledger.Ack(keys[i], values[i])
					} else {
						// No reply: the server may or may not have applied it.
						ledger.Unacked(keys[i], values[i])
						failed = true
						failedWrites.Add(1)
					}
				}
				if failed {
					// The master is gone: this writer's part is done.
					return
				}
			}
		})
	}
	if err := harness.Observe(ctx, ledgerBeforeKill); err != nil {
		close(stop)
		wg.Wait()
		require.NoError(t, err)
	}
	revert, killErr := r.Target.Kill(ctx, "master")
	if killErr == nil {
		t.Cleanup(func() { harness.MustRevert(t, ctx, "restart the master", revert) })
	}
	// Writers end at their first failure; bound the wait in case a kill went unnoticed.
	writersDone := make(chan struct{})
	go func() { wg.Wait(); close(writersDone) }()
	select {
	case <-writersDone:
	case <-time.After(10 * time.Second):
		close(stop)
		<-writersDone
	}
	require.NoError(t, killErr, "kill the master")
	require.NoError(t, harness.Revert(ctx, revert), "restart the master")
	// Read the ledger back from the restarted master (after its AOF is loaded).
	lost, err := ledger.Verify(ctx, func(ctx context.Context, keys ...string) ([]any, error) {
		return master.MGet(ctx, keys...).Result()
	})
	evicted := evictedKeys(ctx, t, master) - evictedBefore
	r.Figures(t,
		evidence.Figure{Name: "keys evicted during the check", Value: float64(evicted), Unit: "count"},
		evidence.Figure{Name: "acknowledged writes", Value: float64(ledger.Writes()), Unit: "count"},
		evidence.Figure{Name: "keys written", Value: float64(ledger.Len()), Unit: "count"},
		evidence.Figure{Name: "failed writes at the kill", Value: float64(failedWrites.Load()), Unit: "count"},
		evidence.Figure{Name: "lost acknowledged writes", Value: float64(len(lost)), Unit: "count"},
		evidence.Figure{Name: "value size", Value: ledgerValueSize, Unit: "bytes"})
	r.Note(t, "%d writers pipelining %d SETs, each over its own %d keys; the last acknowledged value of every key is in the ledger and read back with MGET after kill -9 of the master and its restart (a later write whose reply never came is accepted too)", ledgerWriters, ledgerPipeline, ledgerKeysPerWriter)
	require.NoError(t, err)
	require.NotZero(t, ledger.Len(), "no write was acknowledged before the kill")
	if len(lost) > 0 {
		r.Note(t, "first lost keys: %v", lost[:min(len(lost), 3)])
	}
	// An eviction (maxmemory) would look like a loss: such a run proves nothing.
	require.Zero(t, evicted, "keys were evicted during the check, so missing keys cannot be told from lost ones")
	judgeLostWrites(t, r, ledger.Len(), len(lost))
	return ctx
}

// ledgerValue is the value written under key: the key itself, padded.
func ledgerValue(key string) string {
	if len(key) >= ledgerValueSize {
		return key
	}
	return key + strings.Repeat(".", ledgerValueSize-len(key))
}

// evictedKeys reads INFO stats evicted_keys (a restart resets it to 0).
func evictedKeys(ctx context.Context, t *testing.T, c *redis.Client) int {
	t.Helper()
	info := c.InfoMap(ctx, "stats")
	require.NoError(t, info.Err(), "INFO stats")
	n, err := strconv.Atoi(info.Item("Stats", "evicted_keys"))
	require.NoError(t, err, "evicted_keys")
	return n
}

// The verdicts below are shared by the sandbox checks above and the kube target's
// probe-pod checks (kube_test.go): one reading of the catalog for both.

// judgeMasterKill is SC-002 on a master kill: failed replica reads within the
// catalog threshold, and writes back within write_recovery_within.
// judgeLostWrites is SC-007 (and FR-007) on a master kill: some writes were
// acknowledged, and the lost ones are within the catalog threshold.
func judgeLostWrites(t *testing.T, r *harness.Run, acknowledged, lost int) {
	t.Helper()
	require.NotZero(t, acknowledged, "no write was acknowledged before the kill")
	harness.Holds(t, "SC-007", r.Threshold(t, "SC-007"), float64(lost))
}

// judgeRestart is FR-010: the killed instance was back within restart_within.
func judgeRestart(t *testing.T, r *harness.Run, back time.Duration) {
	t.Helper()
	harness.Holds(t, "FR-010", r.Bound(t, "FR-010", "restart_within"), back.Seconds())
}
