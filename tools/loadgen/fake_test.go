package loadgen

import (
	"context"
	"errors"
	"sync"
	"time"
)

// fakeDialer hands out fakeConns that answer instantly unless told otherwise; it
// records every op it was sent.
type fakeDialer struct {
	mu      sync.Mutex
	ops     []Op
	execs   int
	dials   int
	secret  string
	dialErr error
	// execErr, when set, fails every Exec as a broken connection.
	execErr error
	// stallAt stalls the Exec with this 1-based number for stall.
	stallAt int
	stall   time.Duration
}

func (d *fakeDialer) Name() string   { return "fake" }
func (d *fakeDialer) Close() error   { return nil }
func (d *fakeDialer) Secret() string { return d.secret }

func (d *fakeDialer) Dial(context.Context) (Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dials++
	if d.dialErr != nil {
		return nil, d.dialErr
	}
	return &fakeConn{dialer: d}, nil
}

func (d *fakeDialer) sent() []Op {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Op(nil), d.ops...)
}

type fakeConn struct {
	dialer *fakeDialer
	closed bool
}

func (c *fakeConn) Exec(ctx context.Context, ops []Op) error {
	d := c.dialer
	if c.closed {
		return errors.New("fake: exec on closed connection")
	}
	d.mu.Lock()
	d.execs++
	stall := d.stallAt == d.execs
	d.ops = append(d.ops, ops...)
	execErr := d.execErr
	d.mu.Unlock()
	if stall {
		select {
		case <-time.After(d.stall):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if execErr != nil {
		return execErr
	}
	for i := range ops {
		ops[i].Err = nil
	}
	return nil
}

func (c *fakeConn) Close() error {
	c.closed = true
	return nil
}
