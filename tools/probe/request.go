package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/redis-shared/conformance/tools/loadgen"
)

// Kind names a measurement.
type Kind string

// The measurements a Request can ask for.
const (
	KindLatency     Kind = "latency"     // SC-001 sample: open loop at a fixed rate
	KindLoad        Kind = "load"        // SC-006: open or closed loop
	KindCommands    Kind = "commands"    // FR-014 round trips
	KindCleanup     Kind = "cleanup"     // delete a prefix and prove, with SCAN, none is left
	KindDial        Kind = "dial"        // FR-005/SC-004: one TCP connect
	KindAuth        Kind = "auth"        // FR-011/SC-008: unauthorized attempts
	KindReplication Kind = "replication" // FR-006
	KindDurability  Kind = "durability"  // SC-007/FR-007: acknowledged writes across a fault
	KindOutage      Kind = "outage"      // SC-002: replica reads and master writes across a fault
	KindProm        Kind = "prom"        // one GET on the Prometheus HTTP API
)

// Kinds lists every measurement.
func Kinds() []Kind {
	return []Kind{KindLatency, KindLoad, KindCommands, KindCleanup, KindDial, KindAuth, KindReplication, KindDurability, KindOutage, KindProm}
}

// Request is one measurement, as a target runs it from a vantage point: in-process on
// the sandbox, as JSON on the redisprobe binary's stdin in the kube probe pod. It
// carries no password: the Env does.
type Request struct {
	Kind Kind `json:"kind"`
	// Addr is the Redis (or, for dial, the TCP) address host:port.
	Addr string `json:"addr,omitempty"`
	// Prefix starts every key the measurement touches.
	Prefix string `json:"prefix,omitempty"`
	// TTL is on every key written.
	TTL time.Duration `json:"ttl,omitempty"`
	// Timeout bounds one dial, one auth attempt or one Prometheus GET.
	Timeout time.Duration `json:"timeout,omitempty"`
	// Addrs are the other addresses: the instances tried (auth), the replicas read
	// back on (replication) or checked for leftovers (cleanup).
	Addrs []string `json:"addrs,omitempty"`
	// Count is the attempts per kind and address (auth) or writes per replica
	// (replication).
	Count int `json:"count,omitempty"`

	Load        *LoadRequest        `json:"load,omitempty"`
	Replication *ReplicationRequest `json:"replication,omitempty"`
	Durability  *DurabilityConfig   `json:"durability,omitempty"`
	Outage      *OutageConfig       `json:"outage,omitempty"`
	Prom        *PromRequest        `json:"prom,omitempty"`
}

// LoadRequest shapes a latency or load run (tools/loadgen).
type LoadRequest struct {
	Mode        loadgen.Mode  `json:"mode"`
	Rate        float64       `json:"rate,omitempty"`
	Duration    time.Duration `json:"duration"`
	Connections int           `json:"connections"`
	SetRatio    float64       `json:"set_ratio"`
	KeySpace    int           `json:"key_space,omitempty"`
	// Client is the client library (loadgen.Clients); "" is the default.
	Client string `json:"client,omitempty"`
	// KeepKeys skips the cleanup after the run (a caller that cleans up itself).
	KeepKeys bool `json:"keep_keys,omitempty"`
}

// ReplicationRequest shapes a replication run.
type ReplicationRequest struct {
	// Wait bounds how long one write may take to show on a replica.
	Wait time.Duration `json:"wait"`
}

// PromRequest is one GET under the Prometheus read-only API.
type PromRequest struct {
	URL  string `json:"url"`
	Path string `json:"path"`
}

// Report is the answer to a Request: the part of its kind is set.
type Report struct {
	Kind        Kind               `json:"kind"`
	Load        *LoadReport        `json:"load,omitempty"`
	Commands    *CommandsReport    `json:"commands,omitempty"`
	Cleanup     *Cleanup           `json:"cleanup,omitempty"`
	Dial        *DialReport        `json:"dial,omitempty"`
	Auth        *AuthReport        `json:"auth,omitempty"`
	Replication *ReplicationReport `json:"replication,omitempty"`
	Durability  *DurabilityReport  `json:"durability,omitempty"`
	Outage      *OutageReport      `json:"outage,omitempty"`
	Prom        *PromReply         `json:"prom,omitempty"`
	// Error says why the measurement could not be carried out, or left keys behind.
	Error string `json:"error,omitempty"`
	// Vantage says where it ran, in the target's words ("probe pod redis/redisprobe-x");
	// the target sets it.
	Vantage string `json:"vantage,omitempty"`
}

