package probe

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/redis-shared/conformance/tools/loadgen"
)

// The disruptive measurements, run from a vantage point while the caller makes a
// fault through Target.Kill or Target.Stop: `durability` (SC-007, FR-007:
// acknowledged writes survive a master kill) and `outage` (SC-002: replica reads go
// on and writes come back across a master kill; or, with replica_down, SET+GET
// through the master all succeed while the replica is down). The probe does not know
// when the fault lands; it measures from its own start.

// DurabilityConfig shapes `redisprobe durability`.
type DurabilityConfig struct {
	// Prefix starts every key written (the request's prefix).
	Prefix string `json:"-"`
	// Duration is how long the writers write; a master that is down then ends it.
	Duration time.Duration `json:"duration"`
	// TTL is on every key (SET PX; the request's ttl).
	TTL time.Duration `json:"-"`
	// Writers is the number of connections writing, each pipelining Pipeline SETs
	// every Every.
	Writers  int           `json:"writers"`
	Pipeline int           `json:"pipeline"`
	Every    time.Duration `json:"every"`
	// Recover bounds each wait for the master to answer again (PING, which a server
	// still loading its AOF refuses).
	Recover time.Duration `json:"recover"`
	// ValueSize pads every value to this many bytes (0: unpadded): more bytes per
	// second make each background fsync last longer, the window in which a lax fsync
	// policy acknowledges data it has not written.
	ValueSize int `json:"value_size"`
	// KeysPerWriter is how many keys each writer cycles over, so memory stays bounded
	// however fast it writes; an overwrite lost after its ack is a loss too. A writer
	// that cycles stops at its first failure (a write after the restart would hide a
	// loss). 0: a new key for every write, and writers reconnect and go on.
	KeysPerWriter int `json:"keys_per_writer"`
}

// DurabilityReport is the answer of `redisprobe durability`.
type DurabilityReport struct {
	Addr string `json:"addr"`
	// Acknowledged counts SETs answered OK; Keys the distinct keys among them.
	Acknowledged int `json:"acknowledged"`
	Keys         int `json:"keys"`
	// FailedWrites counts SETs without an OK (the server may or may not have applied
	// them: they are not checked).
	FailedWrites int `json:"failed_writes"`
	// Reconnects counts the times a writer got the master back after a failure.
	Reconnects int `json:"reconnects"`
	// Lost counts acknowledged keys that do not read back with their value.
	Lost       int      `json:"lost"`
	LostSample []string `json:"lost_sample,omitempty"`
	// EvictedKeys counts keys the master evicted during the run (INFO stats
	// evicted_keys, sampled while writing and after the read-back, per run_id since a
	// restart resets it): an evicted key reads back missing, like a lost one, so a run
	// with an eviction proves nothing.
	EvictedKeys int `json:"evicted_keys"`
	// AOFEnabled is INFO persistence aof_enabled of the master after the restart
	// (the appendfsync policy needs CONFIG GET, which the chart may disable).
	AOFEnabled string   `json:"aof_enabled"`
	Cleanup    *Cleanup `json:"cleanup,omitempty"`
	Error      string   `json:"error,omitempty"`
}

// OutageConfig shapes `redisprobe outage`.
type OutageConfig struct {
	// Prefix and TTL are the request's.
	Prefix string        `json:"-"`
	TTL    time.Duration `json:"-"`
	// ReadAddr is where the reader reads (the replicas Service).
	ReadAddr string `json:"read_addr"`
	// Duration is the minimum run; an outage going on then is followed until writes
	// come back or Recover has passed since the first failed write.
	Duration time.Duration `json:"duration"`
	Every    time.Duration `json:"every"`
	Recover  time.Duration `json:"recover"`
	// SeedWithin bounds the wait for the seed key to reach ReadAddr before the run
	// (a replica still in its initial sync has not got it); default 5 s.
	SeedWithin time.Duration `json:"seed_within"`
	// ReplicaDown is the run while the replica is held down: no seed key, each write
	// is a SET then a GET of its key on the master (a wrong value fails it), a read
	// at ReadAddr only counts whether it answered, and the run lasts Duration.
	ReplicaDown bool `json:"replica_down"`
}

