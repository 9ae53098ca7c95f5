package probe

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/redis-shared/conformance/tools/loadgen"
)

// PromAPIPrefix is the only path the probe asks a Prometheus for: the read-only HTTP
// API (query, targets, rules, alerts). Nothing else leaves the pod.
const PromAPIPrefix = "/api/v1/"

// promBodyLimit bounds what one answer may carry back over exec.
const promBodyLimit = 16 << 20

// PromReply is the answer of `redisprobe prom`: the HTTP status and body of one GET
// on the Prometheus HTTP API, passed back verbatim for the suite to decode.
type PromReply struct {
	URL        string `json:"url"`
	StatusCode int    `json:"status_code"`
	Body       string `json:"body"`
	Error      string `json:"error,omitempty"`
}

// CheckPromURL validates a Prometheus base URL: http or https, a host, no query.
func CheckPromURL(base string) error {
	u, err := url.Parse(base)
	if err != nil {
		return fmt.Errorf("prometheus URL %q: %w", base, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.User != nil {
		return fmt.Errorf("prometheus URL %q: want http(s)://host:port[/path] without credentials or query", base)
	}
	return nil
}

// CheckPromPath validates a request path: under the read-only API.
func CheckPromPath(path string) error {
	if !strings.HasPrefix(path, PromAPIPrefix) || strings.Contains(path, "..") {
		return fmt.Errorf("prometheus path %q: want one under %s", path, PromAPIPrefix)
	}
	return nil
}

// PromGet makes one GET of base+path within timeout.
func PromGet(ctx context.Context, dial loadgen.DialFunc, base, path string, timeout time.Duration) PromReply {
	rep := PromReply{URL: strings.TrimSuffix(base, "/") + path}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rep.URL, nil)
	if err != nil {
		rep.Error = err.Error()
		return rep
	}
	client := &http.Client{Transport: &http.Transport{DialContext: dial, Proxy: nil}}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		rep.Error = err.Error()
		return rep
	}
	defer resp.Body.Close()
	rep.StatusCode = resp.StatusCode
	body, err := io.ReadAll(io.LimitReader(resp.Body, promBodyLimit))
	if err != nil {
		rep.Error = fmt.Sprintf("read body: %v", err)
	}
	rep.Body = string(body)
	return rep
}
