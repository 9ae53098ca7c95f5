package loadgen

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// redialBackoff keeps a closed-loop worker from spinning while the server refuses
// connections.
const redialBackoff = 10 * time.Millisecond

// maxPrecomputedKeys bounds the key table built up front; larger key spaces format
// keys on the fly.
const maxPrecomputedKeys = 1 << 20

// Run drives the load cfg describes through dialer and returns what it measured.
// When ctx ends early, Run returns the partial Result together with ctx's error.
func Run(ctx context.Context, cfg Config, dialer Dialer) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, fmt.Errorf("load config: %w", err)
	}
	cfg = cfg.withDefaults()
	redact := redactor("")
	if r, ok := dialer.(interface{ Secret() string }); ok {
		redact = redactor(r.Secret())
	}
	var pacers []pacer
	if cfg.Mode == OpenLoop {
		var err error
		if pacers, err = newPacers(cfg); err != nil {
			return Result{}, err
		}
		defer func() {
			for _, p := range pacers {
				_ = p.Close()
			}
		}()
	}
	w := newWorkload(cfg)
	conns := dialAll(ctx, cfg.Connections, dialer)
	defer func() {
		for _, c := range conns {
			if c.conn != nil {
				_ = c.conn.Close()
			}
		}
	}()
	var res Result
	switch cfg.Mode {
	case OpenLoop:
		res = runOpen(ctx, cfg, w, conns, pacers, dialer.Name(), redact)
	default:
		res = runClosed(ctx, cfg, w, conns, dialer.Name(), redact)
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("load run interrupted after %d requests: %w", res.Requests, err)
	}
	return res, nil
}

// newPacers makes one pacer per connection.
func newPacers(cfg Config) ([]pacer, error) {
	pacers := make([]pacer, 0, cfg.Connections)
	for range cfg.Connections {
		p, err := newPacer(cfg.Pacer, cfg.Spin)
		if err != nil {
			for _, made := range pacers {
				_ = made.Close()
			}
			return nil, fmt.Errorf("open loop pacer: %w", err)
		}
		pacers = append(pacers, p)
	}
	return pacers, nil
}

// workload makes the ops: a random key of the key space, SET or GET by the mix;
// shared read-only between workers, each with its own random source.
type workload struct {
	cfg   Config
	keys  []string
	value []byte
	seed  uint64
}

func newWorkload(cfg Config) *workload {
	w := &workload{cfg: cfg, value: make([]byte, cfg.ValueSize), seed: cfg.Seed}
	for i := range w.value {
		w.value[i] = 'a' + byte(i%26)
	}
	if w.seed == 0 {
		w.seed = uint64(time.Now().UnixNano())
	}
	if cfg.KeySpace <= maxPrecomputedKeys {
		w.keys = make([]string, cfg.KeySpace)
		for i := range w.keys {
			w.keys[i] = w.formatKey(i)
		}
	}
	return w
}

func (w *workload) key(i int) string {
	if w.keys != nil {
		return w.keys[i]
	}
	return w.formatKey(i)
}

func (w *workload) formatKey(i int) string { return w.cfg.KeyPrefix + strconv.Itoa(i) }

// fill sets op to the next random command.
func (w *workload) fill(op *Op, rng *rand.Rand) {
	op.Err = nil
	op.Key = w.key(rng.IntN(w.cfg.KeySpace))
	if rng.Float64() < w.cfg.SetRatio {
		op.Kind, op.Value, op.TTL = OpSet, w.value, w.cfg.TTL
	} else {
		op.Kind, op.Value, op.TTL = OpGet, nil, 0
	}
}

// workerConn is one worker's connection slot; conn is nil until (re)dialled.
type workerConn struct {
	dialer Dialer
	conn   Conn
}

func dialAll(ctx context.Context, n int, dialer Dialer) []*workerConn {
	conns := make([]*workerConn, n)
	var wg sync.WaitGroup
	for i := range conns {
		conns[i] = &workerConn{dialer: dialer}
		wg.Go(func() { _ = conns[i].ensure(ctx) })
	}
	wg.Wait()
	return conns
}

func (c *workerConn) ensure(ctx context.Context) error {
	if c.conn != nil {
		return nil
	}
	conn, err := c.dialer.Dial(ctx)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	c.conn = conn
	return nil
}

// exec sends ops, redialling first if needed; every op ends with Err set or nil.
// It reports whether the connection (or dial) failed.
func (c *workerConn) exec(ctx context.Context, ops []Op) bool {
	fail := func(err error) bool {
		for i := range ops {
			if ops[i].Err == nil {
				ops[i].Err = err
			}
		}
		return true
	}
	if err := c.ensure(ctx); err != nil {
		return fail(err)
	}
	if err := c.conn.Exec(ctx, ops); err != nil {
		_ = c.conn.Close()
		c.conn = nil
		return fail(err)
	}
	return false
}

