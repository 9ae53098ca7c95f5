package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// GoRedisDialer opens go-redis connections: each Conn is a sticky connection
// taken from one shared client whose pool has one slot per generator connection.
type GoRedisDialer struct {
	client   *redis.Client
	endpoint Endpoint
}

// NewGoRedisDialer prepares a go-redis client for ep with room for conns connections.
// Every call carries ep's read and write deadlines; no retries hide failures.
func NewGoRedisDialer(ep Endpoint, conns int) *GoRedisDialer {
	ep = ep.WithDefaults()
	client := redis.NewClient(&redis.Options{
		Addr:                  ep.Addr,
		Username:              ep.Username,
		Password:              ep.Password,
		DialTimeout:           ep.DialTimeout,
		ReadTimeout:           ep.ReadTimeout,
		WriteTimeout:          ep.WriteTimeout,
		ContextTimeoutEnabled: true,
		MaxRetries:            -1,
		// RESP2: the generator needs no push notifications, and RESP3 makes
		// go-redis peek for them before every command (an extra read syscall).
		Protocol:        2,
		PoolSize:        max(conns, 1),
		PoolTimeout:     ep.DialTimeout,
		DisableIdentity: true,
		MaintNotificationsConfig: &maintnotifications.Config{
			Mode: maintnotifications.ModeDisabled,
		},
		Dialer: func(ctx context.Context, _, _ string) (net.Conn, error) { return ep.dial(ctx) },
	})
	return &GoRedisDialer{client: client, endpoint: ep}
}

// Name names the client library.
func (d *GoRedisDialer) Name() string { return "go-redis" }

// Secret lets Run redact the password from error samples.
func (d *GoRedisDialer) Secret() string { return d.endpoint.Password }

// Close closes the shared client.
func (d *GoRedisDialer) Close() error { return d.client.Close() }

// Dial takes one sticky connection and proves it with PING (which also runs AUTH).
func (d *GoRedisDialer) Dial(ctx context.Context) (Conn, error) {
	cn := d.client.Conn()
	if err := cn.Ping(ctx).Err(); err != nil {
		_ = cn.Close()
		return nil, fmt.Errorf("connect to %s: %w", d.endpoint, err)
	}
	return &goRedisConn{cn: cn}, nil
}

type goRedisConn struct {
	cn *redis.Conn
}

func (c *goRedisConn) Close() error { return c.cn.Close() }

func (c *goRedisConn) Exec(ctx context.Context, ops []Op) error {
	if len(ops) == 1 {
		op := &ops[0]
		if op.Kind == OpSet {
			op.Err = c.cn.Set(ctx, op.Key, op.Value, op.TTL).Err()
		} else {
			op.Err = c.cn.Get(ctx, op.Key).Err()
		}
		return settle(ops)
	}
	cmds, _ := c.cn.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range ops {
			if ops[i].Kind == OpSet {
				p.Set(ctx, ops[i].Key, ops[i].Value, ops[i].TTL)
			} else {
				p.Get(ctx, ops[i].Key)
			}
		}
		return nil
	})
	for i := range ops {
		if i < len(cmds) {
			ops[i].Err = cmds[i].Err()
		} else {
			ops[i].Err = errors.New("no reply in pipeline")
		}
	}
	return settle(ops)
}

// settle clears GET misses and returns the first error that is not a server reply,
// i.e. one that leaves the connection unusable.
func settle(ops []Op) error {
	var connErr error
	for i := range ops {
		if errors.Is(ops[i].Err, redis.Nil) {
			ops[i].Err = nil
			continue
		}
		var serverErr redis.Error
		if ops[i].Err != nil && connErr == nil && !errors.As(ops[i].Err, &serverErr) {
			connErr = ops[i].Err
		}
	}
	return connErr
}
