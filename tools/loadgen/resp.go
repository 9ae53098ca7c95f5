package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// RESPDialer opens plain RESP2 connections written for the generator: it speaks
// only AUTH, PING, SET key value PX ms and GET, encodes into one reused buffer
// and skips reply payloads without allocating, so the client spends as little
// CPU per command as redis-benchmark does. Functional tests use go-redis.
type RESPDialer struct {
	endpoint Endpoint
}

// NewRESPDialer prepares connections to ep.
func NewRESPDialer(ep Endpoint) *RESPDialer { return &RESPDialer{endpoint: ep.WithDefaults()} }

// Name names the client.
func (d *RESPDialer) Name() string { return ClientRESP }

// Secret lets Run redact the password from error samples.
func (d *RESPDialer) Secret() string { return d.endpoint.Password }

// Close has nothing shared to release.
func (d *RESPDialer) Close() error { return nil }

// ServerError is an error reply from Redis ("-ERR ..."); the connection stays usable.
type ServerError string

func (e ServerError) Error() string { return string(e) }

// respBufferSize fits a 16-deep pipeline of small values in one read and write.
const respBufferSize = 32 << 10

// Dial connects, authenticates when a password is set, and proves the link with PING.
func (d *RESPDialer) Dial(ctx context.Context) (Conn, error) {
	ep := d.endpoint
	nc, err := ep.dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", ep, err)
	}
	c := &respConn{nc: nc, rd: bufio.NewReaderSize(nc, respBufferSize), wbuf: make([]byte, 0, respBufferSize), ep: ep}
	var hello []string
	if ep.Password != "" {
		if ep.Username != "" {
			hello = []string{"AUTH", ep.Username, ep.Password}
		} else {
			hello = []string{"AUTH", ep.Password}
		}
	}
	if err := c.handshake(ctx, hello); err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("connect to %s: %w", ep, err)
	}
	return c, nil
}

type respConn struct {
	nc   net.Conn
	rd   *bufio.Reader
	wbuf []byte
	ep   Endpoint
	// watched is the context whose cancellation currently ends blocked I/O;
	// workers pass the same one to every Exec, so it is registered once.
	watched   context.Context
	stopWatch func() bool
	// readBy and writeBy are the deadlines in force on the socket.
	readBy, writeBy time.Time
}

func (c *respConn) Close() error {
	if c.stopWatch != nil {
		c.stopWatch()
	}
	return c.nc.Close()
}

// handshake sends AUTH (when given) and PING and checks both replies.
func (c *respConn) handshake(ctx context.Context, auth []string) error {
	c.wbuf = c.wbuf[:0]
	if auth != nil {
		c.wbuf = AppendCommand(c.wbuf, auth...)
	}
	c.wbuf = AppendCommand(c.wbuf, "PING")
	c.watch(ctx)
	if err := c.flush(); err != nil {
		return err
	}
	if err := c.setReadDeadline(); err != nil {
		return err
	}
	replies := 1
	if auth != nil {
		replies = 2
	}
	for i := 0; i < replies; i++ {
		reply, err := c.readReply()
		if err != nil {
			return err
		}
		if reply != nil {
			if i == 0 && auth != nil {
				return fmt.Errorf("auth: %w", reply)
			}
			return fmt.Errorf("ping: %w", reply)
		}
	}
	return nil
}

// Exec writes every op as one pipeline, then reads one reply per op.
func (c *respConn) Exec(ctx context.Context, ops []Op) error {
	c.wbuf = c.wbuf[:0]
	for i := range ops {
		op := &ops[i]
		if op.Kind == OpSet {
			c.wbuf = appendSetPX(c.wbuf, op.Key, op.Value, op.TTL.Milliseconds())
		} else {
			c.wbuf = appendGet(c.wbuf, op.Key)
		}
	}
	c.watch(ctx)
	if err := c.flush(); err != nil {
		return err
	}
	if err := c.setReadDeadline(); err != nil {
		return err
	}
	for i := range ops {
		reply, err := c.readReply()
		if err != nil {
			return err
		}
		ops[i].Err = reply
	}
	return nil
}

// watch makes ctx's cancellation end a blocked read or write: it moves both
// deadlines to now, so every later call fails fast too.
func (c *respConn) watch(ctx context.Context) {
	if ctx == c.watched {
		return
	}
	if c.stopWatch != nil {
		c.stopWatch()
	}
	c.watched = ctx
	c.stopWatch = context.AfterFunc(ctx, func() { _ = c.nc.SetDeadline(time.Now()) })
	if ctx.Err() != nil {
		_ = c.nc.SetDeadline(time.Now())
	}
}

// renewBy reports whether a deadline must be moved: every call runs with at
// least half its timeout left, without paying for a timer update per command.
func renewBy(deadline, now time.Time, timeout time.Duration) bool {
	return deadline.Sub(now) < timeout/2
}

func (c *respConn) flush() error {
	if now := time.Now(); renewBy(c.writeBy, now, c.ep.WriteTimeout) && c.watched.Err() == nil {
		c.writeBy = now.Add(c.ep.WriteTimeout)
		if err := c.nc.SetWriteDeadline(c.writeBy); err != nil {
			return fmt.Errorf("set write deadline: %w", err)
		}
	}
	if _, err := c.nc.Write(c.wbuf); err != nil {
		return fmt.Errorf("write to %s: %w", c.ep, err)
	}
	return nil
}

