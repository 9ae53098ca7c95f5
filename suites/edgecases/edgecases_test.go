package edgecases

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/redis-shared/conformance/suites/internal/harness"
	"github.com/redis-shared/conformance/tools/evidence"
	"github.com/redis-shared/conformance/tools/loadgen"
	"github.com/redis-shared/conformance/tools/target"
)

// Shapes of the checks.
const (
	// fillValueSize and fillPipeline shape the writes past maxmemory: Redis evicts
	// before each command, so used memory may pass maxmemory by one batch at most.
	fillValueSize = 64 << 10
	fillPipeline  = 16
	// fillFactor is how much past maxmemory the check writes.
	fillFactor = 1.5
	// partitionWriteEvery paces the master writes during a partition.
	partitionWriteEvery = 20 * time.Millisecond
	// replTimeoutSlack is added to Redis' repl-timeout (the time a replica takes to
	// call its link down) when waiting for it.
	replTimeoutSlack = 30 * time.Second
	// alertSlack covers rule evaluation and the scrape timeout on top of a rule's
	// `for` and one scrape interval.
	alertSlack = 10 * time.Second
	// restartTimeout bounds waits for a killed instance to be back and healthy.
	restartTimeout = 3 * time.Minute
)

func TestMemoryFull(t *testing.T) {
	eviction := features.New("memory full: writes past maxmemory evict under the configured policy").
		WithLabel("req", "FR-013").
		WithLabel("type", "disruptive").
		Setup(harness.Disruptive).
		Setup(harness.NeedsVantage(target.Cluster)).
		Assess("writes keep succeeding, evicted_keys rises, used memory stays under maxmemory and the master is not killed", assessMemoryFull).
		Feature()
	oom := features.New("memory full: an instance past its container memory limit is killed and restarted").
		WithLabel("req", "FR-013").
		WithLabel("req", "FR-010").
		WithLabel("type", "disruptive").
		Setup(harness.Disruptive).
		Assess("the kernel ends the instance at its cgroup limit and it runs and replicates again", assessPastMemoryLimit).
		Feature()
	testenv.Test(t, eviction, oom)
}

func TestConnectionsExhausted(t *testing.T) {
	exhausted := features.New("connections exhausted").
		WithLabel("req", "FR-013").
		WithLabel("req", "FR-009").
		WithLabel("type", "disruptive").
		Setup(harness.Disruptive).
		Setup(harness.NeedsVantage(target.Cluster)).
		Assess("past maxclients new connections are refused with Redis' error, the rejection is counted and alerted, and a client works again after release", assessConnectionsExhausted).
		Feature()
	testenv.Test(t, exhausted)
}

func TestPartition(t *testing.T) {
	partition := features.New("network partition between master and replica").
		WithLabel("req", "FR-006").
		WithLabel("req", "SC-002").
		WithLabel("type", "disruptive").
		Setup(harness.Disruptive).
		Setup(harness.NeedsVantage(target.Cluster)).
		Assess("the master keeps writing, the replica serves what it has, RedisReplicationBroken fires, and after the heal the replica holds every acknowledged write", assessPartition).
		Feature()
	testenv.Test(t, partition)
}

func TestPasswordRotation(t *testing.T) {
	rotation := features.New("password rotation").
		WithLabel("req", "FR-011").
		WithLabel("req", "FR-012").
		WithLabel("req", "FR-009").
		WithLabel("type", "disruptive").
		Setup(harness.Disruptive).
		Setup(harness.NeedsVantage(target.Cluster)).
		Assess("after the runbook's rotation the old password is rejected, the new one accepted, the exporters scrape again within one interval and the health checks stay green", assessPasswordRotation).
		Feature()
	testenv.Test(t, rotation)
}

func TestAlertFireDrill(t *testing.T) {
	drill := features.New("RedisDown fire drill").
		WithLabel("req", "FR-009").
		WithLabel("type", "disruptive").
		Setup(harness.Disruptive).
		Setup(harness.NeedsVantage(target.Cluster)).
		Assess("with the master down RedisDown fires within its for and one scrape interval, and resolves after the restart", assessRedisDownDrill).
		Feature()
	testenv.Test(t, drill)
}

