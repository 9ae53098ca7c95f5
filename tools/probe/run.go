package probe

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/redis-shared/conformance/tools/loadgen"
)

// cleanupTimeout bounds a cleanup, which runs even when the caller was cancelled.
const cleanupTimeout = time.Minute

// replicaSettle is how long a checked address may take to apply the master's UNLINKs.
const replicaSettle = 5 * time.Second

// Load runs the generator against ep and, when clean is set, deletes the run's keys
// afterwards and proves none is left on ep (on its own bounded context, so an
// interrupted run still cleans up).
func Load(ctx context.Context, ep loadgen.Endpoint, cfg loadgen.Config, client string, clean bool) (LoadReport, error) {
	dialer, err := loadgen.NewDialer(client, ep, cfg.Connections)
	if err != nil {
		return LoadReport{}, err
	}
	defer dialer.Close()
	res, runErr := loadgen.Run(ctx, cfg, dialer)
	rep := LoadReport{Result: res}
	if runErr != nil {
		rep.Error = Redact(runErr.Error(), ep.Password)
	}
	if clean {
		c := CleanupPrefix(context.WithoutCancel(ctx), ep, cfg.KeyPrefix, nil)
		rep.Cleanup = &c
	}
	return rep, runErr
}

// CleanupPrefix deletes every key under prefix on ep (SCAN + UNLINK, never KEYS) and
// counts what SCAN still finds on ep and on each of verify (replicas, which apply the
// UNLINKs shortly after).
func CleanupPrefix(ctx context.Context, ep loadgen.Endpoint, prefix string, verify []string) Cleanup {
	ctx, cancel := context.WithTimeout(ctx, cleanupTimeout)
	defer cancel()
	c := Cleanup{Prefix: prefix, Remaining: map[string]int{}}
	master := newClient(ep)
	defer master.Close()
	var err error
	if c.Deleted, err = loadgen.Cleanup(ctx, master, prefix); err != nil {
		c.Error = Redact(fmt.Sprintf("cleanup on %s: %v", ep.Addr, err), ep.Password)
		return c
	}
	for _, addr := range append([]string{ep.Addr}, verify...) {
		other := ep
		other.Addr = addr
		client := newClient(other)
		n, err := remainingWithin(ctx, client, prefix, replicaSettle)
		_ = client.Close()
		if err != nil {
			c.Error = Redact(fmt.Sprintf("count keys under %s on %s: %v", prefix, addr, err), ep.Password)
			return c
		}
		c.Remaining[addr] = n
	}
	return c
}

func remainingWithin(ctx context.Context, store loadgen.KeyStore, prefix string, within time.Duration) (int, error) {
	deadline := time.Now().Add(within)
	for {
		n, err := loadgen.Remaining(ctx, store, prefix)
		if err != nil || n == 0 || time.Now().After(deadline) {
			return n, err
		}
		select {
		case <-ctx.Done():
			return n, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Commands runs the FR-014 round trips (strings, lists, sets, sorted sets, hashes)
// on ep under prefix with ttl on every key, then deletes its keys.
func Commands(ctx context.Context, ep loadgen.Endpoint, prefix string, ttl time.Duration) CommandsReport {
	rep := CommandsReport{Addr: ep.Addr}
	client := newClient(ep)
	defer client.Close()
	rep.Structures = RoundTrips(ctx, client, prefix, ttl)
	for i := range rep.Structures {
		rep.Structures[i].Error = Redact(rep.Structures[i].Error, ep.Password)
	}
	c := CleanupPrefix(context.WithoutCancel(ctx), ep, prefix, nil)
	rep.Cleanup = &c
	return rep
}

// RoundTrips runs the FR-014 round trips (string, list, set, sorted set, hash) with c,
// one key each at prefix+name with ttl, and reports each with its key's PTTL after.
// suites/dataplane runs the same ones from the sandbox's cluster vantage point.
func RoundTrips(ctx context.Context, c *redis.Client, prefix string, ttl time.Duration) []Structure {
	var out []Structure
	for _, sc := range structureChecks(ttl) {
		key := prefix + sc.name
		s := Structure{Name: sc.name}
		if err := sc.run(ctx, c, key); err != nil {
			s.Error = err.Error()
		} else {
			s.OK = true
		}
		if pttl, err := c.PTTL(ctx, key).Result(); err == nil {
			s.TTLMillis = pttl.Milliseconds()
		} else if s.Error == "" {
			s.Error = fmt.Sprintf("PTTL: %v", err)
		}
		out = append(out, s)
	}
	return out
}

// RoundTripNames names the structures RoundTrips tries, in order.
func RoundTripNames() []string {
	var names []string
	for _, sc := range structureChecks(0) {
		names = append(names, sc.name)
	}
	return names
}

// newClient is a go-redis client with the endpoint's deadlines and no retries.
func newClient(ep loadgen.Endpoint) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr: ep.Addr, Password: ep.Password, Username: ep.Username,
		Dialer:      ep.DialContext,
		DialTimeout: ep.DialTimeout, ReadTimeout: ep.ReadTimeout, WriteTimeout: ep.WriteTimeout,
		MaxRetries: -1, PoolSize: 1, DisableIdentity: true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
}

type structureCheck struct {
	name string
	run  func(ctx context.Context, c *redis.Client, key string) error
}

func expect(what string, want, got any) error {
	if fmt.Sprint(want) != fmt.Sprint(got) {
		return fmt.Errorf("%s: want %v, got %v", what, want, got)
	}
	return nil
}

// withTTL creates a key and puts the TTL on it in one MULTI, so no key of the probe
// ever exists without an expiry.
func withTTL(ctx context.Context, c *redis.Client, key string, ttl time.Duration, create func(redis.Pipeliner)) error {
	_, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		create(p)
		p.PExpire(ctx, key, ttl)
		return nil
	})
	return err
}

