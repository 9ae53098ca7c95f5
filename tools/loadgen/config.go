// Package loadgen drives SET/GET load against a Redis endpoint and measures it
// honestly: an open-loop fixed-rate mode whose latency counts from each request's
// intended send time (coordinated omission corrected), and a closed-loop max mode.
// Figures go into HDR histograms and come back as a JSON-serialisable Result;
// rendering them is the caller's business.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"
)

// Mode selects how requests are paced.
type Mode string

const (
	// OpenLoop sends at a fixed rate whatever the server does; latency counts from
	// each request's intended send time.
	OpenLoop Mode = "open"
	// ClosedLoop keeps Connections x Pipeline requests in flight and sends the next
	// batch as soon as the previous reply arrives: it measures maximum throughput.
	ClosedLoop Mode = "closed"
)

// Endpoint says where and as whom to connect. The password never leaves this struct:
// it is excluded from JSON and from String.
type Endpoint struct {
	Addr         string        `json:"addr"`
	Username     string        `json:"username,omitempty"`
	Password     string        `json:"-"`
	DialTimeout  time.Duration `json:"-"`
	ReadTimeout  time.Duration `json:"-"`
	WriteTimeout time.Duration `json:"-"`
	// DialContext, when set, opens the TCP connections instead of net.Dialer
	// (e.g. from inside a network namespace); DialTimeout still bounds it.
	DialContext DialFunc `json:"-"`
}