func TestEveryHealthCheck(t *testing.T) {
	each := features.New("every instance's liveness probe").
		WithLabel("req", "FR-010").
		WithLabel("type", "disruptive").
		Setup(harness.Disruptive).
		Setup(harness.NeedsVantage(target.Cluster)).
		Assess("each instance, frozen, is restarted by its own liveness probe within the catalog bound", assessEveryInstanceHang).
		Feature()
	testenv.Test(t, each)
}

func client(ctx context.Context, t *testing.T, what, addr string) *redis.Client {
	t.Helper()
	c := harness.From(ctx).Client(t, what, target.Cluster, addr, target.Valid)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// info reads one INFO section into a map (go-redis InfoMap).
func info(ctx context.Context, c *redis.Client, section string) (map[string]string, error) {
	sections, err := c.InfoMap(ctx, section).Result()
	if err != nil {
		return nil, fmt.Errorf("INFO %s: %w", section, err)
	}
	out := map[string]string{}
	for _, fields := range sections {
		maps.Copy(out, fields)
	}
	return out, nil
}

func infoInt(ctx context.Context, t *testing.T, c *redis.Client, section, key string) int64 {
	t.Helper()
	fields, err := info(ctx, c, section)
	require.NoError(t, err)
	v, err := strconv.ParseInt(fields[key], 10, 64)
	require.NoError(t, err, "INFO %s %s = %q", section, key, fields[key])
	return v
}

func prometheus(ctx context.Context, t *testing.T) *target.Prometheus {
	t.Helper()
	prom, err := harness.From(ctx).Target.Prometheus()
	harness.SkipUnsupported(t, "queries to the Prometheus that scrapes the deployment", err)
	require.NoError(t, err, "prometheus")
	return prom
}

// alertRule returns a loaded alerting rule by name, or fails naming what is loaded.
func alertRule(ctx context.Context, t *testing.T, prom *target.Prometheus, name string) target.PromRule {
	t.Helper()
	rules, err := prom.Rules(ctx)
	require.NoError(t, err, "prometheus rules")
	var names []string
	for _, rule := range rules {
		if rule.Type == "alerting" && rule.Name == name {
			return rule
		}
		names = append(names, rule.Name)
	}
	t.Fatalf("Prometheus has no alerting rule %s loaded (it has: %s)", name, strings.Join(names, ", "))
	return target.PromRule{}
}

// scrapeInterval is the configured interval of the deployment's targets.
func scrapeInterval(ctx context.Context, t *testing.T, prom *target.Prometheus) time.Duration {
	t.Helper()
	targets, err := prom.Targets(ctx)
	require.NoError(t, err, "prometheus targets")
	for _, tg := range targets {
		if d, err := time.ParseDuration(tg.ScrapeInterval); err == nil && d > 0 {
			return d
		}
	}
	t.Fatalf("Prometheus has no target with a scrape interval")
	return 0
}

// firing says whether alert name fires, optionally for one pod.
func firing(ctx context.Context, prom *target.Prometheus, name, pod string) (bool, error) {
	alerts, err := prom.Alerts(ctx)
	if err != nil {
		return false, nil // a failed query is retried until the wait's bound
	}
	for _, a := range alerts {
		if a.Labels["alertname"] == name && a.State == "firing" && (pod == "" || a.Labels["pod"] == pod || a.Labels["pod"] == "") {
			return true, nil
		}
	}
	return false, nil
}

func assessMemoryFull(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r := harness.From(ctx)
	ep := harness.Endpoints(ctx, t)
	master := client(ctx, t, "FR-013 writes past maxmemory", ep.Master)
	mem, err := info(ctx, master, "memory")
	require.NoError(t, err)
	maxmemory, _ := strconv.ParseInt(mem["maxmemory"], 10, 64)
	policy := mem["maxmemory_policy"]
	if maxmemory <= 0 {
		t.Fatalf("FR-013: maxmemory is 0 on the master: Redis grows until its container's limit kills it")
	}
	r.Note(t, "master maxmemory %d bytes, maxmemory-policy %s", maxmemory, policy)
	evictedBefore := infoInt(ctx, t, master, "stats", "evicted_keys")
	before, err := r.Target.Restarts(ctx, "master")
	require.NoError(t, err)
	prefix := r.Key("memfull") + ":"
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if _, err := loadgen.Cleanup(cctx, master, prefix); err != nil {
			t.Errorf("delete the keys under %s: %v", prefix, err)
		}
	})

	value := strings.Repeat("m", fillValueSize)
	total := int(fillFactor*float64(maxmemory)/fillValueSize) + 1
	var written, failed int
	var firstErr error
	var peak, peakTotal int64
	for i := 0; i < total && ctx.Err() == nil; i += fillPipeline {
		cmds, _ := master.Pipelined(ctx, func(p redis.Pipeliner) error {
			for j := i; j < min(i+fillPipeline, total); j++ {
				p.Set(ctx, prefix+strconv.Itoa(j), value, harness.KeyTTL)
			}
			return nil
		})
		for _, c := range cmds {
			if err := c.Err(); err != nil {
				failed++
				if firstErr == nil {
					firstErr = err
				}
			} else {
				written++
			}
		}
		// What Redis holds against maxmemory: used memory without the replication
		// and AOF buffers, which it does not count for eviction.
		fields, err := info(ctx, master, "memory")
		require.NoError(t, err)
		used, _ := strconv.ParseInt(fields["used_memory"], 10, 64)
		notCounted, _ := strconv.ParseInt(fields["mem_not_counted_for_evict"], 10, 64)
		peak = max(peak, used-notCounted)
		peakTotal = max(peakTotal, used)
	}
	evicted := infoInt(ctx, t, master, "stats", "evicted_keys") - evictedBefore
	after, err := r.Target.Restarts(ctx, "master")
	require.NoError(t, err)
	r.Figures(t,
		evidence.Figure{Name: "bytes written", Value: float64(written) * fillValueSize / (1 << 20), Unit: "MiB"},
		evidence.Figure{Name: "maxmemory", Value: float64(maxmemory) / (1 << 20), Unit: "MiB"},
		evidence.Figure{Name: "peak used_memory counted for eviction", Value: float64(peak) / (1 << 20), Unit: "MiB"},
		evidence.Figure{Name: "peak used_memory with replication and AOF buffers", Value: float64(peakTotal) / (1 << 20), Unit: "MiB"},
		evidence.Figure{Name: "keys evicted", Value: float64(evicted), Unit: "count"},
		evidence.Figure{Name: "writes refused", Value: float64(failed), Unit: "count"})
	if failed > 0 {
		t.Errorf("FR-013: %d of %d writes failed past maxmemory under maxmemory-policy %s (first: %v)", failed, written+failed, policy, firstErr)
	}
	assert.Positive(t, evicted, "FR-013: no key was evicted after writing %.1fx maxmemory", fillFactor)
	// Eviction happens before each command: one pipelined batch is the most it can pass.
	slack := int64(fillPipeline * fillValueSize * 2)
	assert.LessOrEqual(t, peak, maxmemory+slack, "FR-013: used memory passed maxmemory by more than one batch")
	if limiter, ok := r.Target.(target.MemoryLimiter); ok {
		if limit, _, err := limiter.MemoryLimit("master"); err == nil && limit > 0 {
			r.Figures(t, evidence.Figure{Name: "master container memory limit", Value: float64(limit) / (1 << 20), Unit: "MiB"})
			assert.Less(t, peakTotal, limit, "FR-013: used memory reached the container's limit")
		}
	}
	assert.Equal(t, before.Pid, after.Pid, "FR-013: the master was restarted while it filled up (restarts %d -> %d)", before.Count, after.Count)
	return ctx
}