// OutageReport is the answer of `redisprobe outage`.
type OutageReport struct {
	Addr        string `json:"addr"`
	ReadAddr    string `json:"read_addr"`
	Reads       int    `json:"reads"`
	FailedReads int    `json:"failed_reads"`
	// StaleReads are reads that answered without the seed key's value: data loss is
	// SC-007's business, so they are counted apart from failed reads.
	StaleReads   int `json:"stale_reads"`
	Writes       int `json:"writes"`
	FailedWrites int `json:"failed_writes"`
	// WriteOutageSeconds runs from the first failed write to the first successful
	// write after it (to the end of the run when none came).
	WriteOutageSeconds float64  `json:"write_outage_s"`
	WritesRecovered    bool     `json:"writes_recovered"`
	FirstReadError     string   `json:"first_read_error,omitempty"`
	FirstWriteError    string   `json:"first_write_error,omitempty"`
	Cleanup            *Cleanup `json:"cleanup,omitempty"`
	Error              string   `json:"error,omitempty"`
}

// defaultSeedWithin bounds the wait for the seed key to reach the replica.
const defaultSeedWithin = 5 * time.Second

// Durability has cfg.Writers writers pipeline SETs under cfg.Prefix for
// cfg.Duration, each cycling over its own keys, keeps the last acknowledged value of
// every key, waits (bounded) for the master to answer, reads them all back and counts
// the lost ones; then deletes the prefix. A master that does not come back within
// cfg.Recover is an error, reported with what was measured.
func Durability(ctx context.Context, ep loadgen.Endpoint, cfg DurabilityConfig) (rep DurabilityReport, err error) {
	rep.Addr = ep.Addr
	var (
		mu       sync.Mutex
		ledger   = NewLedger()
		failed   int
		reconns  int
		firstErr error
		wg       sync.WaitGroup
		evicted  evictions
	)
	stopSampling := evicted.sample(ctx, ep)
	end := time.Now().Add(cfg.Duration)
	for w := range cfg.Writers {
		wg.Go(func() {
			// One dial attempt per request: go-redis's dial retries would carry a write
			// across a short restart and hide the failure at the kill.
			c := outageClient(ep)
			defer c.Close()
			tick := time.NewTicker(cfg.Every)
			defer tick.Stop()
			for seq := 0; time.Now().Before(end) && ctx.Err() == nil; seq++ {
				// The ledger keeps "key@seq"; the server gets it padded to ValueSize.
				keys, values := make([]string, cfg.Pipeline), make([]string, cfg.Pipeline)
				cmds, _ := c.Pipelined(ctx, func(p redis.Pipeliner) error {
					for i := range keys {
						n := seq*cfg.Pipeline + i
						if cfg.KeysPerWriter > 0 {
							n %= cfg.KeysPerWriter
						}
						keys[i] = cfg.Prefix + "d:" + strconv.Itoa(w) + ":" + strconv.Itoa(n)
						values[i] = keys[i] + "@" + strconv.Itoa(seq)
						p.Set(ctx, keys[i], padValue(values[i], cfg.ValueSize), cfg.TTL)
					}
					return nil
				})
				bad := 0
				mu.Lock()
				for i, k := range keys {
					if i < len(cmds) && cmds[i].Err() == nil {
						ledger.Ack(k, values[i])
					} else {
						// The server may have applied it: finding it is not a loss.
						ledger.Unacked(k, values[i])
						bad++
					}
				}
				failed += bad
				mu.Unlock()
				if bad > 0 && cfg.KeysPerWriter > 0 {
					// Writes after the restart would overwrite the keys whose loss is to
					// be found: this writer's part is done.
					return
				}
				if bad > 0 {
					// The master is gone or loading: wait for it (bounded), then go on.
					if err := waitAnswering(ctx, c, cfg.Recover); err != nil {
						mu.Lock()
						if firstErr == nil {
							firstErr = fmt.Errorf("writer %d: %w", w, err)
						}
						mu.Unlock()
						return
					}
					mu.Lock()
					reconns++
					mu.Unlock()
				}
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		})
	}
	wg.Wait()
	stopSampling()
	rep.Acknowledged, rep.Keys, rep.FailedWrites, rep.Reconnects = ledger.Writes(), ledger.Len(), failed, reconns
	defer func() {
		c := CleanupPrefix(context.WithoutCancel(ctx), ep, cfg.Prefix, nil)
		rep.Cleanup = &c
	}()
	if firstErr != nil {
		rep.Error = Redact(firstErr.Error(), ep.Password)
		return rep, errors.New(rep.Error)
	}
	c := newClient(ep)
	defer c.Close()
	if err := waitAnswering(ctx, c, cfg.Recover); err != nil {
		rep.Error = Redact("read-back: "+err.Error(), ep.Password)
		return rep, errors.New(rep.Error)
	}
	rep.AOFEnabled = c.InfoMap(ctx, "persistence").Item("Persistence", "aof_enabled")
	lost, err := ledger.Verify(ctx, func(ctx context.Context, keys ...string) ([]any, error) {
		values, err := c.MGet(ctx, keys...).Result()
		for i, v := range values {
			if s, ok := v.(string); ok {
				values[i] = strings.TrimRight(s, ".")
			}
		}
		return values, err
	})
	evicted.read(ctx, c)
	rep.EvictedKeys = evicted.total()
	rep.Lost = len(lost)
	rep.LostSample = lost[:min(len(lost), 5)]
	if err != nil {
		rep.Error = Redact(fmt.Sprintf("read-back: %v", err), ep.Password)
		return rep, errors.New(rep.Error)
	}
	return rep, nil
}

// padValue pads v with dots to size bytes (a written value ends in the write's
// number, so trimming the dots gives it back).
func padValue(v string, size int) string {
	if len(v) >= size {
		return v
	}
	return v + strings.Repeat(".", size-len(v))
}

// evictions sums the master's INFO stats evicted_keys over its lives: the count of
// the first life is taken from the first reading, a later life (new run_id, after a
// restart) counts from 0.
type evictions struct {
	mu          sync.Mutex
	first, last map[string]int
}

// evictionSampleEvery is how often the counter is read while the writers write.
const evictionSampleEvery = 100 * time.Millisecond

// read books one reading of c's counter; a failed read (the master is down) is
// skipped.
func (e *evictions) read(ctx context.Context, c *redis.Client) {
	info := c.InfoMap(ctx, "server", "stats")
	n, err := strconv.Atoi(info.Item("Stats", "evicted_keys"))
	id := info.Item("Server", "run_id")
	if info.Err() != nil || err != nil || id == "" {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.first == nil {
		e.first, e.last = map[string]int{id: n}, map[string]int{}
	}
	e.last[id] = n
}

// sample reads the counter every evictionSampleEvery until the returned stop.
func (e *evictions) sample(ctx context.Context, ep loadgen.Endpoint) (stop func()) {
	c := outageClient(ep)
	e.read(ctx, c)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer c.Close()
		pace(ctx, done, evictionSampleEvery, func(int) { e.read(ctx, c) })
	})
	return func() { close(done); wg.Wait() }
}

