// Package probe is the one place each live measurement is defined: round trips
// (FR-014), unauthorized attempts (SC-008), load through the load generator (SC-001,
// SC-006), replication (FR-006), the acknowledged-write ledger and the outage timer
// (SC-007, SC-002), cleanup proofs, TCP dials (FR-005/SC-004), Prometheus reads, and
// the RESP and MONITOR parsing behind them. The sandbox runs it in-process from a
// network namespace; the kube target runs the redisprobe binary in a probe pod.
package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/redis-shared/conformance/tools/loadgen"
)

// Environment variables the binary reads. The password is never a flag, so it never
// shows on a command line (ps, audit logs, the API server's exec request).
const (
	// PasswordEnv holds the Redis password (the probe pod sets it from the auth
	// Secret's secretKeyRef).
	PasswordEnv = "REDISPROBE_PASSWORD"
	// ResolveEnv is a TEST HOOK only, like curl --resolve: a comma-separated list of
	// NAME=IP:PORT that sends connections for host NAME (any port) to IP:PORT. The
	// local control-plane test uses it to name a loopback redis-server with the
	// spec's DNS name; a real probe pod never sets it.
	ResolveEnv = "REDISPROBE_RESOLVE"
)

// Cleanup is the proof that a prefix holds no key: what was deleted on the master
// and what SCAN still finds under the prefix on every address checked.
type Cleanup struct {
	Prefix  string `json:"prefix"`
	Deleted int    `json:"deleted"`
	// Remaining maps each checked address to the keys SCAN still finds under the prefix.
	Remaining map[string]int `json:"remaining"`
	Error     string         `json:"error,omitempty"`
}

// Left is the total of keys still under the prefix.
func (c Cleanup) Left() int {
	n := 0
	for _, v := range c.Remaining {
		n += v
	}
	return n
}

// LoadReport is the answer of `redisprobe load` and `redisprobe latency`.
type LoadReport struct {
	Result  loadgen.Result `json:"result"`
	Cleanup *Cleanup       `json:"cleanup,omitempty"`
	Error   string         `json:"error,omitempty"`
}

// Structure is one data structure's round trip.
type Structure struct {
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	// TTLMillis is the key's PTTL after the round trip (every key carries one).
	TTLMillis int64  `json:"ttl_ms"`
	Error     string `json:"error,omitempty"`
}

// CommandsReport is the answer of `redisprobe commands` (FR-014).
type CommandsReport struct {
	Addr       string      `json:"addr"`
	Structures []Structure `json:"structures"`
	Cleanup    *Cleanup    `json:"cleanup,omitempty"`
	Error      string      `json:"error,omitempty"`
}

// Passed counts the round trips that held, with a TTL.
func (r CommandsReport) Passed() int {
	n := 0
	for _, s := range r.Structures {
		if s.OK && s.TTLMillis > 0 {
			n++
		}
	}
	return n
}

// Dial outcomes.
const (
	DialOpen    = "open"
	DialRefused = "refused"
	DialTimeout = "timeout"
	// DialUnreachable: no route to the address (ENETUNREACH, EHOSTUNREACH).
	DialUnreachable = "unreachable"
	DialError       = "error"
)

// DialReport is the answer of `redisprobe dial`.
type DialReport struct {
	Addr    string  `json:"addr"`
	Outcome string  `json:"outcome"`
	Millis  float64 `json:"ms"`
	Error   string  `json:"error,omitempty"`
}

// Resolver maps host names to fixed IP:PORT (the ResolveEnv test hook).
type Resolver map[string]string

// ParseResolve reads a ResolveEnv value; "" is no override.
func ParseResolve(spec string) (Resolver, error) {
	r := Resolver{}
	for _, entry := range strings.Split(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		name, to, ok := strings.Cut(entry, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("%s: entry %q is not NAME=IP:PORT", ResolveEnv, entry)
		}
		host, port, err := net.SplitHostPort(to)
		if err != nil || net.ParseIP(host) == nil || port == "" {
			return nil, fmt.Errorf("%s: entry %q: %q is not IP:PORT", ResolveEnv, entry, to)
		}
		r[name] = to
	}
	return r, nil
}

// Addr returns where a connection to addr goes.
func (r Resolver) Addr(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if to, ok := r[host]; ok {
		return to
	}
	return addr
}

// DialContext dials through the overrides.
func (r Resolver) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, r.Addr(addr))
}

// DialOnce opens one TCP connection within timeout and says how it went.
func DialOnce(ctx context.Context, dial loadgen.DialFunc, addr string, timeout time.Duration) DialReport {
	rep := DialReport{Addr: addr}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	began := time.Now()
	conn, err := dial(dctx, "tcp", addr)
	rep.Millis = float64(time.Since(began)) / float64(time.Millisecond)
	switch {
	case err == nil:
		_ = conn.Close()
		rep.Outcome = DialOpen
	case isRefused(err):
		rep.Outcome, rep.Error = DialRefused, err.Error()
	case errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.EHOSTUNREACH):
		rep.Outcome, rep.Error = DialUnreachable, err.Error()
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		rep.Outcome, rep.Error = DialTimeout, err.Error()
	default:
		rep.Outcome, rep.Error = DialError, err.Error()
	}
	return rep
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// Redact removes the password from a message.
func Redact(msg, password string) string {
	if password == "" {
		return msg
	}
	return strings.ReplaceAll(msg, password, "<password>")
}
