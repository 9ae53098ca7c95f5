package probe

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis-shared/conformance/tools/loadgen"
)

// Unauthorized attempt kinds (SC-008).
const (
	AttemptNoPassword    = "no password"
	AttemptWrongPassword = "wrong password"
	AttemptUnknownUser   = "unknown user"
)

// AttemptKinds lists every kind of unauthorized attempt in report order.
func AttemptKinds() []string {
	return []string{AttemptNoPassword, AttemptWrongPassword, AttemptUnknownUser}
}

// AuthTally is the outcome of the attempts of one kind on one address.
type AuthTally struct {
	Addr     string `json:"addr"`
	Kind     string `json:"kind"`
	Attempts int    `json:"attempts"`
	// Rejected attempts were refused for authentication (IsRejection).
	Rejected int `json:"rejected"`
	// Other attempts got another error or a closed connection: not served, not a
	// rejection either (SC-008 stays below 100 %).
	Other int `json:"other"`
	// Accepted attempts got PING answered: the server served an unauthenticated client.
	Accepted int `json:"accepted"`
	// Unanswered attempts failed to connect or timed out: neither served nor refused.
	Unanswered int `json:"unanswered"`
	// Replies counts the first word of each reply, by command ("AUTH WRONGPASS",
	// "PING NOAUTH", "PING PONG").
	Replies map[string]int `json:"replies"`
	Error   string         `json:"error,omitempty"`
}

// AuthControl is the positive control of one address: PING with the real password
// answered, so a rejection is authentication at work and not a dead endpoint.
type AuthControl struct {
	Addr  string `json:"addr"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// AuthReport is the answer of `redisprobe auth` (FR-011, SC-008).
type AuthReport struct {
	Controls []AuthControl `json:"controls"`
	Tallies  []AuthTally   `json:"tallies"`
}

// Totals sums attempts and rejections over every tally.
func (r AuthReport) Totals() (attempts, rejected int) {
	for _, t := range r.Tallies {
		attempts += t.Attempts
		rejected += t.Rejected
	}
	return attempts, rejected
}

// WrongPassword is a random password that is not the real one. It is drawn from the
// system's random source, never derived from the real password, so it tells nothing
// about it.
func WrongPassword(real string) (string, error) {
	for {
		var raw [16]byte
		if _, err := rand.Read(raw[:]); err != nil {
			return "", fmt.Errorf("random wrong password: %w", err)
		}
		if w := "wrong-" + hex.EncodeToString(raw[:]); w != real {
			return w, nil
		}
	}
}

// Auth makes n attempts of every kind on every address, each on a fresh connection:
// the kind's AUTH (none for no password), then PING. Before them, a PING with the
// real password on each address is the positive control. ioTimeout bounds each
// attempt's connect, write and reads.
func Auth(ctx context.Context, ep loadgen.Endpoint, addrs []string, n int, ioTimeout time.Duration) (AuthReport, error) {
	var rep AuthReport
	bogus, err := WrongPassword(ep.Password)
	if err != nil {
		return rep, err
	}
	for _, addr := range addrs {
		other := ep
		other.Addr = addr
		client := newClient(other)
		pctx, cancel := context.WithTimeout(ctx, ioTimeout)
		pong, err := client.Ping(pctx).Result()
		cancel()
		_ = client.Close()
		control := AuthControl{Addr: addr, OK: err == nil && pong == "PONG"}
		if err != nil {
			control.Error = Redact(err.Error(), ep.Password)
		}
		rep.Controls = append(rep.Controls, control)
		for _, kind := range AttemptKinds() {
			tally := attempts(ctx, ep.DialContext, addr, kind, n, bogus, ioTimeout)
			tally.Error = Redact(tally.Error, ep.Password)
			rep.Tallies = append(rep.Tallies, tally)
		}
	}
	return rep, ctx.Err()
}

func attempts(ctx context.Context, dial loadgen.DialFunc, addr, kind string, n int, bogus string, ioTimeout time.Duration) AuthTally {
	tally := AuthTally{Addr: addr, Kind: kind, Replies: map[string]int{}}
	var cmds [][]string
	switch kind {
	case AttemptWrongPassword:
		cmds = append(cmds, []string{"AUTH", bogus})
	case AttemptUnknownUser:
		cmds = append(cmds, []string{"AUTH", "nobody-" + bogus[len("wrong-"):], bogus})
	}
	cmds = append(cmds, []string{"PING"})
	var payload []byte
	for _, c := range cmds {
		payload = loadgen.AppendCommand(payload, c...)
	}
	for range n {
		if ctx.Err() != nil {
			tally.Error = ctx.Err().Error()
			return tally
		}
		tally.Attempts++
		lines, err := attempt(ctx, dial, addr, payload, len(cmds), ioTimeout)
		for i, l := range lines {
			word, _, _ := strings.Cut(l, " ")
			tally.Replies[cmds[i][0]+" "+strings.TrimLeft(word, "+-")]++
		}
		switch {
		case len(lines) == len(cmds) && !strings.HasPrefix(lines[len(lines)-1], "-"):
			tally.Accepted++
		case len(lines) == len(cmds):
			authReply := ""
			if len(cmds) > 1 {
				authReply = lines[0]
			}
			if IsRejection(authReply, lines[len(lines)-1]) {
				tally.Rejected++
			} else {
				tally.Other++
			}
		case isTimeout(err) || errors.Is(err, errNoConnect):
			tally.Unanswered++
			if tally.Error == "" {
				tally.Error = err.Error()
			}
		default:
			// The server closed the connection before PING was answered: not served,
			// and not a rejection (IsRejection).
			tally.Other++
			tally.Replies["closed"]++
		}
	}
	return tally
}

var errNoConnect = errors.New("connect failed")

// attempt sends payload on a fresh connection and returns the first line of each of
// the want replies ("+OK", "-WRONGPASS invalid ...", "+PONG"); fewer when the
// connection ended.
func attempt(ctx context.Context, dial loadgen.DialFunc, addr string, payload []byte, want int, ioTimeout time.Duration) ([]string, error) {
	dctx, cancel := context.WithTimeout(ctx, ioTimeout)
	defer cancel()
	conn, err := dial(dctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNoConnect, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(ioTimeout))
	if _, err := conn.Write(payload); err != nil {
		return nil, err
	}
	reader := bufio.NewReader(conn)
	var words []string
	for range want {
		line, err := reader.ReadString('\n')
		if err != nil {
			return words, err
		}
		words = append(words, strings.TrimRight(line, "\r\n"))
	}
	return words, nil
}
