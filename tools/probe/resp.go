package probe

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

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
