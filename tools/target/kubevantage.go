package target

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"github.com/redis/go-redis/v9"
	"golang.org/x/net/proxy"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/redis-shared/conformance/tools/catalog"
	"github.com/redis-shared/conformance/tools/loadgen"
	"github.com/redis-shared/conformance/tools/project"
)

// The kube target's LAN and outside vantage points (SC-003, SC-004, FR-004, FR-005):
// the LAN is this machine when it has an address inside the LAN CIDR of the catalog,
// and it dials the LoadBalancer address directly; the outside is a SOCKS5 proxy on a
// machine outside the LAN that the user names (--outside-via, e.g. `ssh -D`).

// hostNetwork is the network of the machine the suite runs on. Tests put it inside a
// network namespace of their own; nil in Kube means this machine's.
type hostNetwork interface {
	// Addrs lists the machine's interface addresses.
	Addrs() ([]netip.Prefix, error)
	// DialContext opens a connection from the machine.
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// localHost is the machine the suite runs on.
type localHost struct{}

func (localHost) Addrs() ([]netip.Prefix, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("list interface addresses: %w", err)
	}
	var out []netip.Prefix
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, p)
		}
	}
	return out, nil
}

func (localHost) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

func (k *Kube) hostNet() hostNetwork {
	if k.host != nil {
		return k.host
	}
	return localHost{}
}

// withDeadline bounds a dial by dialTimeout when the caller's context has no deadline.
func withDeadline(dial loadgen.DialFunc) loadgen.DialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, dialTimeout)
			defer cancel()
		}
		return dial(ctx, network, addr)
	}
}

// lanCIDR is the spec's LAN (FR-005's bound in the catalog).
func lanCIDR() (netip.Prefix, error) {
	cat, err := catalog.Load()
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("LAN vantage: %w", err)
	}
	bound, err := cat.Bound("FR-005", "lan_cidr")
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("LAN vantage: %w", err)
	}
	lan, err := netip.ParsePrefix(bound.Text())
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("LAN vantage: catalog FR-005 lan_cidr %q: %w", bound.Text(), err)
	}
	return lan, nil
}

// vantageDialer returns the dial function of the LAN or outside vantage point, or an
// UnsupportedError saying why this run has none.
func (k *Kube) vantageDialer(from Vantage) (loadgen.DialFunc, error) {
	switch from {
	case LAN:
		return k.lanDialer()
	case Outside:
		return k.outsideDialer()
	default:
		return nil, fmt.Errorf("kube target: vantage point %q is not LAN or outside", from)
	}
}

// lanDialer dials from this machine, when it sits on the LAN, and only to addresses
// inside the LAN: a LAN host reaches the LoadBalancer, not cluster-internal names.
func (k *Kube) lanDialer() (loadgen.DialFunc, error) {
	lan, err := lanCIDR()
	if err != nil {
		return nil, err
	}
	if k.opts.LANVia != "" {
		return k.lanViaDialer(lan)
	}
	host := k.hostNet()
	addrs, err := host.Addrs()
	if err != nil {
		return nil, fmt.Errorf("LAN vantage: %w", err)
	}
	onLAN := false
	for _, a := range addrs {
		if lan.Contains(a.Addr()) {
			onLAN = true
			break
		}
	}
	if !onLAN {
		return nil, Unsupported("this machine has no address in %s: run from a LAN host or give --lan-via host:port (LAN_VIA=, a SOCKS5 proxy on a LAN host) for SC-003", lan)
	}
	return withDeadline(func(ctx context.Context, network, addr string) (net.Conn, error) {
		hostPart, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("dial %s from the LAN: %w", addr, err)
		}
		ip, err := netip.ParseAddr(hostPart)
		if err != nil || !lan.Contains(ip) {
			return nil, fmt.Errorf("dial %s from the LAN: only addresses inside %s (the LoadBalancer) are dialled from a LAN host", addr, lan)
		}
		conn, err := host.DialContext(ctx, network, addr)
		if err != nil {
			return nil, fmt.Errorf("dial %s from the LAN: %w", addr, err)
		}
		return conn, nil
	}), nil
}

// ParseLANVia checks a LAN vantage point: host:port of a SOCKS5 proxy on a LAN host.
// The proxy itself is often reached through a local tunnel (127.0.0.1:1081 of
// `ssh -D 1081 lanhost`), so its address is not required to be inside the LAN.
func ParseLANVia(via string) error {
	host, port, err := net.SplitHostPort(via)
	if err != nil || host == "" {
		return fmt.Errorf("--lan-via %q: want host:port of a SOCKS5 proxy on a LAN host (e.g. 127.0.0.1:1081 of `ssh -D 1081 lanhost`)", via)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("--lan-via %q: port %q is not 1-65535", via, port)
	}
	return nil
}

// lanViaDialer dials through the SOCKS5 proxy of KubeOptions.LANVia: the connection
// starts on the LAN host, and only to addresses inside the LAN, as from this machine.
func (k *Kube) lanViaDialer(lan netip.Prefix) (loadgen.DialFunc, error) {
	via := k.opts.LANVia
	if err := ParseLANVia(via); err != nil {
		return nil, err
	}
	socks, err := proxy.SOCKS5("tcp", via, nil, forwardDialer{k.hostNet()})
	if err != nil {
		return nil, fmt.Errorf("LAN vantage %s: %w", via, err)
	}
	cd, ok := socks.(proxy.ContextDialer)
	if !ok {
		return nil, fmt.Errorf("LAN vantage %s: the SOCKS5 dialer takes no context", via)
	}
	return withDeadline(func(ctx context.Context, network, addr string) (net.Conn, error) {
		hostPart, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("dial %s from the LAN (through %s): %w", addr, via, err)
		}
		ip, err := netip.ParseAddr(hostPart)
		if err != nil || !lan.Contains(ip) {
			return nil, fmt.Errorf("dial %s from the LAN (through %s): only addresses inside %s (the LoadBalancer) are dialled from a LAN host", addr, via, lan)
		}
		conn, err := cd.DialContext(ctx, network, addr)
		if err != nil {
			return nil, fmt.Errorf("dial %s from the LAN (through %s): %w", addr, via, err)
		}
		return conn, nil
	}), nil
}