// DialFunc has the shape of go-redis Options.Dialer and http.Transport.DialContext.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// dial opens one TCP connection to the endpoint within DialTimeout.
func (e Endpoint) dial(ctx context.Context) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, e.DialTimeout)
	defer cancel()
	if e.DialContext != nil {
		return e.DialContext(ctx, "tcp", e.Addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", e.Addr)
}

// Default deadlines applied to every call when the Endpoint leaves them zero.
const (
	DefaultDialTimeout  = 2 * time.Second
	DefaultReadTimeout  = 2 * time.Second
	DefaultWriteTimeout = 2 * time.Second
)

// WithDefaults fills zero deadlines so that no network call runs without one.
func (e Endpoint) WithDefaults() Endpoint {
	if e.DialTimeout <= 0 {
		e.DialTimeout = DefaultDialTimeout
	}
	if e.ReadTimeout <= 0 {
		e.ReadTimeout = DefaultReadTimeout
	}
	if e.WriteTimeout <= 0 {
		e.WriteTimeout = DefaultWriteTimeout
	}
	return e
}

// String names the endpoint without its password.
func (e Endpoint) String() string {
	if e.Username != "" {
		return e.Username + "@" + e.Addr
	}
	return e.Addr
}

// Config describes one load run. Zero values of optional fields take the defaults
// documented on each field.
type Config struct {
	Mode Mode `json:"mode"`
	// Rate is the open-loop target in operations per second.
	Rate float64 `json:"target_rate_ops,omitempty"`
	// Duration bounds the run; in closed loop either Duration or Requests (or both).
	Duration time.Duration `json:"-"`
	// Requests bounds a closed-loop run by count.
	Requests int64 `json:"requests_limit,omitempty"`
	// Connections is the number of connections (and workers); default 1.
	Connections int `json:"connections"`
	// Pipeline is how many commands one worker sends before reading replies; default 1.
	Pipeline int `json:"pipeline"`
	// SetRatio is the fraction of SETs (0 = all GET, 1 = all SET).
	SetRatio float64 `json:"set_ratio"`
	// KeySpace is the number of distinct keys; default 10,000.
	KeySpace int `json:"key_space"`
	// ValueSize is the SET payload in bytes; default 64.
	ValueSize int `json:"value_size"`
	// KeyPrefix is mandatory: every key the run touches starts with it.
	KeyPrefix string `json:"key_prefix"`
	// TTL is mandatory and put on every key written (SET ... PX).
	TTL time.Duration `json:"-"`
	// Pacer is how open-loop workers wait for each request's intended send
	// time; default DefaultPacer.
	Pacer Pacer `json:"-"`
	// Spin is the last stretch before each open-loop send that a worker spends
	// busy-waiting instead of sleeping; 0 takes DefaultSpin, negative spins not at all.
	Spin time.Duration `json:"-"`
	// Drain bounds how long queued open-loop requests may take after the schedule
	// ends; what is still queued then is reported as Unsent. Default 10 s.
	Drain time.Duration `json:"-"`
	// Seed makes the key/op sequence reproducible; 0 picks one from the clock.
	Seed uint64 `json:"seed,omitempty"`
}

// Defaults for optional Config fields.
const (
	DefaultKeySpace  = 10_000
	DefaultValueSize = 64
	DefaultDrain     = 10 * time.Second
	// maxErrorSamples is how many distinct error strings a Result keeps.
	maxErrorSamples = 5
)

// withDefaults returns a copy with optional fields filled.
func (c Config) withDefaults() Config {
	if c.Connections <= 0 {
		c.Connections = 1
	}
	if c.Pipeline <= 0 {
		c.Pipeline = 1
	}
	if c.KeySpace <= 0 {
		c.KeySpace = DefaultKeySpace
	}
	if c.ValueSize <= 0 {
		c.ValueSize = DefaultValueSize
	}
	if c.Pacer == "" {
		c.Pacer = DefaultPacer
	}
	switch {
	case c.Spin == 0:
		c.Spin = DefaultSpin
	case c.Spin < 0:
		c.Spin = 0
	}
	if c.Drain <= 0 {
		c.Drain = DefaultDrain
	}
	return c
}

// Validate reports every problem with the configuration at once.
func (c Config) Validate() error {
	var errs []error
	switch c.Mode {
	case OpenLoop:
		if c.Rate <= 0 {
			errs = append(errs, fmt.Errorf("open loop needs a rate > 0 ops/s, got %g", c.Rate))
		}
		if c.Duration <= 0 {
			errs = append(errs, fmt.Errorf("open loop needs a duration > 0, got %s", c.Duration))
		}
	case ClosedLoop:
		if c.Duration <= 0 && c.Requests <= 0 {
			errs = append(errs, errors.New("closed loop needs a duration or a request count > 0"))
		}
		if c.Duration < 0 || c.Requests < 0 {
			errs = append(errs, errors.New("closed loop duration and request count must not be negative"))
		}
	default:
		errs = append(errs, fmt.Errorf("mode %q is neither %q nor %q", c.Mode, OpenLoop, ClosedLoop))
	}
	if err := ValidatePrefix(c.KeyPrefix); err != nil {
		errs = append(errs, err)
	}
	if c.TTL < time.Millisecond {
		errs = append(errs, fmt.Errorf("ttl must be at least 1ms so every written key expires, got %s", c.TTL))
	}
	if c.Pacer != "" && !slices.Contains(Pacers(), c.Pacer) {
		errs = append(errs, fmt.Errorf("pacer %q is not one of %v", c.Pacer, Pacers()))
	}
	if c.Spin > maxSpin {
		errs = append(errs, fmt.Errorf("spin must be at most %s, got %s", maxSpin, c.Spin))
	}
	if c.SetRatio < 0 || c.SetRatio > 1 {
		errs = append(errs, fmt.Errorf("set ratio must be within [0,1], got %g", c.SetRatio))
	}
	if c.Connections < 0 || c.Pipeline < 0 || c.KeySpace < 0 || c.ValueSize < 0 {
		errs = append(errs, errors.New("connections, pipeline, key space and value size must not be negative"))
	}
	return errors.Join(errs...)
}

// minPrefixLen keeps a prefix from being so short that it could match someone
// else's keys (the cleanup deletes everything under it).
const minPrefixLen = 4

// ValidatePrefix accepts a key prefix that is long enough and free of the glob
// characters SCAN MATCH would interpret.
func ValidatePrefix(prefix string) error {
	if len(prefix) < minPrefixLen {
		return fmt.Errorf("key prefix %q must be at least %d characters", prefix, minPrefixLen)
	}
	if i := strings.IndexAny(prefix, "*?[]\\ \t\r\n"); i >= 0 {
		return fmt.Errorf("key prefix %q must not contain %q (glob or whitespace)", prefix, prefix[i])
	}
	return nil
}
