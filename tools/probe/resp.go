package probe

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// AttemptKind is a kind of unauthorized connection attempt.
type AttemptKind int

// The unauthorized attempt kinds SC-008 names.
const (
	WithoutPassword AttemptKind = iota
	WithWrongPassword
	WithUnknownUser
)

// AttemptKinds lists every kind in report order.
func AttemptKinds() []AttemptKind {
	return []AttemptKind{WithoutPassword, WithWrongPassword, WithUnknownUser}
}

// String names the kind for evidence.
func (k AttemptKind) String() string {
	switch k {
	case WithoutPassword:
		return "no password"
	case WithWrongPassword:
		return "wrong password"
	case WithUnknownUser:
		return "unknown user"
	default:
		return fmt.Sprintf("attempt(%d)", int(k))
	}
}

// Tally counts the outcome of unauthorized attempts.
type Tally struct {
	Attempts int
	// Rejected attempts were refused for authentication (probe.IsRejection, the one
	// definition on every target).
	Rejected int
	// Other attempts got another error or a closed connection: not served, not a
	// rejection either.
	Other int
	// Accepted attempts got PING answered: the server served an unauthenticated client.
	Accepted int
	// Unanswered attempts timed out: neither served nor refused, so not rejected.
	Unanswered int
	// Redials counts connections opened again after the server closed one.
	Redials int
	// Replies counts the first word of each PING reply ("NOAUTH", "PONG").
	Replies map[string]int
}

// RejectedPercent is Rejected over Attempts in percent (0 without attempts).
func (t Tally) RejectedPercent() float64 {
	if t.Attempts == 0 {
		return 0
	}
	return 100 * float64(t.Rejected) / float64(t.Attempts)
}

// ConnFunc opens a fresh connection to the endpoint under test.
type ConnFunc func(ctx context.Context) (net.Conn, error)

// attemptBatch is how many attempts go out in one write; Redis keeps a connection
// open after NOAUTH and WRONGPASS, so one connection serves many attempts.
const attemptBatch = 100

// ProbeUnauthorized makes n attempts of a kind: each sends the kind's AUTH (none for
// WithoutPassword) and then PING, and counts whether PING was served. bogus is random
// text used as the wrong password and the unknown user. ioTimeout bounds every batch.
func ProbeUnauthorized(ctx context.Context, dial ConnFunc, kind AttemptKind, n int, bogus string, ioTimeout time.Duration) (Tally, error) {
	tally := Tally{Replies: map[string]int{}}
	var conn net.Conn
	var reader *bufio.Reader
	defer func() {
		if conn != nil {
			_ = conn.Close()
		}
	}()
	for tally.Attempts < n {
		if err := ctx.Err(); err != nil {
			return tally, err
		}
		if conn == nil {
			c, err := dial(ctx)
			if err != nil {
				return tally, fmt.Errorf("dial for %s attempts after %d: %w", kind, tally.Attempts, err)
			}
			if tally.Attempts > 0 {
				tally.Redials++
			}
			conn, reader = c, bufio.NewReader(c)
		}
		batch := min(attemptBatch, n-tally.Attempts)
		var out []byte
		for range batch {
			switch kind {
			case WithWrongPassword:
				out = AppendCommand(out, "AUTH", "wrong-"+bogus)
			case WithUnknownUser:
				out = AppendCommand(out, "AUTH", "nobody-"+bogus, "wrong-"+bogus)
			}
			out = AppendCommand(out, "PING")
		}
		_ = conn.SetDeadline(time.Now().Add(ioTimeout))
		if _, err := conn.Write(out); err != nil {
			// The server closed the connection: nothing of this batch was served, and
			// a closed connection is not a rejection (probe.IsRejection).
			tally.Attempts += batch
			tally.Other += batch
			tally.Replies["closed"] += batch
			_ = conn.Close()
			conn = nil
			continue
		}
		for i := range batch {
			authReply := ""
			if kind != WithoutPassword {
				auth, err := ReadReply(reader)
				if err != nil {
					tally.countClosed(batch-i, err)
					_ = conn.Close()
					conn = nil
					break
				}
				authReply = auth.Line()
			}
			reply, err := ReadReply(reader)
			if err != nil {
				tally.countClosed(batch-i, err)
				_ = conn.Close()
				conn = nil
				break
			}
			tally.Attempts++
			word := reply.FirstWord()
			tally.Replies[word]++
			switch {
			case !reply.IsError():
				tally.Accepted++
			case IsRejection(authReply, reply.Line()):
				tally.Rejected++
			default:
				tally.Other++
			}
		}
	}
	return tally, nil
}

