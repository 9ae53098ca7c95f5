package sandbox

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// redisCall is one probe the way redis-cli does it: a fresh connection, AUTH when
// there is a password, one command, its reply. No pool and no retries, so a probe
// measures the instance and not a client library's recovery.
func redisCall(ctx context.Context, dial DialFunc, addr, password string, timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := dial(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(deadline); err != nil {
			return "", err
		}
	}
	reader := bufio.NewReader(conn)
	if password != "" {
		if _, err := conn.Write(encodeCommand("AUTH", password)); err != nil {
			return "", fmt.Errorf("send AUTH: %w", err)
		}
		if _, err := readReply(reader); err != nil {
			return "", fmt.Errorf("AUTH: %w", err)
		}
	}
	if _, err := conn.Write(encodeCommand(args...)); err != nil {
		return "", fmt.Errorf("send %s: %w", args[0], err)
	}
	return readReply(reader)
}

func encodeCommand(args ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return []byte(b.String())
}

// errRedis is a reply of the error type (-ERR ..., -NOAUTH ..., -LOADING ...).
type errRedis struct{ msg string }

func (e errRedis) Error() string { return e.msg }

// readReply reads a simple string, error, integer or bulk string reply.
func readReply(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("read reply: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("read reply: empty line")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", errRedis{line[1:]}
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < -1 || n > 64<<20 {
			return "", fmt.Errorf("read reply: bad bulk length %q", line)
		}
		if n == -1 {
			return "", nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", fmt.Errorf("read reply: %w", err)
		}
		return string(buf[:n]), nil
	default:
		return "", fmt.Errorf("read reply: unexpected type %q", line[0])
	}
}
