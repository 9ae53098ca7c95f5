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
)

// DialFunc has the shape of go-redis Options.Dialer and http.Transport.DialContext.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Dialer returns a dial function whose sockets are created inside the vantage
// point's namespace ("cluster": a client pod on the cluster network, "lan": a host on
// 192.168.4.0/24, "outside": a host on 203.0.113.0/24). Use it as go-redis
// Options.Dialer. An unknown vantage point fails every dial.
func (s *State) Dialer(vantage string) DialFunc {
	ns, ok := s.Vantages[vantage]
	if !ok {
		return func(context.Context, string, string) (net.Conn, error) {
			return nil, fmt.Errorf("sandbox %s has no vantage point %q (have cluster, lan, outside)", s.ID, vantage)
		}
	}
	return netnsDialer(ns)
}

func netnsDialer(ns string) DialFunc {
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

func clientOptions(dial DialFunc, addr, password string) *redis.Options {
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
func ping(ctx context.Context, dial DialFunc, addr, password string, timeout time.Duration) error {
	reply, err := redisCall(ctx, dial, addr, password, timeout, "PING")
	if err == nil && reply != "PONG" {
		return fmt.Errorf("PING answered %q", reply)
	}
	return err
}

// livenessPing is the chart's liveness probe: PONG, LOADING or MASTERDOWN pass.
func livenessPing(ctx context.Context, dial DialFunc, password string, timeout time.Duration) error {
	err := ping(ctx, dial, fmt.Sprintf("127.0.0.1:%d", redisPort), password, timeout)
	var reply errRedis
	if errors.As(err, &reply) && (strings.HasPrefix(reply.msg, "LOADING") || strings.HasPrefix(reply.msg, "MASTERDOWN")) {
		return nil
	}
	return err
}

// infoFields runs INFO section and returns its key:value lines.
func infoFields(ctx context.Context, dial DialFunc, addr, password, section string) (map[string]string, error) {
	text, err := redisCall(ctx, dial, addr, password, 3*time.Second, "INFO", section)
	if err != nil {
		return nil, err
	}
	fields := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok {
			fields[k] = v
		}
	}
	return fields, nil
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
