// Package kubeenv runs a real, local Kubernetes control plane for testing the kube
// target: etcd, kube-apiserver, kube-controller-manager and kube-scheduler built from
// the Go module proxy (tools/kubeenv/build), the kwok controller, which plays the
// kubelet for fake nodes (pods become Running and Ready; no container runs), and the
// MetalLB controller, which assigns LoadBalancer addresses (no speaker: nothing is
// announced and no traffic flows). Everything listens on 127.0.0.1 with random ports
// and lives in one temp dir; Close (or cancelling the Start context, e.g. Ctrl-C)
// ends every process and removes the dir.
package kubeenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/redis-shared/conformance/tools/waitfor"
)

// The binaries Start runs, as `make kube-tools` names them in bin/.
const (
	BinEtcd              = "etcd"
	BinAPIServer         = "kube-apiserver"
	BinControllerManager = "kube-controller-manager"
	BinScheduler         = "kube-scheduler"
	BinKwok              = "kwok"
	BinMetalLB           = "metallb-controller"
)

// Binaries lists every binary Start needs, in start order.
func Binaries() []string {
	return []string{BinEtcd, BinAPIServer, BinControllerManager, BinScheduler, BinKwok, BinMetalLB}
}

// MetalLBNamespace is where the MetalLB controller reads its pools.
const MetalLBNamespace = "metallb-system"

// serviceCIDR is the cluster's Service range (ClusterIPs); never routed anywhere.
const serviceCIDR = "10.96.0.0/16"

// Options configure Start.
type Options struct {
	// BinDir holds the binaries of Binaries().
	BinDir string
	// Root is the repository root: the wrapper modules under tools/kubeenv/build tell
	// where kwok's stages and MetalLB's CRDs are in the module cache.
	Root string
	// Log receives one line per step; nil discards.
	Log io.Writer
	// StartTimeout bounds each component's start; zero means one minute.
	StartTimeout time.Duration
}

// Env is a running local control plane.
type Env struct {
	// Dir is the temp dir holding data, certificates, logs and the kubeconfig.
	Dir string
	// Kubeconfig is the path of an admin kubeconfig for the API server.
	Kubeconfig string
	// Config is the admin REST config.
	Config *rest.Config
	// KwokServer is the address of kwok's kubelet-like server (exec on fake pods).
	KwokServer string

	opts      Options
	pki       *pki
	mu        sync.Mutex
	procs     []*process
	closed    bool
	closeOnce sync.Once
	closeErr  error
	stopWatch context.CancelFunc
}

type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