func (e *evictions) total() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for id, last := range e.last {
		n += last - e.first[id]
	}
	return n
}

// Outage writes a seed key on the master, waits until the reader sees it at
// cfg.ReadAddr, then reads it there and writes a new key on the master every
// cfg.Every, for cfg.Duration and then until writes are back (bounded by
// cfg.Recover after the first failed write); then deletes the prefix. With
// cfg.ReplicaDown it skips the seed wait, reads back every write on the master and
// stops after cfg.Duration.
func Outage(ctx context.Context, ep loadgen.Endpoint, cfg OutageConfig) (rep OutageReport, err error) {
	rep.Addr, rep.ReadAddr = ep.Addr, cfg.ReadAddr
	defer func() {
		c := CleanupPrefix(context.WithoutCancel(ctx), ep, cfg.Prefix, nil)
		rep.Cleanup = &c
	}()
	fail := func(format string, args ...any) (OutageReport, error) {
		rep.Error = Redact(fmt.Sprintf(format, args...), ep.Password)
		return rep, errors.New(rep.Error)
	}
	master := newClient(ep)
	defer master.Close()
	readEp := ep
	readEp.Addr = cfg.ReadAddr
	replica := newClient(readEp)
	defer replica.Close()
	seed, seedValue := cfg.Prefix+"seed", "before-the-kill"
	if err := master.Set(ctx, seed, seedValue, cfg.TTL).Err(); err != nil {
		return fail("seed key on %s: %v", ep.Addr, err)
	}
	seedWithin := cfg.SeedWithin
	if seedWithin <= 0 {
		seedWithin = defaultSeedWithin
	}
	seen := time.Now().Add(seedWithin)
	for !cfg.ReplicaDown && replica.Get(ctx, seed).Val() != seedValue {
		if time.Now().After(seen) || ctx.Err() != nil {
			return fail("the seed key did not reach %s within %s", cfg.ReadAddr, seedWithin)
		}
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Millisecond):
		}
	}

	var mu sync.Mutex
	// writes is the write outcomes' outage window, booked as they come.
	var writes OutageWindow
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		c := outageClient(readEp)
		defer func() { _ = c.Close() }()
		pace(ctx, stop, cfg.Every, func(int) {
			v, err := c.Get(ctx, seed).Result()
			if err != nil && !errors.Is(err, redis.Nil) {
				c = renew(c, readEp)
			}
			mu.Lock()
			defer mu.Unlock()
			rep.Reads++
			switch {
			case err != nil && !errors.Is(err, redis.Nil):
				rep.FailedReads++
				if rep.FirstReadError == "" {
					rep.FirstReadError = Redact(err.Error(), ep.Password)
				}
			case !cfg.ReplicaDown && v != seedValue:
				rep.StaleReads++
			}
		})
	})
	wg.Go(func() {
		c := outageClient(ep)
		defer func() { _ = c.Close() }()
		pace(ctx, stop, cfg.Every, func(seq int) {
			// An outcome counts at its send time: a failed dial can take up to the
			// dial timeout, and the outage began when the request could not be served.
			now := time.Now()
			key := cfg.Prefix + "w:" + strconv.Itoa(seq)
			err := c.Set(ctx, key, seq, cfg.TTL).Err()
			if err == nil && cfg.ReplicaDown {
				var got int
				if got, err = c.Get(ctx, key).Int(); err == nil && got != seq {
					err = fmt.Errorf("GET %s returned %d, want %d", key, got, seq)
				}
			}
			if err != nil {
				c = renew(c, ep)
			}
			mu.Lock()
			defer mu.Unlock()
			rep.Writes++
			if err != nil && writes.FirstFailure.IsZero() {
				rep.FirstWriteError = Redact(err.Error(), ep.Password)
			}
			// One writer sends in order, so the window is booked as it goes.
			writes.Add(Outcome{At: now, OK: err == nil}, time.Time{})
		})
	})
	began := time.Now()
	tick := time.NewTicker(cfg.Every)
	for {
		mu.Lock()
		done := time.Since(began) >= cfg.Duration && (cfg.ReplicaDown ||
			writes.FirstFailure.IsZero() || !writes.Recovered.IsZero() || time.Since(writes.FirstFailure) > cfg.Recover)
		mu.Unlock()
		if done || ctx.Err() != nil {
			break
		}
		<-tick.C
	}
	tick.Stop()
	close(stop)
	wg.Wait()
	rep.FailedWrites = writes.Failed
	rep.WriteOutageSeconds = writes.Duration(time.Now()).Seconds()
	rep.WritesRecovered = writes.FirstFailure.IsZero() || !writes.Recovered.IsZero()
	if ctx.Err() != nil {
		return fail("outage run cut short: %v", ctx.Err())
	}
	if !rep.WritesRecovered && !cfg.ReplicaDown {
		return fail("writes on %s did not come back within %s of the first failure", ep.Addr, cfg.Recover)
	}
	return rep, nil
}

