package target

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/redis-shared/conformance/tools/probe"
)

// ProbeChecker is what the kube target adds to Prober for the checks of FR-006,
// FR-011/SC-008 and (through the cluster's Prometheus) FR-008, FR-009 and SC-005
// from inside the cluster.
type ProbeChecker interface {
	Prober
	// ProbeReplication writes under prefix on master, reads each write back on every
	// replica within wait, reads INFO replication and deletes its keys.
	ProbeReplication(ctx context.Context, master string, replicas []string, prefix string, writes int, wait, ttl time.Duration) (probe.ReplicationReport, error)
	// ProbeAuth makes perKind unauthorized attempts of each kind on every address,
	// each on a fresh connection, after a positive control with the real password.
	ProbeAuth(ctx context.Context, addrs []string, perKind int, timeout time.Duration) (probe.AuthReport, error)
	// ProbePrometheus is the cluster's Prometheus HTTP API, queried from the probe pod;
	// Unsupported when no URL was given.
	ProbePrometheus() (*Prometheus, error)
}

// NoPrometheusURL is the reason the kube target gives when it was not told where the
// cluster's Prometheus answers.
const NoPrometheusURL = "kube target: no Prometheus URL given (--prometheus-url, make conformance PROMETHEUS_URL=http://prometheus-operated.monitoring.svc:9090): the probe pod queries the cluster's Prometheus only at a URL the user names"

// ProbeReplication runs `redisprobe replication` in the probe pod.
func (k *Kube) ProbeReplication(ctx context.Context, master string, replicas []string, prefix string, writes int, wait, ttl time.Duration) (probe.ReplicationReport, error) {
	var rep probe.ReplicationReport
	if len(replicas) == 0 {
		return rep, errors.New("kube target: replication check: no replica address")
	}
	args := []string{"replication", "-addr", master, "-replicas", strings.Join(replicas, ","), "-prefix", prefix,
		"-writes", strconv.Itoa(writes), "-wait", wait.String(), "-ttl", ttl.String()}
	// Worst case every write waits out the bound on every replica.
	budget := time.Duration(writes*len(replicas))*wait + probeExecMargin
	err := k.runProbe(ctx, budget, &rep, args...)
	return rep, err
}

// ProbeAuth runs `redisprobe auth` in the probe pod.
func (k *Kube) ProbeAuth(ctx context.Context, addrs []string, perKind int, timeout time.Duration) (probe.AuthReport, error) {
	var rep probe.AuthReport
	if len(addrs) == 0 {
		return rep, errors.New("kube target: authentication check: no address")
	}
	args := []string{"auth", "-addrs", strings.Join(addrs, ","), "-n", strconv.Itoa(perKind), "-timeout", timeout.String()}
	// A fresh connection per attempt answers in well under a millisecond in a cluster;
	// the budget allows 10 ms each before the exec is cut.
	attempts := perKind * len(addrs) * len(probe.AuthKinds())
	budget := time.Duration(attempts)*10*time.Millisecond + probeExecMargin
	err := k.runProbe(ctx, budget, &rep, args...)
	return rep, err
}

// ProbePrometheus returns the cluster's Prometheus API with a transport that makes
// every GET from the probe pod (`redisprobe prom`), so the monitoring checks read it
// as they read the sandbox's, from a vantage point that reaches cluster Services.
func (k *Kube) ProbePrometheus() (*Prometheus, error) {
	if k.opts.PrometheusURL == "" {
		return nil, Unsupported("%s", NoPrometheusURL)
	}
	if err := checkPrometheusURL(k.opts.PrometheusURL); err != nil {
		return nil, fmt.Errorf("kube target: %w", err)
	}
	base := strings.TrimSuffix(k.opts.PrometheusURL, "/")
	return &Prometheus{URL: base, Client: &http.Client{Transport: probeTransport{k: k, base: base}}}, nil
}

// checkPrometheusURL validates --prometheus-url as the probe will.
func checkPrometheusURL(u string) error {
	if err := probe.CheckPromURL(u); err != nil {
		return fmt.Errorf("--prometheus-url: %w", err)
	}
	return nil
}

// probeTransport answers HTTP GETs under base by running `redisprobe prom` in the
// probe pod and rebuilding its reply.
type probeTransport struct {
	k    *Kube
	base string
}

// promExecTimeout bounds one Prometheus GET through the probe, exec included.
const promExecTimeout = 30 * time.Second

func (p probeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
	if req.Method != http.MethodGet {
		return nil, fmt.Errorf("probe transport: %s %s: only GET goes through the probe pod", req.Method, req.URL)
	}
	full := req.URL.String()
	path, ok := strings.CutPrefix(full, p.base)
	if !ok {
		return nil, fmt.Errorf("probe transport: %s is not under %s", full, p.base)
	}
	var rep probe.PromReply
	if err := p.k.runProbe(req.Context(), promExecTimeout, &rep, "prom", "-url", p.base, "-path", path); err != nil {
		return nil, fmt.Errorf("GET %s from the probe pod: %w", full, err)
	}
	return promResponse(req, rep), nil
}

// promResponse rebuilds the HTTP response the probe saw.
func promResponse(req *http.Request, rep probe.PromReply) *http.Response {
	return &http.Response{
		Status:        strconv.Itoa(rep.StatusCode) + " " + http.StatusText(rep.StatusCode),
		StatusCode:    rep.StatusCode,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(strings.NewReader(rep.Body)),
		ContentLength: int64(len(rep.Body)),
		Request:       req,
	}
}

// The kube target offers the probe checks.
var _ ProbeChecker = (*Kube)(nil)
