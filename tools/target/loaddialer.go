package target

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/redis-shared/conformance/tools/loadgen"
)

// goRedisLoadDialer is a loadgen.Dialer over a go-redis client whose options the
// target built (its Dialer reaches the vantage point). Each Conn is one sticky
// connection of that client.
type goRedisLoadDialer struct {
	client *redis.Client
	addr   string
	secret string
}

// newLoadDialer wraps options; PoolSize is raised to the generator's connections.
func newLoadDialer(opts *redis.Options, conns int) *goRedisLoadDialer {
	o := *opts
	o.PoolSize = max(conns, 1)
	o.PoolTimeout = o.DialTimeout
	o.MaxRetries = -1
	o.ContextTimeoutEnabled = true
	return &goRedisLoadDialer{client: redis.NewClient(&o), addr: o.Addr, secret: o.Password}
}

func (d *goRedisLoadDialer) Name() string { return loadgen.ClientGoRedis }

// Secret lets loadgen.Run redact the password from error samples.
func (d *goRedisLoadDialer) Secret() string { return d.secret }

func (d *goRedisLoadDialer) Close() error { return d.client.Close() }

// Dial takes one sticky connection and proves it with PING (which also runs AUTH).
func (d *goRedisLoadDialer) Dial(ctx context.Context) (loadgen.Conn, error) {
	cn := d.client.Conn()
	if err := cn.Ping(ctx).Err(); err != nil {
		_ = cn.Close()
		return nil, fmt.Errorf("connect to %s: %w", d.addr, err)
	}
	return &goRedisLoadConn{cn: cn}, nil
}

type goRedisLoadConn struct{ cn *redis.Conn }

func (c *goRedisLoadConn) Close() error { return c.cn.Close() }

func (c *goRedisLoadConn) Exec(ctx context.Context, ops []loadgen.Op) error {
	if len(ops) == 1 {
		op := &ops[0]
		if op.Kind == loadgen.OpSet {
			op.Err = c.cn.Set(ctx, op.Key, op.Value, op.TTL).Err()
		} else {
			op.Err = c.cn.Get(ctx, op.Key).Err()
		}
		return settle(ops)
	}
	cmds, _ := c.cn.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range ops {
			if ops[i].Kind == loadgen.OpSet {
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
func settle(ops []loadgen.Op) error {
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