// Env is where a request runs: the dialer of the vantage point and the password.
// It is never serialised.
type Env struct {
	// Dial opens connections from the vantage point; nil is this host's network.
	Dial     loadgen.DialFunc
	Password string
}

func (e Env) dial() loadgen.DialFunc {
	if e.Dial != nil {
		return e.Dial
	}
	var d net.Dialer
	return d.DialContext
}

func (e Env) endpoint(addr string) loadgen.Endpoint {
	return loadgen.Endpoint{Addr: addr, Password: e.Password, DialContext: e.dial()}.WithDefaults()
}

// Bounds of a request's fields.
const (
	maxRun      = 10 * time.Minute
	maxRecover  = 5 * time.Minute
	maxWriters  = 64
	maxPipeline = 1000
	maxValue    = 64 << 10
	// maxKeys bounds the keys a durability writer cycles over; maxVolume the bytes of
	// values a durability run keeps in the deployment at once.
	maxKeys     = 1_000_000
	maxVolume   = 256 << 20
	maxAttempts = 100_000
	maxWrites   = 10_000
	minEvery    = time.Millisecond
)

// Validate says what is wrong with a request, naming the field; nil when it can run.
func (r Request) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	needAddr := func() {
		if !isHostPort(r.Addr) {
			add("addr %q is not host:port", r.Addr)
		}
	}
	needPrefix := func() {
		if err := loadgen.ValidatePrefix(r.Prefix); err != nil {
			add("prefix: %w", err)
		}
	}
	needTTL := func() {
		if r.TTL <= 0 {
			add("ttl %s: want > 0", r.TTL)
		}
	}
	needAddrs := func(what string) {
		if len(r.Addrs) == 0 {
			add("addrs: at least one host:port (%s)", what)
		}
		for _, a := range r.Addrs {
			if !isHostPort(a) {
				add("addrs: %q is not host:port", a)
			}
		}
	}
	// needKeys: a measurement that writes keys needs where, under which prefix and
	// with which TTL.
	needKeys := func() {
		needAddr()
		needPrefix()
		needTTL()
	}
	needTimeout := func() {
		if r.Timeout <= 0 || r.Timeout > time.Minute {
			add("timeout %s: want > 0 and <= 1m", r.Timeout)
		}
	}
	switch r.Kind {
	case KindLatency, KindLoad:
		needKeys()
		if r.Load == nil {
			add("load: missing")
			break
		}
		if _, err := r.loadConfig(); err != nil {
			errs = append(errs, err)
		}
		if r.Load.Duration <= 0 || r.Load.Duration > maxRun {
			add("load.duration %s: want > 0 and <= %s", r.Load.Duration, maxRun)
		}
		if r.Load.Connections <= 0 {
			add("load.connections must be > 0")
		}
		if r.Load.Client != "" && !slices.Contains(loadgen.Clients(), r.Load.Client) {
			add("load.client %q is not one of %s", r.Load.Client, strings.Join(loadgen.Clients(), ", "))
		}
		if r.Kind == KindLatency && (r.Load.Mode != loadgen.OpenLoop || r.Load.Rate <= 0) {
			add("a latency sample is open loop at a fixed rate > 0")
		}
	case KindCommands:
		needKeys()
	case KindCleanup:
		needAddr()
		needPrefix()
		for _, a := range r.Addrs {
			if !isHostPort(a) {
				add("addrs: %q is not host:port", a)
			}
		}
	case KindDial:
		needAddr()
		needTimeout()
	case KindAuth:
		needAddrs("the instances to try")
		needTimeout()
		if r.Count <= 0 || r.Count > maxAttempts {
			add("count %d: want 1..%d attempts per kind", r.Count, maxAttempts)
		}
	case KindReplication:
		needKeys()
		needAddrs("the replicas")
		if r.Count <= 0 || r.Count > maxWrites {
			add("count %d: want 1..%d writes per replica", r.Count, maxWrites)
		}
		if r.Replication == nil || r.Replication.Wait <= 0 || r.Replication.Wait > time.Minute {
			add("replication.wait: want > 0 and <= 1m")
		}
	case KindDurability:
		needKeys()
		if r.Durability == nil {
			add("durability: missing")
			break
		}
		d := r.Durability
		errs = append(errs, checkRun(d.Duration, d.Every, d.Recover))
		if d.Writers <= 0 || d.Writers > maxWriters {
			add("durability.writers %d: want 1..%d", d.Writers, maxWriters)
		}
		if d.Pipeline <= 0 || d.Pipeline > maxPipeline {
			add("durability.pipeline %d: want 1..%d", d.Pipeline, maxPipeline)
		}
		if d.ValueSize < 0 || d.ValueSize > maxValue {
			add("durability.value_size %d: want 0 (unpadded)..%d bytes", d.ValueSize, maxValue)
		}
		if d.KeysPerWriter < 0 || d.KeysPerWriter > maxKeys {
			add("durability.keys_per_writer %d: want 0 (a new key per write)..%d", d.KeysPerWriter, maxKeys)
		}
		if volume := int64(d.Writers) * int64(d.KeysPerWriter) * int64(d.ValueSize); volume > maxVolume {
			add("durability: writers x keys_per_writer x value_size = %d bytes: want <= %d (it is written into the deployment)", volume, maxVolume)
		}
	case KindOutage:
		needKeys()
		if r.Outage == nil {
			add("outage: missing")
			break
		}
		o := r.Outage
		errs = append(errs, checkRun(o.Duration, o.Every, o.Recover))
		if !isHostPort(o.ReadAddr) {
			add("outage.read_addr %q is not host:port", o.ReadAddr)
		}
		if o.SeedWithin < 0 || o.SeedWithin > maxRecover {
			add("outage.seed_within %s: want 0 (default) up to %s", o.SeedWithin, maxRecover)
		}
	case KindProm:
		needTimeout()
		if r.Prom == nil {
			add("prom: missing")
			break
		}
		errs = append(errs, CheckPromURL(r.Prom.URL), CheckPromPath(r.Prom.Path))
	default:
		add("kind %q is not one of %v", r.Kind, Kinds())
	}
	return errors.Join(errs...)
}