// countClosed books attempts whose reply never came because the connection ended;
// a timeout is not a rejection but a failure to measure, so it is returned as such.
func (t *Tally) countClosed(n int, err error) {
	t.Attempts += n
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Replies["timeout"] += n
		t.Unanswered += n
		return
	}
	t.Other += n
	t.Replies["closed"] += n
}

// AppendCommand encodes a command as a RESP array of bulk strings.
func AppendCommand(dst []byte, args ...string) []byte {
	dst = append(dst, '*')
	dst = strconv.AppendInt(dst, int64(len(args)), 10)
	dst = append(dst, '\r', '\n')
	for _, a := range args {
		dst = append(dst, '$')
		dst = strconv.AppendInt(dst, int64(len(a)), 10)
		dst = append(dst, '\r', '\n')
		dst = append(dst, a...)
		dst = append(dst, '\r', '\n')
	}
	return dst
}

// DialFunc has the shape of go-redis Options.Dialer and http.Transport.DialContext.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Call is one command the way redis-cli sends it: a fresh connection, AUTH when
// there is a password, the command, its reply. No pool and no retries, so a probe
// measures the instance and not a client library's recovery. An AUTH refused is an
// error; the command's own error reply is returned as a Reply (IsError).
func Call(ctx context.Context, dial DialFunc, addr, password string, timeout time.Duration, args ...string) (Reply, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := dial(ctx, "tcp", addr)
	if err != nil {
		return Reply{}, err
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(deadline); err != nil {
			return Reply{}, err
		}
	}
	var out []byte
	if password != "" {
		out = AppendCommand(out, "AUTH", password)
	}
	if _, err := conn.Write(AppendCommand(out, args...)); err != nil {
		return Reply{}, fmt.Errorf("send %s: %w", args[0], err)
	}
	reader := bufio.NewReader(conn)
	if password != "" {
		auth, err := ReadReply(reader)
		if err != nil {
			return Reply{}, fmt.Errorf("AUTH: %w", err)
		}
		if auth.IsError() {
			return Reply{}, fmt.Errorf("AUTH: %s", auth.Text)
		}
	}
	reply, err := ReadReply(reader)
	if err != nil {
		return Reply{}, fmt.Errorf("%s: %w", args[0], err)
	}
	return reply, nil
}

// Reply is one RESP2 reply, flattened: its type byte and its text (arrays hold
// their elements).
type Reply struct {
	Type     byte
	Text     string
	Elements []Reply
	Nil      bool
}

// Line is the reply's first line as sent, type byte included ("-NOAUTH ...").
func (r Reply) Line() string { return string(r.Type) + r.Text }

// IsError says whether the reply is an error.
func (r Reply) IsError() bool { return r.Type == '-' }

// FirstWord is the first word of a simple or error reply ("NOAUTH", "PONG").
func (r Reply) FirstWord() string {
	word, _, _ := strings.Cut(r.Text, " ")
	if word == "" {
		return string(r.Type)
	}
	return word
}

// maxBulk bounds what ReadReply accepts, so a hostile peer cannot make it allocate
// without limit.
const maxBulk = 64 << 20

// ReadReply reads one RESP2 reply.
func ReadReply(r *bufio.Reader) (Reply, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return Reply{}, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return Reply{}, fmt.Errorf("malformed RESP line %q", line)
	}
	typ, body := line[0], line[1:len(line)-2]
	switch typ {
	case '+', '-', ':':
		return Reply{Type: typ, Text: body}, nil
	case '$':
		size, err := strconv.Atoi(body)
		if err != nil || size > maxBulk {
			return Reply{}, fmt.Errorf("malformed bulk length %q", body)
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
		count, err := strconv.Atoi(body)
		if err != nil || count > 1<<20 {
			return Reply{}, fmt.Errorf("malformed array length %q", body)
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
		return Reply{}, fmt.Errorf("unknown RESP type %q", typ)
	}
}