// Start brings the control plane up. When ctx is cancelled later (Ctrl-C), the env
// tears itself down; callers still call Close, which is idempotent.
func Start(ctx context.Context, opts Options) (*Env, error) {
	if opts.StartTimeout == 0 {
		opts.StartTimeout = time.Minute
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	for _, name := range Binaries() {
		if _, err := os.Stat(filepath.Join(opts.BinDir, name)); err != nil {
			return nil, fmt.Errorf("control-plane binary %s missing in %s (make kube-tools): %w", name, opts.BinDir, err)
		}
	}
	dir, err := os.MkdirTemp("", "kubeenv-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	e := &Env{Dir: dir, Kubeconfig: filepath.Join(dir, "kubeconfig"), opts: opts}
	watchCtx, stopWatch := context.WithCancel(context.WithoutCancel(ctx))
	e.stopWatch = stopWatch
	go func() {
		select {
		case <-ctx.Done():
			_ = e.Close()
		case <-watchCtx.Done():
		}
	}()
	if err := e.start(ctx); err != nil {
		closeErr := e.Close()
		return nil, errors.Join(err, closeErr)
	}
	return e, nil
}

func (e *Env) start(ctx context.Context) error {
	began := time.Now()
	var err error
	if e.pki, err = newPKI(filepath.Join(e.Dir, "pki")); err != nil {
		return err
	}
	ports, err := freePorts(4)
	if err != nil {
		return err
	}
	etcdClient, etcdPeer, apiPort, kwokPort := ports[0], ports[1], ports[2], ports[3]
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(etcdClient)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(etcdPeer)
	if err := e.spawn(BinEtcd, nil,
		"--name=kubeenv", "--data-dir="+filepath.Join(e.Dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=kubeenv="+peerURL,
		// A test cluster: losing it on a crash costs nothing, fsyncs cost seconds.
		"--unsafe-no-fsync", "--log-level=warn",
	); err != nil {
		return err
	}
	if err := e.waitTCP(ctx, BinEtcd, "127.0.0.1:"+strconv.Itoa(etcdClient)); err != nil {
		return err
	}

	p := e.pki
	if err := e.spawn(BinAPIServer, nil,
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port="+strconv.Itoa(apiPort),
		"--tls-cert-file="+p.ServingCert, "--tls-private-key-file="+p.Serving,
		"--client-ca-file="+p.CACert,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+p.SAPub, "--service-account-signing-key-file="+p.SAKey,
		"--service-cluster-ip-range="+serviceCIDR,
		"--authorization-mode=RBAC",
		// Endpoints may not hold loopback addresses: the kubernetes Service gets none.
		"--endpoint-reconciler-type=none",
		"--enable-priority-and-fairness=false", "--profiling=false",
		"--cert-dir="+filepath.Join(e.Dir, "apiserver"),
		// kwok's server plays the kubelet for exec (KwokServer): reached at the fake
		// node's InternalIP (127.0.0.1) and daemon port, TLS both ways with our CA.
		"--kubelet-preferred-address-types=InternalIP",
		"--kubelet-certificate-authority="+p.CACert,
		"--kubelet-client-certificate="+p.AdminCert, "--kubelet-client-key="+p.AdminKey,
	); err != nil {
		return err
	}
	if err := e.writeKubeconfig("https://127.0.0.1:" + strconv.Itoa(apiPort)); err != nil {
		return err
	}
	if err := e.waitReady(ctx); err != nil {
		return err
	}
	fmt.Fprintf(e.opts.Log, "kubeenv: API server ready at %s after %s\n", e.Config.Host, time.Since(began).Round(time.Millisecond))

	if err := e.spawn(BinControllerManager, nil,
		"--kubeconfig="+e.Kubeconfig, "--leader-elect=false", "--secure-port=0",
		"--service-account-private-key-file="+p.SAKey, "--root-ca-file="+p.CACert,
		"--use-service-account-credentials=false", "--service-cluster-ip-range="+serviceCIDR,
		"--profiling=false",
	); err != nil {
		return err
	}
	if err := e.spawn(BinScheduler, nil,
		"--kubeconfig="+e.Kubeconfig, "--leader-elect=false", "--secure-port=0", "--profiling=false",
	); err != nil {
		return err
	}
	kwokConfig, err := e.writeKwokConfig()
	if err != nil {
		return err
	}
	if err := e.applyKwokCRDs(ctx); err != nil {
		return err
	}
	e.KwokServer = "127.0.0.1:" + strconv.Itoa(kwokPort)
	if err := e.spawn(BinKwok, nil,
		"--kubeconfig="+e.Kubeconfig, "--config="+kwokConfig,
		"--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
		"--node-lease-duration-seconds=40",
		// The server answers exec for the fake node's pods by running the command
		// LOCALLY, as the ClusterExec objects (kwok.x-k8s.io) of a test say.
		"--server-address="+e.KwokServer, "--node-ip=127.0.0.1", "--node-port="+strconv.Itoa(kwokPort),
		"--tls-cert-file="+p.ServingCert, "--tls-private-key-file="+p.Serving,
		"--enable-crds=ClusterExec",
	); err != nil {
		return err
	}
	if err := e.applyMetalLBCRDs(ctx); err != nil {
		return err
	}
	metricsPort, err := freePorts(1)
	if err != nil {
		return err
	}
	if err := e.spawn(BinMetalLB, []string{"KUBECONFIG=" + e.Kubeconfig},
		"--namespace="+MetalLBNamespace, "--port="+strconv.Itoa(metricsPort[0]),
		"--webhook-mode=disabled", "--disable-cert-rotation", "--log-level=warn",
	); err != nil {
		return err
	}
	fmt.Fprintf(e.opts.Log, "kubeenv: control plane, kwok and MetalLB started after %s (dir %s)\n", time.Since(began).Round(time.Millisecond), e.Dir)
	return e.alive()
}

// Clientset returns a typed client for the env.
func (e *Env) Clientset() (*kubernetes.Clientset, error) {
	cs, err := kubernetes.NewForConfig(e.Config)
	if err != nil {
		return nil, fmt.Errorf("kubeenv client: %w", err)
	}
	return cs, nil
}

func (e *Env) writeKubeconfig(server string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["kubeenv"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: e.pki.caPEM}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: e.pki.adminCertPEM, ClientKeyData: e.pki.adminKeyPEM}
	cfg.Contexts["kubeenv"] = &clientcmdapi.Context{Cluster: "kubeenv", AuthInfo: "admin"}
	cfg.CurrentContext = "kubeenv"
	if err := clientcmd.WriteToFile(*cfg, e.Kubeconfig); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	rc, err := clientcmd.BuildConfigFromFlags("", e.Kubeconfig)
	if err != nil {
		return fmt.Errorf("read back kubeconfig: %w", err)
	}
	rc.Timeout = 30 * time.Second
	rc.QPS, rc.Burst = 50, 100
	e.Config = rc
	return nil
}

func (e *Env) spawn(name string, env []string, args ...string) error {
	logPath := filepath.Join(e.Dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("log of %s: %w", name, err)
	}
	cmd := exec.Command(filepath.Join(e.opts.BinDir, name), args...)
	cmd.Dir = e.Dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), env...)
	// Backstop for a test binary that dies without running Close.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = logFile.Close()
		close(p.done)
	}()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		_ = cmd.Process.Kill()
		return errors.New("kubeenv closed while starting")
	}
	e.procs = append(e.procs, p)
	return nil
}

