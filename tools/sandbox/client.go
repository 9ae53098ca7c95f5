package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redis-shared/conformance/tools/loadgen"
	"github.com/redis-shared/conformance/tools/probe"
)

// Dialer returns a dial function whose sockets are created inside the vantage
// point's namespace ("cluster": a client pod on the cluster network, "lan": a host on
// 192.168.4.0/24, "outside": a host on 203.0.113.0/24). Use it as go-redis
// Options.Dialer. An unknown vantage point fails every dial.
func (s *State) Dialer(vantage string) loadgen.DialFunc {
	ns, ok := s.Vantages[vantage]
	if !ok {
		return func(context.Context, string, string) (net.Conn, error) {
			return nil, fmt.Errorf("sandbox %s has no vantage point %q (have cluster, lan, outside)", s.ID, vantage)
		}
	}
	return netnsDialer(ns)
}

func netnsDialer(ns string) loadgen.DialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return dialInNetNS(ctx, ns, network, addr)
	}
}

// HTTPClient returns an HTTP client that connects from the vantage point, for
// Prometheus and the exporters. It never uses a proxy.
func (s *State) HTTPClient(vantage string) *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			Proxy:             nil,
			DialContext:       s.Dialer(vantage),
			DisableKeepAlives: true,
		},
	}
}

// RedisOptions returns go-redis options to reach addr from the vantage point with the
// sandbox password. The caller may change any field before redis.NewClient.
func (s *State) RedisOptions(vantage, addr string) (*redis.Options, error) {
	password, err := s.Password()
	if err != nil {
		return nil, err
	}
	return clientOptions(s.Dialer(vantage), addr, password), nil
}

func clientOptions(dial loadgen.DialFunc, addr, password string) *redis.Options {
	return &redis.Options{
		Addr:            addr,
		Password:        password,
		Dialer:          dial,
		Protocol:        2,
		DisableIdentity: true,
		DialTimeout:     2 * time.Second,
		DialerRetries:   1, // one attempt, like one kubelet probe

		ReadTimeout:  2 * time.Second,
		WriteTimeout: 2 * time.Second,
		MaxRetries:   -1,
		PoolSize:     2,
	}
}

// ping connects, authenticates and sends PING once.
func ping(ctx context.Context, dial loadgen.DialFunc, addr, password string, timeout time.Duration) error {
	reply, err := probe.Call(ctx, dial, addr, password, timeout, "PING")
	switch {
	case err != nil:
		return err
	case reply.IsError():
		return errors.New(reply.Text)
	case reply.Text != "PONG":
		return fmt.Errorf("PING answered %q", reply.Text)
	}
	return nil
}

// livenessPing is the chart's liveness probe: PONG, LOADING or MASTERDOWN pass.
func livenessPing(ctx context.Context, dial loadgen.DialFunc, password string, timeout time.Duration) error {
	reply, err := probe.Call(ctx, dial, fmt.Sprintf("127.0.0.1:%d", redisPort), password, timeout, "PING")
	switch {
	case err != nil:
		return err
	case reply.IsError() && (strings.HasPrefix(reply.Text, "LOADING") || strings.HasPrefix(reply.Text, "MASTERDOWN")):
		return nil
	case reply.IsError():
		return errors.New(reply.Text)
	case reply.Text != "PONG":
		return fmt.Errorf("PING answered %q", reply.Text)
	}
	return nil
}

// replicationInfo reads INFO replication (go-redis InfoMap) on one fresh connection.
func replicationInfo(ctx context.Context, dial loadgen.DialFunc, addr, password string) (role, link string, err error) {
	opts := clientOptions(dial, addr, password)
	opts.PoolSize = 1
	c := redis.NewClient(opts)
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	info := c.InfoMap(ctx, "replication")
	if err := info.Err(); err != nil {
		return "", "", err
	}
	return info.Item("Replication", "role"), info.Item("Replication", "master_link_status"), nil
}

// httpGet fetches url through client with a deadline and returns the body.
func httpGet(ctx context.Context, client *http.Client, url string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	return resp.StatusCode, body, err
}