// structureChecks are the round trips of RoundTrips.
func structureChecks(ttl time.Duration) []structureCheck {
	return []structureCheck{
		{"string", func(ctx context.Context, c *redis.Client, key string) error {
			if err := c.Set(ctx, key, "10", ttl).Err(); err != nil {
				return err
			}
			n, err := c.IncrBy(ctx, key, 5).Result()
			if err != nil {
				return err
			}
			if err := expect("INCRBY", 15, n); err != nil {
				return err
			}
			if err := c.Append(ctx, key, "x").Err(); err != nil {
				return err
			}
			got, err := c.Get(ctx, key).Result()
			if err != nil {
				return err
			}
			return expect("GET", "15x", got)
		}},
		{"list", func(ctx context.Context, c *redis.Client, key string) error {
			if err := withTTL(ctx, c, key, ttl, func(p redis.Pipeliner) { p.RPush(ctx, key, "a", "b", "c") }); err != nil {
				return err
			}
			if err := c.LPush(ctx, key, "z").Err(); err != nil {
				return err
			}
			items, err := c.LRange(ctx, key, 0, -1).Result()
			if err != nil {
				return err
			}
			if err := expect("LRANGE", []string{"z", "a", "b", "c"}, items); err != nil {
				return err
			}
			last, err := c.RPop(ctx, key).Result()
			if err != nil {
				return err
			}
			return expect("RPOP", "c", last)
		}},
		{"set", func(ctx context.Context, c *redis.Client, key string) error {
			if err := withTTL(ctx, c, key, ttl, func(p redis.Pipeliner) { p.SAdd(ctx, key, "a", "b", "b", "c") }); err != nil {
				return err
			}
			members, err := c.SMembers(ctx, key).Result()
			if err != nil {
				return err
			}
			sort.Strings(members)
			if err := expect("SMEMBERS", []string{"a", "b", "c"}, members); err != nil {
				return err
			}
			in, err := c.SIsMember(ctx, key, "b").Result()
			if err != nil {
				return err
			}
			return expect("SISMEMBER", true, in)
		}},
		{"sorted-set", func(ctx context.Context, c *redis.Client, key string) error {
			if err := withTTL(ctx, c, key, ttl, func(p redis.Pipeliner) {
				p.ZAdd(ctx, key, redis.Z{Score: 3, Member: "c"}, redis.Z{Score: 1, Member: "a"}, redis.Z{Score: 2, Member: "b"})
			}); err != nil {
				return err
			}
			if err := c.ZIncrBy(ctx, key, 10, "a").Err(); err != nil {
				return err
			}
			order, err := c.ZRange(ctx, key, 0, -1).Result()
			if err != nil {
				return err
			}
			if err := expect("ZRANGE", []string{"b", "c", "a"}, order); err != nil {
				return err
			}
			score, err := c.ZScore(ctx, key, "a").Result()
			if err != nil {
				return err
			}
			return expect("ZSCORE", 11, score)
		}},
		{"hash", func(ctx context.Context, c *redis.Client, key string) error {
			if err := withTTL(ctx, c, key, ttl, func(p redis.Pipeliner) { p.HSet(ctx, key, "user", "ana", "visits", "1") }); err != nil {
				return err
			}
			if err := c.HIncrBy(ctx, key, "visits", 2).Err(); err != nil {
				return err
			}
			all, err := c.HGetAll(ctx, key).Result()
			if err != nil {
				return err
			}
			return expect("HGETALL", map[string]string{"user": "ana", "visits": "3"}, all)
		}},
	}
}