func (c *respConn) setReadDeadline() error {
	if now := time.Now(); renewBy(c.readBy, now, c.ep.ReadTimeout) && c.watched.Err() == nil {
		c.readBy = now.Add(c.ep.ReadTimeout)
		if err := c.nc.SetReadDeadline(c.readBy); err != nil {
			return fmt.Errorf("set read deadline: %w", err)
		}
	}
	return nil
}

// errProtocol marks a reply that is not RESP2, or one the generator cannot have asked for.
var errProtocol = errors.New("unexpected RESP reply")

// header splits a reply's first line into its type byte and its body; ok is
// false for a line that is not RESP (badLine says why). It inlines into the
// generator's hot path.
func header(line []byte) (typ byte, body []byte, ok bool) {
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return 0, nil, false
	}
	return line[0], line[1 : len(line)-2], true
}

func badLine(line []byte) error { return fmt.Errorf("%w: line %q", errProtocol, truncate(line)) }

// readReply consumes one reply without keeping it: the generator's hot path. A
// server error comes back as reply (a ServerError; nil for +OK, an integer, a
// bulk string or a nil bulk); a failed read or a reply of an unexpected type as
// err, after which the connection is unusable.
func (c *respConn) readReply() (reply, err error) {
	line, err := c.rd.ReadSlice('\n')
	if err != nil {
		return nil, fmt.Errorf("read from %s: %w", c.ep, err)
	}
	typ, body, ok := header(line)
	if !ok {
		return nil, badLine(line)
	}
	switch typ {
	case '+', ':':
		return nil, nil
	case '-':
		return ServerError(body), nil
	case '$':
		n, err := strconv.Atoi(string(body))
		if err != nil {
			return nil, fmt.Errorf("%w: bulk length %q", errProtocol, truncate(body))
		}
		if n < 0 {
			return nil, nil // GET miss
		}
		if _, err := c.rd.Discard(n + 2); err != nil {
			return nil, fmt.Errorf("read from %s: %w", c.ep, err)
		}
		return nil, nil
	default:
		return nil, fmt.Errorf("%w: %q", errProtocol, truncate(line))
	}
}

// Reply is one whole RESP2 reply, flattened: its type byte and its text (arrays
// hold their elements). The probes read these; the generator skips payloads.
type Reply struct {
	Type     byte
	Text     string
	Elements []Reply
	Nil      bool
}

// IsError says whether the reply is an error.
func (r Reply) IsError() bool { return r.Type == '-' }

// maxBulk bounds what ReadReply accepts, so a hostile peer cannot make it allocate
// without limit.
const maxBulk = 64 << 20

// ReadReply reads one whole RESP2 reply, of any type and any line length.
func ReadReply(r *bufio.Reader) (Reply, error) {
	line, err := r.ReadBytes('\n')
	if err != nil {
		return Reply{}, err
	}
	typ, body, ok := header(line)
	if !ok {
		return Reply{}, badLine(line)
	}
	switch typ {
	case '+', '-', ':':
		return Reply{Type: typ, Text: string(body)}, nil
	case '$':
		size, err := strconv.Atoi(string(body))
		if err != nil || size > maxBulk {
			return Reply{}, fmt.Errorf("%w: bulk length %q", errProtocol, truncate(body))
		}
		if size < 0 {
			return Reply{Type: typ, Nil: true}, nil
		}
		buf := make([]byte, size+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return Reply{}, err
		}
		return Reply{Type: typ, Text: string(buf[:size])}, nil
	case '*':
		count, err := strconv.Atoi(string(body))
		if err != nil || count > 1<<20 {
			return Reply{}, fmt.Errorf("%w: array length %q", errProtocol, truncate(body))
		}
		if count < 0 {
			return Reply{Type: typ, Nil: true}, nil
		}
		out := Reply{Type: typ, Elements: make([]Reply, 0, count)}
		for range count {
			el, err := ReadReply(r)
			if err != nil {
				return Reply{}, err
			}
			out.Elements = append(out.Elements, el)
		}
		return out, nil
	default:
		return Reply{}, fmt.Errorf("%w: %q", errProtocol, truncate(line))
	}
}

func truncate(b []byte) []byte {
	b = bytes.TrimRight(b, "\r\n")
	if len(b) > 40 {
		return b[:40]
	}
	return b
}

// appendBulk encodes one bulk string.
func appendBulk[T string | []byte](buf []byte, arg T) []byte {
	buf = append(buf, '$')
	buf = strconv.AppendInt(buf, int64(len(arg)), 10)
	buf = append(buf, '\r', '\n')
	buf = append(buf, arg...)
	return append(buf, '\r', '\n')
}

// AppendCommand encodes a command as a RESP array of bulk strings.
func AppendCommand(buf []byte, args ...string) []byte {
	buf = append(buf, '*')
	buf = strconv.AppendInt(buf, int64(len(args)), 10)
	buf = append(buf, '\r', '\n')
	for _, a := range args {
		buf = appendBulk(buf, a)
	}
	return buf
}

func appendSetPX(buf []byte, key string, value []byte, ttlMillis int64) []byte {
	buf = append(buf, "*5\r\n$3\r\nSET\r\n"...)
	buf = appendBulk(buf, key)
	buf = appendBulk(buf, value)
	buf = append(buf, "$2\r\nPX\r\n"...)
	var num [20]byte
	return appendBulk(buf, strconv.AppendInt(num[:0], ttlMillis, 10))
}

func appendGet(buf []byte, key string) []byte {
	buf = append(buf, "*2\r\n$3\r\nGET\r\n"...)
	return appendBulk(buf, key)
}