// alive fails when a component has exited, with the end of its log.
func (e *Env) alive() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range e.procs {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited (%v); its log ends:\n%s", p.name, p.err, tail(p.log, 15))
		default:
		}
	}
	return nil
}

// Alive reports a component that exited since Start.
func (e *Env) Alive() error { return e.alive() }

func (e *Env) waitTCP(ctx context.Context, name, addr string) error {
	return e.poll(ctx, name+" listening on "+addr, func(ctx context.Context) (bool, error) {
		var d net.Dialer
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		conn, err := d.DialContext(dctx, "tcp", addr)
		if err != nil {
			return false, nil
		}
		_ = conn.Close()
		return true, nil
	})
}

func (e *Env) waitReady(ctx context.Context) error {
	cs, err := e.Clientset()
	if err != nil {
		return err
	}
	return e.poll(ctx, "API server /readyz", func(ctx context.Context) (bool, error) {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(rctx)
		return err == nil && bytes.Equal(bytes.TrimSpace(body), []byte("ok")), nil
	})
}

// poll checks cond every 200 ms until it holds, a component dies or StartTimeout
// passes.
func (e *Env) poll(ctx context.Context, what string, cond func(context.Context) (bool, error)) error {
	return waitfor.Until(ctx, what, e.opts.StartTimeout, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		if ok, err := cond(ctx); err != nil || ok {
			return ok, err
		}
		return false, e.alive()
	})
}

// Close ends every component (SIGTERM, SIGKILL after 5 s) in reverse start order and
// removes the temp dir. It is idempotent; a second caller (Ctrl-C watcher and defer)
// waits until the first is done.
func (e *Env) Close() error {
	e.closeOnce.Do(e.close)
	return e.closeErr
}

func (e *Env) close() {
	e.mu.Lock()
	e.closed = true
	procs := e.procs
	e.mu.Unlock()
	if e.stopWatch != nil {
		e.stopWatch()
	}
	var errs []error
	for i := len(procs) - 1; i >= 0; i-- {
		p := procs[i]
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	if err := os.RemoveAll(e.Dir); err != nil {
		errs = append(errs, fmt.Errorf("remove %s: %w", e.Dir, err))
	}
	e.closeErr = errors.Join(errs...)
}

// freePorts asks the kernel for n free loopback ports. Another process could take
// one before the component binds it; the component then fails to start and says so.
func freePorts(n int) ([]int, error) {
	var ports []int
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func tail(path string, lines int) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	all := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}