func checkRun(duration, every, recover time.Duration) error {
	var errs []error
	if duration <= 0 || duration > maxRun {
		errs = append(errs, fmt.Errorf("duration %s: want > 0 and <= %s", duration, maxRun))
	}
	if every < minEvery || every > time.Second {
		errs = append(errs, fmt.Errorf("every %s: want %s..1s", every, minEvery))
	}
	if recover <= 0 || recover > maxRecover {
		errs = append(errs, fmt.Errorf("recover %s: want > 0 and <= %s", recover, maxRecover))
	}
	return errors.Join(errs...)
}

func isHostPort(addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	return err == nil && host != "" && port != ""
}

func (r Request) loadConfig() (loadgen.Config, error) {
	l := r.Load
	cfg := loadgen.Config{
		Mode: l.Mode, Rate: l.Rate, Duration: l.Duration, Connections: l.Connections,
		SetRatio: l.SetRatio, KeySpace: l.KeySpace, KeyPrefix: r.Prefix, TTL: r.TTL,
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("load: %w", err)
	}
	return cfg, nil
}

// Budget is the longest a request may take, for a caller's deadline (the kube
// target's exec).
func (r Request) Budget() time.Duration {
	switch r.Kind {
	case KindLatency, KindLoad:
		if r.Load != nil {
			return r.Load.Duration + cleanupTimeout
		}
	case KindDial, KindProm:
		return r.Timeout
	case KindAuth:
		// A fresh connection per attempt answers in well under a millisecond; allow
		// 10 ms each.
		return time.Duration(r.Count*len(r.Addrs)*len(AttemptKinds()))*10*time.Millisecond + time.Minute
	case KindReplication:
		if r.Replication != nil {
			return time.Duration(r.Count*len(r.Addrs))*r.Replication.Wait + cleanupTimeout
		}
	case KindDurability:
		if r.Durability != nil {
			return r.Durability.Duration + 2*r.Durability.Recover + cleanupTimeout
		}
	case KindOutage:
		if r.Outage != nil {
			seed := r.Outage.SeedWithin
			if seed <= 0 {
				seed = defaultSeedWithin
			}
			return seed + r.Outage.Duration + r.Outage.Recover + cleanupTimeout
		}
	}
	return cleanupTimeout
}