func assessPastMemoryLimit(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r := harness.From(ctx)
	limiter, ok := r.Target.(target.MemoryLimiter)
	if !ok {
		t.Skipf("the %s target cannot push one instance past its container memory limit from here (it needs the node's cgroups)", r.Target.Name())
	}
	ep := harness.Endpoints(ctx, t)
	victim := ep.Instances[len(ep.Instances)-1]
	limit, driver, err := limiter.MemoryLimit(victim.Name)
	require.NoError(t, err, "FR-013: the memory limit of %s", victim.Name)
	if limit <= 0 {
		t.Fatalf("FR-013: %s has no memory limit (%s): nothing stops it from exhausting the node", victim.Name, driver)
	}
	oomBefore, err := limiter.OOMKills(victim.Name)
	require.NoError(t, err)
	before, err := r.Target.Restarts(ctx, victim.Name)
	require.NoError(t, err)
	t.Cleanup(func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), restartTimeout)
		defer cancel()
		if err := r.Target.WaitHealthy(rctx, restartTimeout); err != nil {
			t.Errorf("%s back and healthy: %v", victim.Name, err)
		}
	})
	pushed := time.Now()
	sent, err := limiter.PushPastMemoryLimit(ctx, victim.Name)
	require.NoError(t, err, "push %s past its limit", victim.Name)
	var after target.Restart
	err = harness.WaitFor(ctx, victim.Name+" to be restarted after the OOM kill", restartTimeout, 250*time.Millisecond, func(ctx context.Context) (bool, error) {
		now, err := r.Target.Restarts(ctx, victim.Name)
		after = now
		return err == nil && now.Pid > 0 && now.Pid != before.Pid, nil
	})
	restarted := time.Since(pushed)
	oomAfter, oomErr := limiter.OOMKills(victim.Name)
	require.NoError(t, oomErr)
	r.Figures(t,
		evidence.Figure{Name: victim.Name + " memory limit", Value: float64(limit) / (1 << 20), Unit: "MiB"},
		evidence.Figure{Name: "bytes sent before the kill", Value: float64(sent) / (1 << 20), Unit: "MiB"},
		evidence.Figure{Name: "OOM kills", Value: float64(oomAfter - oomBefore), Unit: "count"},
		evidence.Figure{Name: "restarted after", Value: restarted.Seconds(), Unit: "s"})
	r.Note(t, "limit enforced by %s", driver)
	require.NoError(t, err, "FR-013/FR-010: %s was not restarted (sent %d MiB past a %d MiB limit)", victim.Name, sent>>20, limit>>20)
	assert.Greater(t, oomAfter, oomBefore, "FR-013: the kernel's OOM killer did not end %s: the limit did not bite", victim.Name)
	assert.Greater(t, after.Count, before.Count, "FR-010: the restart count of %s did not rise", victim.Name)
	require.NoError(t, r.Target.WaitHealthy(ctx, restartTimeout), "FR-010: %s runs and replicates again", victim.Name)
	return ctx
}

