package target

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/redis-shared/conformance/tools/probe"
)

// NoPrometheusURL is the reason the kube target gives when it was not told where the
// cluster's Prometheus answers.
const NoPrometheusURL = "kube target: no Prometheus URL given (--prometheus-url, make conformance PROMETHEUS_URL=http://prometheus-operated.monitoring.svc:9090): the probe pod queries the cluster's Prometheus only at a URL the user names"

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

// promGetTimeout bounds one Prometheus GET in the probe pod.
const promGetTimeout = 10 * time.Second

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
	rep, err := p.k.runProbe(req.Context(), probe.Request{Kind: probe.KindProm, Timeout: promGetTimeout, Prom: &probe.PromRequest{URL: p.base, Path: path}})
	if err != nil {
		return nil, fmt.Errorf("GET %s from the probe pod: %w", full, err)
	}
	if rep.Prom == nil {
		return nil, fmt.Errorf("GET %s from the probe pod: the report has no prom part", full)
	}
	return promResponse(req, *rep.Prom), nil
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