// ErrBadRequest marks a request that Validate refused: bad input, not a failed
// measurement.
var ErrBadRequest = errors.New("bad probe request")

// Run carries out one request in env. The error says the measurement could not be
// carried out or left keys behind (the Report still holds what was measured); a
// verdict (lost writes, served attempts) is the caller's to draw from the Report.
func Run(ctx context.Context, env Env, req Request) (Report, error) {
	rep := Report{Kind: req.Kind}
	if err := req.Validate(); err != nil {
		return rep, fmt.Errorf("%w: %s", ErrBadRequest, strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	ctx, cancel := context.WithTimeout(ctx, req.Budget()+time.Minute)
	defer cancel()
	ep := env.endpoint(req.Addr)
	var err error
	var clean *Cleanup
	switch req.Kind {
	case KindLatency, KindLoad:
		cfg, _ := req.loadConfig()
		client := req.Load.Client
		if client == "" {
			client = loadgen.DefaultClient
		}
		var r LoadReport
		r, err = Load(ctx, ep, cfg, client, !req.Load.KeepKeys)
		rep.Load, clean = &r, r.Cleanup
	case KindCommands:
		r := Commands(ctx, ep, req.Prefix, req.TTL)
		rep.Commands, clean = &r, r.Cleanup
	case KindCleanup:
		r := CleanupPrefix(ctx, ep, req.Prefix, req.Addrs)
		rep.Cleanup, clean = &r, &r
	case KindDial:
		r := DialOnce(ctx, env.dial(), req.Addr, req.Timeout)
		rep.Dial = &r
	case KindAuth:
		authEp := env.endpoint(req.Addrs[0])
		var r AuthReport
		r, err = Auth(ctx, authEp, req.Addrs, req.Count, req.Timeout)
		rep.Auth = &r
	case KindReplication:
		r := Replication(ctx, ep, ReplicationOptions{Replicas: req.Addrs, Prefix: req.Prefix, Writes: req.Count, Wait: req.Replication.Wait, TTL: req.TTL})
		rep.Replication, clean = &r, r.Cleanup
	case KindDurability:
		cfg := *req.Durability
		cfg.Prefix, cfg.TTL = req.Prefix, req.TTL
		var r DurabilityReport
		r, err = Durability(ctx, ep, cfg)
		rep.Durability, clean = &r, r.Cleanup
	case KindOutage:
		cfg := *req.Outage
		cfg.Prefix, cfg.TTL = req.Prefix, req.TTL
		var r OutageReport
		r, err = Outage(ctx, ep, cfg)
		rep.Outage, clean = &r, r.Cleanup
	case KindProm:
		r := PromGet(ctx, env.dial(), req.Prom.URL, req.Prom.Path, req.Timeout)
		rep.Prom = &r
		if r.Error != "" {
			err = errors.New(r.Error)
		}
	}
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	if clean != nil && clean.Error != "" {
		errs = append(errs, fmt.Errorf("cleanup of %q: %s", clean.Prefix, clean.Error))
	}
	if clean != nil && clean.Left() > 0 {
		errs = append(errs, fmt.Errorf("%d keys left under %q", clean.Left(), clean.Prefix))
	}
	if err := errors.Join(errs...); err != nil {
		rep.Error = Redact(strings.ReplaceAll(err.Error(), "\n", "; "), env.Password)
		return rep, errors.New(rep.Error)
	}
	return rep, nil
}