func assessConnectionsExhausted(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r := harness.From(ctx)
	ep := harness.Endpoints(ctx, t)
	prom := prometheus(ctx, t)
	rule := alertRule(ctx, t, prom, "RedisRejectedConnections")
	master := client(ctx, t, "FR-013 connection counts", ep.Master)
	clients, err := info(ctx, master, "clients")
	require.NoError(t, err)
	maxclients, err := strconv.Atoi(clients["maxclients"])
	require.NoError(t, err, "INFO clients maxclients = %q", clients["maxclients"])
	connected, _ := strconv.Atoi(clients["connected_clients"])
	rejectedBefore := infoInt(ctx, t, master, "stats", "rejected_connections")
	_ = master.Close() // its own connection would count against maxclients

	// Raw connections from the cluster vantage point; Redis counts a client from
	// accept, authenticated or not.
	var held []net.Conn
	release := func() {
		for _, c := range held {
			_ = c.Close()
		}
		held = nil
	}
	t.Cleanup(release)
	want := maxclients - connected + 1
	opened := time.Now()
	var refusal string
	for i := 0; i < want+64 && refusal == "" && ctx.Err() == nil; i++ {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		conn, err := r.Target.Dial(dctx, target.Cluster, ep.Master)
		cancel()
		require.NoError(t, err, "connection %d of %d", i+1, want)
		held = append(held, conn)
		if i+1 < want-8 {
			continue
		}
		// Near maxclients: a refused connection is closed with Redis' error at once.
		_ = conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		buf := make([]byte, 128)
		if n, err := conn.Read(buf); n > 0 {
			refusal = strings.TrimSpace(string(buf[:n]))
		} else if errors.Is(err, io.EOF) {
			refusal = "(closed without a reply)"
		}
		_ = conn.SetReadDeadline(time.Time{})
	}
	openFor := time.Since(opened)
	// A normal client while every slot is taken.
	probe := r.Client(t, "a normal client while maxclients is reached", target.Cluster, ep.Master, target.Valid)
	probeErr := probe.Ping(ctx).Err()
	_ = probe.Close()
	release()
	r.Figures(t,
		evidence.Figure{Name: "maxclients", Value: float64(maxclients), Unit: "count"},
		evidence.Figure{Name: "connections held", Value: float64(want - 1), Unit: "count"},
		evidence.Figure{Name: "time to open them", Value: openFor.Seconds(), Unit: "s"})
	assert.Contains(t, refusal, "max number of clients reached", "FR-013: the connection past maxclients was not refused with Redis' error")
	require.Error(t, probeErr, "FR-013: a client connected while maxclients connections were held")
	// Redis writes its error and closes at once; a client that is still sending AUTH
	// may see the reset, a broken pipe or the end of the stream before the error.
	// Each of them is the connection being turned away at accept.
	turnedAway := strings.Contains(probeErr.Error(), "max number of clients reached") ||
		errors.Is(probeErr, syscall.ECONNRESET) || errors.Is(probeErr, syscall.EPIPE) || errors.Is(probeErr, io.EOF)
	if !turnedAway {
		t.Errorf("FR-013: a normal client past maxclients failed otherwise than by being refused: %v", probeErr)
	}

	after := client(ctx, t, "a normal client after the connections were released", ep.Master)
	var pingErr error
	err = harness.WaitFor(ctx, "a client to work again after the release", 10*time.Second, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		pingErr = after.Ping(ctx).Err()
		return pingErr == nil, nil
	})
	require.NoError(t, err, "FR-013: after the release a normal client still fails: %v", pingErr)
	rejected := infoInt(ctx, t, after, "stats", "rejected_connections") - rejectedBefore
	r.Figures(t, evidence.Figure{Name: "connections refused", Value: float64(rejected), Unit: "count"})
	assert.Positive(t, rejected, "rejected_connections did not rise")

	// Prometheus sees the counter rise at the next scrape and the rule fires.
	interval := scrapeInterval(ctx, t, prom)
	bound := time.Duration(rule.Duration*float64(time.Second)) + 2*interval + alertSlack
	released := time.Now()
	var metric float64
	err = harness.WaitFor(ctx, "redis_rejected_connections_total to rise in Prometheus", bound, time.Second, func(ctx context.Context) (bool, error) {
		samples, err := prom.Query(ctx, fmt.Sprintf(`increase(redis_rejected_connections_total{pod=%q}[5m])`, masterPod(ep)))
		if err != nil || len(samples) == 0 {
			return false, nil
		}
		metric = samples[0].Value
		return metric > 0, nil
	})
	assert.NoError(t, err, "FR-009: Prometheus never saw redis_rejected_connections_total rise")
	err = harness.WaitFor(ctx, "alert RedisRejectedConnections to fire", bound, time.Second, func(ctx context.Context) (bool, error) {
		return firing(ctx, prom, rule.Name, masterPod(ep))
	})
	r.Figures(t, evidence.Figure{Name: "RedisRejectedConnections fired after", Value: time.Since(released).Seconds(), Unit: "s"})
	assert.NoError(t, err, "FR-009: RedisRejectedConnections did not fire within %s", bound)
	return ctx
}