// ParseOutsideVia checks an outside vantage point: host:port of a SOCKS5 proxy. An
// address inside the LAN is refused: it would not be outside.
func ParseOutsideVia(via string) error {
	host, port, err := net.SplitHostPort(via)
	if err != nil || host == "" {
		return fmt.Errorf("--outside-via %q: want host:port of a SOCKS5 proxy outside the LAN (e.g. 127.0.0.1:1080 of `ssh -D 1080 vps`)", via)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("--outside-via %q: port %q is not 1-65535", via, port)
	}
	lan, err := lanCIDR()
	if err != nil {
		return err
	}
	if ip, err := netip.ParseAddr(host); err == nil && lan.Contains(ip) {
		return fmt.Errorf("--outside-via %q: %s is inside the LAN %s, not an outside vantage point", via, host, lan)
	}
	return nil
}

// outsideDialer dials through the SOCKS5 proxy of KubeOptions.OutsideVia: the
// connection to the target starts on the proxy's machine.
func (k *Kube) outsideDialer() (loadgen.DialFunc, error) {
	via := k.opts.OutsideVia
	if via == "" {
		lan, err := lanCIDR()
		if err != nil {
			return nil, err
		}
		return nil, Unsupported("no outside vantage point: give --outside-via host:port (a SOCKS5 proxy outside %s, e.g. ssh -D); SC-004 from outside stays unproven", lan)
	}
	if err := ParseOutsideVia(via); err != nil {
		return nil, err
	}
	host := k.hostNet()
	socks, err := proxy.SOCKS5("tcp", via, nil, forwardDialer{host})
	if err != nil {
		return nil, fmt.Errorf("outside vantage %s: %w", via, err)
	}
	cd, ok := socks.(proxy.ContextDialer)
	if !ok {
		return nil, fmt.Errorf("outside vantage %s: the SOCKS5 dialer takes no context", via)
	}
	return withDeadline(func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := cd.DialContext(ctx, network, addr)
		if err != nil {
			return nil, fmt.Errorf("dial %s from outside (through %s): %w", addr, via, err)
		}
		return conn, nil
	}), nil
}

// forwardDialer reaches the SOCKS5 proxy from this machine.
type forwardDialer struct{ host hostNetwork }

func (f forwardDialer) Dial(network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	return f.host.DialContext(ctx, network, addr)
}

func (f forwardDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return f.host.DialContext(ctx, network, addr)
}

// password reads the deployment's password from its Secret; it stays in the target.
func (k *Kube) password(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, kubeCallTimeout)
	defer cancel()
	s, err := k.cs.CoreV1().Secrets(project.Namespace).Get(ctx, project.AuthSecret, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("kube target: read the password from Secret %s/%s: %w", project.Namespace, project.AuthSecret, err)
	}
	pw := s.Data[project.AuthPasswordKey]
	if len(pw) == 0 {
		return "", fmt.Errorf("kube target: Secret %s/%s has no key %s", project.Namespace, project.AuthSecret, project.AuthPasswordKey)
	}
	return string(pw), nil
}

func randomBogus() (string, error) {
	var raw [12]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("random text: %w", err)
	}
	return hex.EncodeToString(raw[:]), nil
}

// dialFrom opens a raw TCP connection from the LAN or outside vantage point.
func (k *Kube) dialFrom(ctx context.Context, from Vantage, addr string) (net.Conn, error) {
	dial, err := k.vantageDialer(from)
	if err != nil {
		return nil, err
	}
	return dial(ctx, "tcp", addr)
}

// clientFrom returns a go-redis client from the LAN or outside vantage point, with the
// same deadlines and no-retry settings as the sandbox's clients.
func (k *Kube) clientFrom(from Vantage, addr string, creds Credentials) (*redis.Client, error) {
	dial, err := k.vantageDialer(from)
	if err != nil {
		return nil, err
	}
	password := ""
	if creds == Valid {
		if password, err = k.password(context.Background()); err != nil {
			return nil, err
		}
	}
	bogus, err := randomBogus()
	if err != nil {
		return nil, err
	}
	return redis.NewClient(clientOptions(addr, dial, creds, password, bogus)), nil
}

// loadDialerFrom returns a load-generator dialer from the LAN or outside vantage point.
func (k *Kube) loadDialerFrom(from Vantage, addr string, conns int) (loadgen.Dialer, error) {
	dial, err := k.vantageDialer(from)
	if err != nil {
		return nil, err
	}
	password, err := k.password(context.Background())
	if err != nil {
		return nil, err
	}
	return loadgen.NewDialer(loadgen.DefaultClient, loadgen.Endpoint{
		Addr:         addr,
		Password:     password,
		DialTimeout:  dialTimeout,
		ReadTimeout:  ioTimeout,
		WriteTimeout: ioTimeout,
		DialContext:  dial,
	}, conns)
}
