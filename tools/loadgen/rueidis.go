package loadgen

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/redis/rueidis"
)

// RueidisDialer opens rueidis connections. Dedicated mode pins one TCP connection
// per generator connection (the same shape as redis-benchmark -c); shared mode
// lets rueidis auto-pipeline every worker's commands over a few multiplexed
// connections, so the number of TCP connections differs from Connections.
type RueidisDialer struct {
	endpoint  Endpoint
	conns     int
	dedicated bool

	mu     sync.Mutex
	client rueidis.Client
}

// NewRueidisDialer prepares a rueidis client; it connects on the first Dial.
func NewRueidisDialer(ep Endpoint, conns int, dedicated bool) *RueidisDialer {
	return &RueidisDialer{endpoint: ep.WithDefaults(), conns: max(conns, 1), dedicated: dedicated}
}

// Name names the client library and mode.
func (d *RueidisDialer) Name() string {
	if d.dedicated {
		return ClientRueidis
	}
	return ClientRueidisAuto
}

// Secret lets Run redact the password from error samples.
func (d *RueidisDialer) Secret() string { return d.endpoint.Password }

// Close closes the shared client.
func (d *RueidisDialer) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.client != nil {
		d.client.Close()
		d.client = nil
	}
	return nil
}

func (d *RueidisDialer) shared() (rueidis.Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.client != nil {
		return d.client, nil
	}
	ep := d.endpoint
	client, err := rueidis.NewClient(rueidis.ClientOption{
		InitAddress: []string{ep.Addr},
		Username:    ep.Username,
		Password:    ep.Password,
		Dialer:      net.Dialer{Timeout: ep.DialTimeout},
		DialCtxFn: func(ctx context.Context, _ string, _ *net.Dialer, _ *tls.Config) (net.Conn, error) {
			return ep.dial(ctx)
		},
		ConnWriteTimeout:  max(ep.ReadTimeout, ep.WriteTimeout),
		ForceSingleClient: true,
		DisableCache:      true,
		DisableRetry:      true,
		ClientSetInfo:     rueidis.DisableClientSetInfo,
		BlockingPoolSize:  d.conns,
	})
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", ep, err)
	}
	d.client = client
	return client, nil
}

// Dial returns a handle on one dedicated connection, or on the shared
// auto-pipelining client.
func (d *RueidisDialer) Dial(ctx context.Context) (Conn, error) {
	client, err := d.shared()
	if err != nil {
		return nil, err
	}
	c := &rueidisConn{timeout: d.endpoint.ReadTimeout + d.endpoint.WriteTimeout}
	if d.dedicated {
		dc, release := client.Dedicate()
		c.doer, c.release = dc, release
	} else {
		c.doer, c.release = client, func() {}
	}
	pingCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := c.doer.Do(pingCtx, c.doer.B().Ping().Build()).Error(); err != nil {
		c.release()
		return nil, fmt.Errorf("ping %s: %w", d.endpoint, err)
	}
	return c, nil
}

// rueidisDoer is what both rueidis.Client and rueidis.DedicatedClient offer.
type rueidisDoer interface {
	B() rueidis.Builder
	Do(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResult
	DoMulti(ctx context.Context, multi ...rueidis.Completed) []rueidis.RedisResult
}

type rueidisConn struct {
	doer    rueidisDoer
	release func()
	timeout time.Duration
	cmds    rueidis.Commands
}

func (c *rueidisConn) Close() error {
	c.release()
	return nil
}

func (c *rueidisConn) Exec(ctx context.Context, ops []Op) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	c.cmds = c.cmds[:0]
	for i := range ops {
		if ops[i].Kind == OpSet {
			c.cmds = append(c.cmds, c.doer.B().Set().Key(ops[i].Key).Value(rueidis.BinaryString(ops[i].Value)).Px(ops[i].TTL).Build())
		} else {
			c.cmds = append(c.cmds, c.doer.B().Get().Key(ops[i].Key).Build())
		}
	}
	var connErr error
	for i, res := range c.doer.DoMulti(ctx, c.cmds...) {
		err := res.Error()
		if err == nil || rueidis.IsRedisNil(err) {
			ops[i].Err = nil
			continue
		}
		ops[i].Err = err
		if _, serverReply := rueidis.IsRedisErr(err); !serverReply && connErr == nil {
			connErr = err
		}
	}
	return connErr
}