func masterPod(ep target.Endpoints) string {
	for _, inst := range ep.Instances {
		if inst.Role == target.RoleMaster {
			return inst.Pod
		}
	}
	return ""
}

func assessPartition(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r := harness.From(ctx)
	partitioner, ok := r.Target.(target.Partitioner)
	if !ok {
		t.Skipf("the %s target cannot cut the network between two pods from here (it would need a NetworkPolicy change or node access)", r.Target.Name())
	}
	ep := harness.Endpoints(ctx, t)
	replicas := ep.ByRole(target.RoleReplica)
	if len(replicas) == 0 {
		t.Fatalf("FR-006: no replica to partition")
	}
	victim := replicas[0]
	prom := prometheus(ctx, t)
	rule := alertRule(ctx, t, prom, "RedisReplicationBroken")
	master := client(ctx, t, "FR-006 writes on the master", ep.Master)
	replica := client(ctx, t, "FR-006 reads on the partitioned replica", victim.Addr)

	// Keys written and replicated before the partition: what the replica must serve.
	prefix := r.Key("partition") + ":"
	var ledger []string
	for i := range 100 {
		key := prefix + "before:" + strconv.Itoa(i)
		require.NoError(t, master.Set(ctx, key, key, harness.KeyTTL).Err())
		ledger = append(ledger, key)
	}
	acked, err := master.Wait(ctx, 1, 5*time.Second).Result()
	require.NoError(t, err)
	require.Positive(t, acked, "FR-006: the replica did not acknowledge the writes before the partition")

	heal, err := partitioner.Partition(ctx, victim.Name)
	require.NoError(t, err, "partition %s", victim.Name)
	t.Cleanup(func() { harness.MustRevert(t, ctx, "heal the partition", heal) })
	cut := time.Now()

	// The master goes on writing while the replica cannot hear it.
	writeCtx, stopWrites := context.WithCancel(ctx)
	type result struct{ acked, failed int }
	done := make(chan result, 1)
	var during []string
	go func() {
		var res result
		tick := time.NewTicker(partitionWriteEvery)
		defer tick.Stop()
		for i := 0; writeCtx.Err() == nil; i++ {
			key := prefix + "during:" + strconv.Itoa(i)
			if err := master.Set(writeCtx, key, key, harness.KeyTTL).Err(); err == nil {
				res.acked++
				during = append(during, key)
			} else if writeCtx.Err() == nil {
				res.failed++
			}
			select {
			case <-writeCtx.Done():
			case <-tick.C:
			}
		}
		done <- res
	}()
	defer stopWrites()

	replTimeout := 60 * time.Second
	if cfg, err := replica.ConfigGet(ctx, "repl-timeout").Result(); err == nil {
		if s, err := strconv.Atoi(cfg["repl-timeout"]); err == nil && s > 0 {
			replTimeout = time.Duration(s) * time.Second
		}
	}
	err = harness.WaitFor(ctx, victim.Name+" to see its link to the master down", replTimeout+replTimeoutSlack, time.Second, func(ctx context.Context) (bool, error) {
		fields, err := info(ctx, replica, "replication")
		return err == nil && fields["master_link_status"] == "down", nil
	})
	require.NoError(t, err, "FR-006: the partition never showed on %s", victim.Name)
	linkDown := time.Since(cut)

	// The replica serves what it has.
	var staleOK, staleErr int
	var firstStaleErr error
	for _, key := range ledger {
		v, err := replica.Get(ctx, key).Result()
		if err == nil && v == key {
			staleOK++
		} else {
			staleErr++
			if firstStaleErr == nil {
				firstStaleErr = err
			}
		}
	}

	interval := scrapeInterval(ctx, t, prom)
	bound := time.Duration(rule.Duration*float64(time.Second)) + 2*interval + alertSlack
	alertWait := time.Now()
	alertErr := harness.WaitFor(ctx, "alert RedisReplicationBroken to fire", bound, time.Second, func(ctx context.Context) (bool, error) {
		return firing(ctx, prom, rule.Name, "")
	})
	alertAfter := time.Since(alertWait)

	stopWrites()
	res := <-done
	require.NoError(t, harness.Revert(ctx, heal), "heal the partition")
	healed := time.Now()
	var resyncErr error
	err = harness.WaitFor(ctx, victim.Name+" to resync after the heal", restartTimeout, 250*time.Millisecond, func(ctx context.Context) (bool, error) {
		fields, err := info(ctx, replica, "replication")
		if err != nil || fields["master_link_status"] != "up" {
			return false, nil
		}
		var missing int
		missing, resyncErr = countMissing(ctx, replica, append(ledger, during...))
		return resyncErr == nil && missing == 0, nil
	})
	resync := time.Since(healed)
	missing, countErr := countMissing(ctx, replica, append(ledger, during...))
	r.Figures(t,
		evidence.Figure{Name: "link seen down after", Value: linkDown.Seconds(), Unit: "s"},
		evidence.Figure{Name: "master writes acknowledged during the partition", Value: float64(res.acked), Unit: "count"},
		evidence.Figure{Name: "master writes failed during the partition", Value: float64(res.failed), Unit: "count"},
		evidence.Figure{Name: "stale reads served by the replica", Value: float64(staleOK), Unit: "count"},
		evidence.Figure{Name: "stale reads refused by the replica", Value: float64(staleErr), Unit: "count"},
		evidence.Figure{Name: "RedisReplicationBroken fired after the partition began", Value: (linkDown + alertAfter).Seconds(), Unit: "s"},
		evidence.Figure{Name: "resync time after the heal", Value: resync.Seconds(), Unit: "s"},
		evidence.Figure{Name: "acknowledged writes checked after the heal", Value: float64(len(ledger) + len(during)), Unit: "count"},
		evidence.Figure{Name: "acknowledged writes missing after the heal", Value: float64(missing), Unit: "count"})
	assert.Zero(t, res.failed, "SC-002: the master refused writes during the partition")
	assert.Positive(t, res.acked, "SC-002: the master acknowledged no write during the partition")
	assert.Zero(t, staleErr, "SC-002: the partitioned replica refused %d of %d reads of data it holds (first: %v)", staleErr, len(ledger), firstStaleErr)
	assert.NoError(t, alertErr, "FR-009: RedisReplicationBroken did not fire within %s of the link going down", bound)
	require.NoError(t, countErr)
	assert.NoError(t, err, "FR-006: %s did not resync with every acknowledged write (%d missing, %v)", victim.Name, missing, resyncErr)
	return ctx
}