func runClosed(ctx context.Context, cfg Config, w *workload, conns []*workerConn, client string, redact func(string) string) Result {
	start := time.Now()
	var deadline time.Time
	if cfg.Duration > 0 {
		deadline = start.Add(cfg.Duration)
	}
	var remaining atomic.Int64
	remaining.Store(math.MaxInt64)
	if cfg.Requests > 0 {
		remaining.Store(cfg.Requests)
	}
	claim := func() int {
		left := remaining.Add(-int64(cfg.Pipeline))
		if left >= 0 {
			return cfg.Pipeline
		}
		return max(0, cfg.Pipeline+int(left))
	}
	recs := make([]*recorder, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		rec := newRecorder(start, redact)
		recs[i] = rec
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(w.seed, uint64(i)))
			ops := make([]Op, cfg.Pipeline)
			for ctx.Err() == nil && (deadline.IsZero() || time.Now().Before(deadline)) {
				n := claim()
				if n == 0 {
					return
				}
				batch := ops[:n]
				for j := range batch {
					w.fill(&batch[j], rng)
				}
				rec.taken += int64(n)
				sent := time.Now()
				failed := c.exec(ctx, batch)
				done := time.Now()
				for j := range batch {
					rec.record(&batch[j], sent, sent, done)
				}
				rec.noteDone(done)
				if failed {
					sleepCtx(ctx, redialBackoff)
				}
			}
		})
	}
	wg.Wait()
	return build(cfg, client, start, recs)
}

// runOpen gives each worker its own pacer: a worker claims the next request,
// waits for its intended time and sends it on its own connection, so a request
// goes out as soon as it is due on the first free connection. The time between
// its intended and actual send is the generator's lateness, recorded apart.
func runOpen(ctx context.Context, cfg Config, w *workload, conns []*workerConn, pacers []pacer, client string, redact func(string) string) Result {
	total := int64(math.Round(cfg.Rate * cfg.Duration.Seconds()))
	interval := float64(time.Second) / cfg.Rate
	runCtx, stop := context.WithCancel(ctx)
	defer stop()

	start := time.Now()
	intended := func(seq int64) time.Time { return start.Add(time.Duration(float64(seq) * interval)) }
	// next is the first request no worker has claimed yet.
	var next atomic.Int64
	claimDue := func(seqs []int64, limit int, now time.Time) []int64 {
		for len(seqs) < limit {
			seq := next.Load()
			if seq >= total || intended(seq).After(now) {
				break
			}
			if next.CompareAndSwap(seq, seq+1) {
				seqs = append(seqs, seq)
			}
		}
		return seqs
	}
	recs := make([]*recorder, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		rec := newRecorder(start, redact)
		rec.lateness = newHistogram()
		recs[i] = rec
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(w.seed, uint64(i)))
			ops := make([]Op, cfg.Pipeline)
			seqs := make([]int64, 0, cfg.Pipeline)
			for runCtx.Err() == nil {
				first := next.Add(1) - 1
				if first >= total {
					return
				}
				if err := pacers[i].waitUntil(runCtx, intended(first)); err != nil {
					if runCtx.Err() == nil && len(rec.samples) < maxErrorSamples {
						rec.samples = addSamples(rec.samples, redact(err.Error()))
					}
					return
				}
				// Behind schedule, take whatever else is already due, up to the
				// pipeline depth.
				seqs = claimDue(append(seqs[:0], first), cfg.Pipeline, time.Now())
				batch := ops[:len(seqs)]
				for j := range batch {
					w.fill(&batch[j], rng)
				}
				rec.taken += int64(len(batch))
				sent := time.Now()
				for _, seq := range seqs {
					rec.recordLateness(sent.Sub(intended(seq)))
				}
				c.exec(runCtx, batch)
				done := time.Now()
				for j := range batch {
					rec.record(&batch[j], intended(seqs[j]), sent, done)
				}
				rec.noteDone(done)
			}
		})
	}

	// Bound the drain after the last intended send; what is not sent by then is
	// reported as unsent.
	drainTimer := time.AfterFunc(time.Until(intended(max(total-1, 0)))+cfg.Drain, stop)
	wg.Wait()
	drainTimer.Stop()

	res := build(cfg, client, start, recs)
	res.TargetRate = cfg.Rate
	res.Pacer, res.SpinMicros = string(cfg.Pacer), cfg.Spin.Microseconds()
	var taken int64
	for _, r := range recs {
		taken += r.taken
	}
	res.Unsent = total - taken
	return res
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