// outageClient is a client that sees an outage as it happens (timing it, or the
// writes a kill interrupts): one dial attempt per request (go-redis otherwise
// retries a failed dial 5 times, 100 ms apart, inside one request).
func outageClient(ep loadgen.Endpoint) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr: ep.Addr, Password: ep.Password, Username: ep.Username,
		Dialer:      ep.DialContext,
		DialTimeout: ep.DialTimeout, ReadTimeout: ep.ReadTimeout, WriteTimeout: ep.WriteTimeout,
		MaxRetries: -1, PoolSize: 1, DisableIdentity: true,
		DialerRetries: 1, DialerRetryTimeout: time.Millisecond,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
}

// renew replaces a client after a failed request: go-redis holds back new dials of a
// pool whose dials failed (retrying about once a second), which would add up to a
// second to a measured outage; a fresh client dials at once.
func renew(c *redis.Client, ep loadgen.Endpoint) *redis.Client {
	_ = c.Close()
	return outageClient(ep)
}

// pace calls request every interval until stop closes or ctx ends.
func pace(ctx context.Context, stop <-chan struct{}, every time.Duration, request func(seq int)) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for seq := 0; ; seq++ {
		request(seq)
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// waitAnswering pings c until it answers (a restarted server refuses PING with
// LOADING until its data is loaded), for at most within.
func waitAnswering(ctx context.Context, c *redis.Client, within time.Duration) error {
	deadline := time.Now().Add(within)
	var err error
	for {
		if err = c.Ping(ctx).Err(); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the master did not answer again within %s: %w", within, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for the master: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
