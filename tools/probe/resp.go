package probe

import (
	"bufio"
	"context"
	"fmt"
	"time"

	"github.com/redis-shared/conformance/tools/loadgen"
)

// Call is one command the way redis-cli sends it: a fresh connection, AUTH when
// there is a password, the command, its reply. No pool and no retries, so a probe
// measures the instance and not a client library's recovery. An AUTH refused is an
// error; the command's own error reply is returned as a Reply (IsError).
func Call(ctx context.Context, dial loadgen.DialFunc, addr, password string, timeout time.Duration, args ...string) (loadgen.Reply, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := dial(ctx, "tcp", addr)
	if err != nil {
		return loadgen.Reply{}, err
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(deadline); err != nil {
			return loadgen.Reply{}, err
		}
	}
	var out []byte
	if password != "" {
		out = loadgen.AppendCommand(out, "AUTH", password)
	}
	if _, err := conn.Write(loadgen.AppendCommand(out, args...)); err != nil {
		return loadgen.Reply{}, fmt.Errorf("send %s: %w", args[0], err)
	}
	reader := bufio.NewReader(conn)
	if password != "" {
		auth, err := loadgen.ReadReply(reader)
		if err != nil {
			return loadgen.Reply{}, fmt.Errorf("AUTH: %w", err)
		}
		if auth.IsError() {
			return loadgen.Reply{}, fmt.Errorf("AUTH: %s", auth.Text)
		}
	}
	reply, err := loadgen.ReadReply(reader)
	if err != nil {
		return loadgen.Reply{}, fmt.Errorf("%s: %w", args[0], err)
	}
	return reply, nil
}