// countMissing counts the keys of the ledger a client does not have.
func countMissing(ctx context.Context, c *redis.Client, keys []string) (int, error) {
	missing := 0
	for start := 0; start < len(keys); start += 500 {
		batch := keys[start:min(start+500, len(keys))]
		vals, err := c.MGet(ctx, batch...).Result()
		if err != nil {
			return 0, err
		}
		for i, v := range vals {
			if s, ok := v.(string); !ok || s != batch[i] {
				missing++
			}
		}
	}
	return missing, nil
}

func assessPasswordRotation(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r := harness.From(ctx)
	rotator, ok := r.Target.(target.PasswordRotator)
	if !ok {
		t.Skipf("the %s target does not rotate the password itself: the Secret belongs to tofu (docs/sandbox.md has the homelab steps)", r.Target.Name())
	}
	ep := harness.Endpoints(ctx, t)
	prom := prometheus(ctx, t)
	interval := scrapeInterval(ctx, t, prom)
	before := map[string]target.Restart{}
	for _, inst := range ep.Instances {
		rs, err := r.Target.Restarts(ctx, inst.Name)
		require.NoError(t, err)
		before[inst.Name] = rs
	}
	start := time.Now()
	steps, err := rotator.RotatePassword(ctx)
	require.NoError(t, err, "rotate the password")
	rotated := time.Now()
	for _, s := range steps {
		r.Figures(t, evidence.Figure{Name: s.Instance + " restarted with the new password in", Value: s.Took.Seconds(), Unit: "s"})
	}
	r.Figures(t, evidence.Figure{Name: "rotation took", Value: rotated.Sub(start).Seconds(), Unit: "s"})

	for _, inst := range ep.Instances {
		old, err := rotator.PreviousPasswordClient(target.Cluster, inst.Addr)
		require.NoError(t, err)
		oldErr := old.Ping(ctx).Err()
		_ = old.Close()
		if assert.Error(t, oldErr, "FR-011: %s still accepts the old password", inst.Name) {
			assert.Contains(t, oldErr.Error(), "WRONGPASS", "FR-011: %s refused the old password, but not as a wrong password", inst.Name)
		}
		fresh := client(ctx, t, "FR-011 the new password on "+inst.Name, inst.Addr)
		assert.NoError(t, fresh.Ping(ctx).Err(), "FR-011: %s refuses the new password", inst.Name)
	}

	// Each exporter scrapes again with the new password within one interval.
	bound := interval + alertSlack
	for _, inst := range ep.Instances {
		var up, at float64
		err := harness.WaitFor(ctx, "the exporter of "+inst.Pod+" to report redis_up 1 again", bound, time.Second, func(ctx context.Context) (bool, error) {
			samples, err := prom.Query(ctx, fmt.Sprintf(`redis_up{pod=%q}`, inst.Pod))
			if err != nil || len(samples) == 0 {
				return false, nil
			}
			ts, err := prom.Query(ctx, fmt.Sprintf(`timestamp(redis_up{pod=%q})`, inst.Pod))
			if err != nil || len(ts) == 0 {
				return false, nil
			}
			up, at = samples[0].Value, ts[0].Value
			return up == 1 && at >= float64(rotated.Unix()), nil
		})
		// Without a working exporter the health wait below could only time out.
		require.NoError(t, err, "FR-009: the exporter of %s does not scrape Redis with the new password within one interval (redis_up %g)", inst.Pod, up)
	}

	// The health checks stay green: no liveness restart after the rotation.
	require.NoError(t, r.Target.WaitHealthy(ctx, restartTimeout), "the deployment after the rotation")
	require.NoError(t, harness.Observe(ctx, 2*interval))
	for _, inst := range ep.Instances {
		now, err := r.Target.Restarts(ctx, inst.Name)
		require.NoError(t, err)
		assert.Equal(t, before[inst.Name].Count, now.Count, "FR-010: %s was restarted by a failing health check after the rotation", inst.Name)
	}
	return ctx
}

