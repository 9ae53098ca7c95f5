// Package kubeconn opens a cluster from a kubeconfig fail-closed: the kubeconfig files
// must be regular files of bounded size, and every request, including the run of a
// kubeconfig exec credential plugin that never returns, ends within a deadline.
//
// client-go runs exec credential plugins with exec.Command and no context, inside the
// transport, and http.Client's own Timeout cannot interrupt a RoundTripper that does
// not return. So the deadline is enforced around the whole transport here.
package kubeconn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/redis-shared/conformance/tools/safeio"
)

// DefaultRequestTimeout bounds each API request, credential plugin included.
const DefaultRequestTimeout = 30 * time.Second

// DefaultReachTimeout bounds the first request that proves the API server answers:
// short, so that a dead cluster or a hung credential plugin fails the command fast.
const DefaultReachTimeout = 15 * time.Second

// ErrNoAnswer is in the message of a request that got no answer within its deadline
// (http.Client keeps the text but not the chain when its own Timeout fires).
var ErrNoAnswer = errors.New("no answer")

// Load reads the kubeconfig at path, or the default ($KUBECONFIG, ~/.kube/config)
// when path is empty, at context kubeContext ("" is its current context), refusing
// kubeconfig files that are not regular files of at most safeio.KubeconfigLimit. The
// config's Timeout is set to requestTimeout.
func Load(path, kubeContext string, requestTimeout time.Duration) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if path != "" {
		rules.ExplicitPath = path
		if err := safeio.CheckInput(path, safeio.KubeconfigLimit); err != nil {
			return nil, fmt.Errorf("kubeconfig: %w", err)
		}
	} else {
		for _, p := range rules.GetLoadingPrecedence() {
			if _, err := os.Stat(p); err != nil {
				continue // clientcmd skips missing files of the list too
			}
			if err := safeio.CheckInput(p, safeio.KubeconfigLimit); err != nil {
				return nil, fmt.Errorf("kubeconfig: %w", err)
			}
		}
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: kubeContext}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", orDefault(path), err)
	}
	cfg.Timeout = requestTimeout
	return cfg, nil
}

// HTTPClient is client-go's HTTP client for cfg with every round trip bounded by
// cfg.Timeout (DefaultRequestTimeout when unset) and by the request's context.
func HTTPClient(cfg *rest.Config) (*http.Client, error) {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("kube client: %w", err)
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultRequestTimeout
	}
	dt := &deadlineTransport{next: hc.Transport, timeout: timeout, host: cfg.Host}
	if cfg.ExecProvider != nil {
		dt.plugin = cfg.ExecProvider.Command
	}
	hc.Transport = dt
	return hc, nil
}

// Clients are the typed and dynamic clients on one bounded HTTP client.
func Clients(cfg *rest.Config) (kubernetes.Interface, dynamic.Interface, error) {
	hc, err := HTTPClient(cfg)
	if err != nil {
		return nil, nil, err
	}
	cs, err := kubernetes.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, nil, fmt.Errorf("kube client: %w", err)
	}
	dyn, err := dynamic.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, nil, fmt.Errorf("kube client: %w", err)
	}
	return cs, dyn, nil
}

// Reachable proves the API server answers GET /version within timeout.
func Reachable(ctx context.Context, cs kubernetes.Interface, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := cs.Discovery().RESTClient().Get().AbsPath("/version").DoRaw(ctx); err != nil {
		return fmt.Errorf("API server unreachable (GET /version, deadline %s): %w", timeout, err)
	}
	return nil
}

// deadlineTransport returns from RoundTrip when the request's context ends or the
// timeout passes, whatever the transport below is stuck in (an exec credential
// plugin that never exits, a TLS callback). The stuck call is left to finish on its
// own; its response, should one come, is closed.
type deadlineTransport struct {
	next    http.RoundTripper
	timeout time.Duration
	host    string
	// plugin is the kubeconfig's exec credential plugin command, if any: a run of it
	// still going at the deadline is killed, so it neither outlives us nor holds
	// client-go's credential lock for the next request.
	plugin string
}

type roundTrip struct {
	resp *http.Response
	err  error
}

func (d *deadlineTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(req.Context(), d.timeout)
	done := make(chan roundTrip, 1)
	go func() {
		resp, err := d.next.RoundTrip(req.WithContext(ctx))
		done <- roundTrip{resp, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			cancel()
			return nil, r.err
		}
		// The body is read after RoundTrip returns: cancel only once it is closed.
		r.resp.Body = &cancelOnClose{ReadCloser: r.resp.Body, cancel: cancel}
		return r.resp, nil
	case <-ctx.Done():
		cancel()
		go func() {
			if r := <-done; r.resp != nil {
				r.resp.Body.Close()
			}
		}()
		killed := killChildren(d.plugin)
		if errors.Is(req.Context().Err(), context.Canceled) {
			return nil, req.Context().Err() // the caller gave up (Ctrl-C): no hint needed
		}
		// The caller's deadline (http.Client's Timeout is one) or ours: say what hangs.
		if killed > 0 {
			return nil, fmt.Errorf("%s %s: %w within %s: the kubeconfig exec credential plugin %s did not return (killed)",
				req.Method, d.host, ErrNoAnswer, time.Since(start).Round(time.Second), d.plugin)
		}
		return nil, fmt.Errorf("%s %s: %w within %s (API server down, or a kubeconfig exec credential plugin that does not return?)",
			req.Method, d.host, ErrNoAnswer, time.Since(start).Round(time.Second))
	}
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

func orDefault(path string) string {
	if path == "" {
		return "(default: $KUBECONFIG or ~/.kube/config)"
	}
	return path
}

// killChildren kills this process's own children that run command (by argv[0] or
// its base name) and returns how many; client-go gives no handle on the plugin's
// process, and only our own children are looked at.
func killChildren(command string) int {
	if command == "" {
		return 0
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	self, killed := os.Getpid(), 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// Fields after "(comm)": state, ppid, ...; comm may hold blanks and parens.
		rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
		fields := strings.Fields(rest)
		if len(fields) < 2 || fields[1] != strconv.Itoa(self) {
			continue
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			continue
		}
		argv0, _, _ := strings.Cut(string(cmdline), "\x00")
		if argv0 == command || filepath.Base(argv0) == filepath.Base(command) {
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				killed++
			}
		}
	}
	return killed
}
