package probe

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"
)

// Ledger records every acknowledged write (unique key -> value written) so that
// after a fault each one can be read back: an acknowledged write that is missing or
// different afterwards is lost. Safe for concurrent use.
type Ledger struct {
	mu    sync.Mutex
	acked map[string]string
	// unacked holds values sent after the last acknowledged one whose reply never
	// came: the server may have applied them, so finding one is not a loss.
	unacked map[string][]string
	writes  int
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger {
	return &Ledger{acked: map[string]string{}, unacked: map[string][]string{}}
}

// Ack records that the server acknowledged writing value under key; it replaces
// what the key held before.
func (l *Ledger) Ack(key, value string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acked[key] = value
	delete(l.unacked, key)
	l.writes++
}

// Unacked records a write to key whose reply never came.
func (l *Ledger) Unacked(key, value string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.unacked[key] = append(l.unacked[key], value)
}

// Len is the number of keys with an acknowledged write.
func (l *Ledger) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

// Writes is the number of acknowledged writes (a key can be written many times).
func (l *Ledger) Writes() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.writes
}

// MGetFunc reads keys in one round trip; a missing key is nil.
type MGetFunc func(ctx context.Context, keys ...string) ([]any, error)

// ledgerBatch is the MGET size of a verification.
const ledgerBatch = 500

// Verify reads every acknowledged key back and returns the lost ones, sorted: a key
// is lost when it is missing or holds neither its last acknowledged value nor a later
// unacknowledged one.
func (l *Ledger) Verify(ctx context.Context, mget MGetFunc) ([]string, error) {
	l.mu.Lock()
	keys := make([]string, 0, len(l.acked))
	for k := range l.acked {
		keys = append(keys, k)
	}
	want := make(map[string]string, len(l.acked))
	for k, v := range l.acked {
		want[k] = v
	}
	maybe := make(map[string][]string, len(l.unacked))
	for k, v := range l.unacked {
		maybe[k] = append([]string(nil), v...)
	}
	l.mu.Unlock()
	sort.Strings(keys)
	var lost []string
	for start := 0; start < len(keys); start += ledgerBatch {
		batch := keys[start:min(start+ledgerBatch, len(keys))]
		values, err := mget(ctx, batch...)
		if err != nil {
			return lost, fmt.Errorf("read back %d acknowledged writes from %d: %w", len(batch), start, err)
		}
		if len(values) != len(batch) {
			return lost, fmt.Errorf("MGET of %d keys returned %d values", len(batch), len(values))
		}
		for i, v := range values {
			s, ok := v.(string)
			if !ok || (s != want[batch[i]] && !slices.Contains(maybe[batch[i]], s)) {
				lost = append(lost, batch[i])
			}
		}
	}
	return lost, nil
}

// Outcome is one request's result at a time.
type Outcome struct {
	At time.Time
	OK bool
}

// OutageWindow is what a series of outcomes shows around a fault.
type OutageWindow struct {
	// Failed counts failed requests after the fault.
	Failed int
	// FirstFailure and Recovered bound the outage; Recovered is zero when no request
	// succeeded after the first failure.
	FirstFailure, Recovered time.Time
}

// Duration is the outage length, or since the first failure until end when it never
// recovered; zero without failures.
func (o OutageWindow) Duration(end time.Time) time.Duration {
	switch {
	case o.FirstFailure.IsZero():
		return 0
	case o.Recovered.IsZero():
		return end.Sub(o.FirstFailure)
	default:
		return o.Recovered.Sub(o.FirstFailure)
	}
}

// Add books one outcome; outcomes must come in time order.
// Only outcomes at or after fault count.
func (o *OutageWindow) Add(oc Outcome, fault time.Time) {
	if oc.At.Before(fault) {
		return
	}
	if !oc.OK {
		o.Failed++
		if o.FirstFailure.IsZero() {
			o.FirstFailure = oc.At
		}
		return
	}
	if !o.FirstFailure.IsZero() && o.Recovered.IsZero() {
		o.Recovered = oc.At
	}
}