func assessRedisDownDrill(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r := harness.From(ctx)
	ep := harness.Endpoints(ctx, t)
	prom := prometheus(ctx, t)
	rule := alertRule(ctx, t, prom, "RedisDown")
	interval := scrapeInterval(ctx, t, prom)
	bound := time.Duration(rule.Duration*float64(time.Second)) + interval + alertSlack
	pod := masterPod(ep)
	revert, err := r.Target.Stop(ctx, "master")
	harness.SkipUnsupported(t, "keeping the master down", err)
	require.NoError(t, err, "stop the master")
	t.Cleanup(func() { harness.MustRevert(t, ctx, "start the master again", revert) })
	stopped := time.Now()
	fireErr := harness.WaitFor(ctx, "RedisDown to fire for "+pod, bound, 500*time.Millisecond, func(ctx context.Context) (bool, error) {
		return firing(ctx, prom, rule.Name, pod)
	})
	fired := time.Since(stopped)
	require.NoError(t, harness.Revert(ctx, revert), "start the master again")
	restarted := time.Now()
	resolveErr := harness.WaitFor(ctx, "RedisDown to resolve", interval+alertSlack, 500*time.Millisecond, func(ctx context.Context) (bool, error) {
		on, err := firing(ctx, prom, rule.Name, pod)
		return !on, err
	})
	resolved := time.Since(restarted)
	r.Figures(t,
		evidence.Figure{Name: "RedisDown for", Value: rule.Duration, Unit: "s"},
		evidence.Figure{Name: "RedisDown fired after", Value: fired.Seconds(), Unit: "s"},
		evidence.Figure{Name: "fire bound (for + one interval + slack)", Value: bound.Seconds(), Unit: "s"},
		evidence.Figure{Name: "RedisDown resolved after the restart", Value: resolved.Seconds(), Unit: "s"})
	assert.NoError(t, fireErr, "FR-009: RedisDown did not fire within %s of the master going down", bound)
	assert.NoError(t, resolveErr, "FR-009: RedisDown did not resolve within one interval of the restart")
	require.NoError(t, r.Target.WaitHealthy(ctx, restartTimeout))
	return ctx
}

