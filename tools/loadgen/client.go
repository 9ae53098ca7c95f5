package loadgen

import (
	"context"
	"time"
)

// OpKind is the command an Op sends.
type OpKind uint8

const (
	// OpGet sends GET key; a missing key is not an error.
	OpGet OpKind = iota
	// OpSet sends SET key value PX ttl.
	OpSet
)

// Op is one command in a pipeline. The Conn fills Err (nil for a GET miss).
type Op struct {
	Kind  OpKind
	Key   string
	Value []byte
	TTL   time.Duration
	Err   error
}

// Conn is one connection that sends a batch of commands as one pipeline. The
// generator owns each Conn from one goroutine only. Implementations apply the
// endpoint's read/write deadlines to every call.
type Conn interface {
	// Exec sends ops in order, waits for every reply and sets each op's Err. A
	// non-nil return means the connection itself failed; the caller closes it and
	// dials again.
	Exec(ctx context.Context, ops []Op) error
	Close() error
}

// Dialer opens Conns to one endpoint.
type Dialer interface {
	Dial(ctx context.Context) (Conn, error)
	// Name names the client library in results, e.g. "go-redis".
	Name() string
	// Close releases what the dialer shares between its Conns.
	Close() error
}