func assessEveryInstanceHang(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
	r := harness.From(ctx)
	ep := harness.Endpoints(ctx, t)
	bound := harness.Seconds(t, r.Bound(t, "FR-010", "restart_within"))
	for _, victim := range ep.Instances {
		before, err := r.Target.Restarts(ctx, victim.Name)
		require.NoError(t, err)
		hung := time.Now()
		revert, err := r.Target.Hang(ctx, victim.Name)
		harness.SkipUnsupported(t, "freezing "+victim.Name, err)
		require.NoError(t, err, "freeze %s", victim.Name)
		err = harness.WaitFor(ctx, victim.Name+" to be restarted by its liveness probe", bound, 250*time.Millisecond, func(ctx context.Context) (bool, error) {
			now, err := r.Target.Restarts(ctx, victim.Name)
			return err == nil && now.Pid > 0 && now.Pid != before.Pid, nil
		})
		restarted := time.Since(hung)
		r.Figures(t, evidence.Figure{Name: victim.Name + " restarted by its liveness probe after", Value: restarted.Seconds(), Unit: "s"})
		revertErr := harness.Revert(ctx, revert)
		assert.NoError(t, err, "FR-010: %s, frozen, was not restarted by its liveness probe within %s", victim.Name, bound)
		require.NoError(t, revertErr, "%s healthy again", victim.Name)
	}
	return ctx
}
