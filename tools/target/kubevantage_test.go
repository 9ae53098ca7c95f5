package target

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/redis-shared/conformance/tools/loadgen"
	"github.com/redis-shared/conformance/tools/project"
	"github.com/redis-shared/conformance/tools/sandbox"
)

// The LAN of these tests exists only inside network namespaces the test creates; they
// have no route out, so nothing here reaches a real 192.168.x address.
const (
	testLANClient = "192.168.4.10/24"
	testLANServer = "192.168.4.200/24"
	// testLANSilent is a LAN address nobody holds: dials to it must end at the deadline.
	testLANSilent = "192.168.4.201:6379"
)

// newNS makes an unnamed network namespace with loopback up; it lives while its
// handle is open (closed at cleanup) or a process runs in it.
func newNS(t *testing.T) netns.NsHandle {
	t.Helper()
	var created netns.NsHandle
	done := make(chan error, 1)
	go func() {
		// netns.New switches the calling thread: do it on a thread of its own.
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			done <- err
			return
		}
		defer orig.Close()
		created, err = netns.New()
		if err != nil {
			done <- err
			return
		}
		if err := netns.Set(orig); err != nil {
			done <- err // the thread stays locked and ends with this goroutine
			return
		}
		runtime.UnlockOSThread()
		done <- nil
	}()
	if err := <-done; err != nil {
		t.Skipf("needs network namespaces (root, CAP_SYS_ADMIN): %v", err)
	}
	t.Cleanup(func() { _ = created.Close() })
	h, err := netlink.NewHandleAt(created)
	require.NoError(t, err)
	defer h.Close()
	lo, err := h.LinkByName("lo")
	require.NoError(t, err)
	require.NoError(t, h.LinkSetUp(lo))
	return created
}

// nsHost is a hostNetwork inside a namespace of the test.
type nsHost struct{ ns netns.NsHandle }

func (h nsHost) Addrs() ([]netip.Prefix, error) {
	nl, err := netlink.NewHandleAt(h.ns)
	if err != nil {
		return nil, err
	}
	defer nl.Close()
	addrs, err := nl.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return nil, err
	}
	var out []netip.Prefix
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.IPNet.String()); err == nil {
			out = append(out, p)
		}
	}
	return out, nil
}

func (h nsHost) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var conn net.Conn
	err := sandbox.InNetNSHandle(h.ns, func() error {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		conn = c
		return err
	})
	if err != nil {
		if conn != nil {
			_ = conn.Close()
		}
		return nil, err
	}
	return conn, nil
}

// lanPair joins two namespaces with a veth pair: a LAN host and the LoadBalancer.
func lanPair(t *testing.T, client, server netns.NsHandle) {
	t.Helper()
	h, err := netlink.NewHandleAt(client)
	require.NoError(t, err)
	defer h.Close()
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "lan0"}, PeerName: "lan1", PeerNamespace: netlink.NsFd(int(server))}
	require.NoError(t, h.LinkAdd(veth))
	setAddr := func(h *netlink.Handle, link, cidr string) {
		l, err := h.LinkByName(link)
		require.NoError(t, err)
		a, err := netlink.ParseAddr(cidr)
		require.NoError(t, err)
		require.NoError(t, h.AddrAdd(l, a))
		require.NoError(t, h.LinkSetUp(l))
	}
	setAddr(h, "lan0", testLANClient)
	hs, err := netlink.NewHandleAt(server)
	require.NoError(t, err)
	defer hs.Close()
	setAddr(hs, "lan1", testLANServer)
}

// startRedis runs a real redis-server with a password, in ns when ns is open, and
// waits until it answers from dial.
func startRedis(t *testing.T, ns *netns.NsHandle, bind string, port int, password string, dial func(ctx context.Context, network, addr string) (net.Conn, error)) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("needs redis-server (make deps installs it): " + err.Error())
	}
	dir := t.TempDir()
	cmd := exec.Command(bin, "--bind", bind, "--port", strconv.Itoa(port), "--requirepass", password,
		"--save", "", "--appendonly", "no", "--dir", dir, "--protected-mode", "no", "--logfile", filepath.Join(dir, "redis.log"))
	start := cmd.Start
	if ns != nil {
		start = func() error { return sandbox.InNetNSHandle(*ns, cmd.Start) }
	}
	require.NoError(t, start(), "start redis-server")
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr := net.JoinHostPort(bind, strconv.Itoa(port))
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		c, err := dial(ctx, "tcp", addr)
		if err != nil {
			return false
		}
		_ = c.Close()
		return true
	}, 10*time.Second, 50*time.Millisecond, "redis-server at %s; log: %s", addr, readFile(filepath.Join(dir, "redis.log")))
}

func readFile(path string) string {
	raw, _ := os.ReadFile(path)
	return string(raw)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// rawPing sends PING on a raw connection and returns the first reply line.
func rawPing(t *testing.T, conn net.Conn) string {
	t.Helper()
	require.NoError(t, conn.SetDeadline(time.Now().Add(2*time.Second)))
	_, err := conn.Write([]byte("*1\r\n$4\r\nPING\r\n"))
	require.NoError(t, err)
	line, err := bufio.NewReader(conn).ReadString('\n')
	require.NoError(t, err)
	return line
}

func TestKubeLANVantage(t *testing.T) {
	ctx := context.Background()
	client, server, offLAN := newNS(t), newNS(t), newNS(t)
	lanPair(t, client, server)
	host := nsHost{client}
	startRedis(t, &server, "192.168.4.200", project.RedisPort, testPassword, host.DialContext)

	k := fakeKube(t, deployment(), nil)
	k.host = host
	ep, err := k.Endpoints(ctx)
	require.NoError(t, err)
	require.Equal(t, "192.168.4.200:6379", ep.LoadBalancer)

	t.Run("connects, authenticates and pings the LoadBalancer", func(t *testing.T) {
		c, err := k.Client(LAN, ep.LoadBalancer, Valid)
		require.NoError(t, err)
		defer c.Close()
		assert.Equal(t, "PONG", c.Ping(ctx).Val())
		require.NoError(t, c.Set(ctx, "conformance:test:lan", "v", time.Minute).Err())
		assert.Equal(t, "v", c.Get(ctx, "conformance:test:lan").Val())
	})
	t.Run("rejected credentials stay rejected", func(t *testing.T) {
		for _, creds := range []Credentials{NoPassword, WrongPassword, UnknownUser} {
			c, err := k.Client(LAN, ep.LoadBalancer, creds)
			require.NoError(t, err)
			err = c.Ping(ctx).Err()
			_ = c.Close()
			require.Error(t, err, creds.String())
			assert.Regexp(t, "NOAUTH|WRONGPASS", err.Error(), creds.String())
			assert.NotContains(t, err.Error(), testPassword)
		}
	})
	t.Run("raw dial", func(t *testing.T) {
		conn, err := k.Dial(ctx, LAN, ep.LoadBalancer)
		require.NoError(t, err)
		defer conn.Close()
		assert.Contains(t, rawPing(t, conn), "NOAUTH")
	})
	t.Run("load dialer", func(t *testing.T) {
		d, err := k.LoadDialer(LAN, ep.LoadBalancer, 2)
		require.NoError(t, err)
		defer d.Close()
		conn, err := d.Dial(ctx)
		require.NoError(t, err)
		defer conn.Close()
		ops := []loadgen.Op{{Kind: loadgen.OpSet, Key: "conformance:test:load", Value: []byte("x"), TTL: time.Minute}, {Kind: loadgen.OpGet, Key: "conformance:test:load"}}
		require.NoError(t, conn.Exec(ctx, ops))
		assert.NoError(t, ops[0].Err)
		assert.NoError(t, ops[1].Err)
	})
	t.Run("only LAN addresses", func(t *testing.T) {
		_, err := k.Dial(ctx, LAN, ep.Master)
		assert.ErrorContains(t, err, "only addresses inside 192.168.4.0/24")
	})
	t.Run("deadline without one from the caller", func(t *testing.T) {
		began := time.Now()
		_, err := k.Dial(ctx, LAN, testLANSilent)
		require.Error(t, err)
		assert.Less(t, time.Since(began), dialTimeout+time.Second, "a dial to a silent LAN address ends at the deadline")
	})
	t.Run("reads have a deadline", func(t *testing.T) {
		// A listener that accepts and never answers, on the LAN server's address.
		var ln net.Listener
		require.NoError(t, sandbox.InNetNSHandle(server, func() error {
			var err error
			ln, err = net.Listen("tcp", "192.168.4.200:6380")
			return err
		}))
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
			}
		}()
		c, err := k.Client(LAN, "192.168.4.200:6380", NoPassword)
		require.NoError(t, err)
		defer c.Close()
		began := time.Now()
		assert.Error(t, c.Ping(ctx).Err())
		assert.Less(t, time.Since(began), ioTimeout+time.Second)
	})
	t.Run("a machine off the LAN says so", func(t *testing.T) {
		off := fakeKube(t, deployment(), nil)
		off.host = nsHost{offLAN}
		_, err := off.Client(LAN, ep.LoadBalancer, Valid)
		reason, ok := IsUnsupported(err)
		require.True(t, ok, "want UnsupportedError, got %v", err)
		assert.Equal(t, "this machine has no address in 192.168.4.0/24: run from a LAN host or give --lan-via host:port (LAN_VIA=, a SOCKS5 proxy on a LAN host) for SC-003", reason)
		_, err = off.Dial(ctx, LAN, ep.LoadBalancer)
		_, ok = IsUnsupported(err)
		assert.True(t, ok)
		_, err = off.LoadDialer(LAN, ep.LoadBalancer, 1)
		_, ok = IsUnsupported(err)
		assert.True(t, ok)
	})
}

// socksServer is a minimal SOCKS5 server (no auth, CONNECT) on loopback that records
// where it connected to.
type socksServer struct {
	ln      net.Listener
	mu      sync.Mutex
	targets []string
	// redirect sends a CONNECT to a key to its value instead (a loopback stand-in
	// for a LAN address, so no test traffic leaves this machine).
	redirect map[string]string
}

func startSOCKS(t *testing.T) *socksServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &socksServer{ln: ln}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *socksServer) Addr() string { return s.ln.Addr().String() }

func (s *socksServer) Targets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.targets...)
}

func (s *socksServer) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	head := make([]byte, 2)
	if _, err := io.ReadFull(r, head); err != nil || head[0] != 5 {
		return
	}
	if _, err := io.ReadFull(r, make([]byte, head[1])); err != nil {
		return
	}
	_, _ = c.Write([]byte{5, 0}) // no authentication
	req := make([]byte, 4)
	if _, err := io.ReadFull(r, req); err != nil || req[1] != 1 {
		return
	}
	var host string
	switch req[3] {
	case 1:
		ip := make([]byte, 4)
		if _, err := io.ReadFull(r, ip); err != nil {
			return
		}
		host = net.IP(ip).String()
	case 3:
		n, err := r.ReadByte()
		if err != nil {
			return
		}
		name := make([]byte, n)
		if _, err := io.ReadFull(r, name); err != nil {
			return
		}
		host = string(name)
	default:
		return
	}
	portRaw := make([]byte, 2)
	if _, err := io.ReadFull(r, portRaw); err != nil {
		return
	}
	target := net.JoinHostPort(host, strconv.Itoa(int(binary.BigEndian.Uint16(portRaw))))
	s.mu.Lock()
	s.targets = append(s.targets, target)
	s.mu.Unlock()
	dial := target
	if to, ok := s.redirect[target]; ok {
		dial = to
	}
	up, err := net.DialTimeout("tcp", dial, time.Second)
	if err != nil {
		_, _ = c.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0}) // connection refused
		return
	}
	defer up.Close()
	_, _ = c.Write([]byte{5, 0, 0, 1, 0, 0, 0, 0, 0, 0})
	_ = c.SetDeadline(time.Time{})
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, r); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
}

func TestKubeOutsideVantage(t *testing.T) {
	ctx := context.Background()
	port := freePort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	startRedis(t, nil, "127.0.0.1", port, testPassword, localHost{}.DialContext)
	socks := startSOCKS(t)

	k := fakeKube(t, deployment(), nil)
	k.opts.OutsideVia = socks.Addr()

	c, err := k.Client(Outside, addr, Valid)
	require.NoError(t, err)
	assert.Equal(t, "PONG", c.Ping(ctx).Val())
	require.NoError(t, c.Close())
	c, err = k.Client(Outside, addr, WrongPassword)
	require.NoError(t, err)
	assert.ErrorContains(t, c.Ping(ctx).Err(), "WRONGPASS")
	require.NoError(t, c.Close())
	conn, err := k.Dial(ctx, Outside, addr)
	require.NoError(t, err)
	assert.Contains(t, rawPing(t, conn), "NOAUTH")
	require.NoError(t, conn.Close())
	assert.Equal(t, []string{addr, addr, addr}, socks.Targets(), "every outside connection went through the proxy")

	t.Run("the proxy cannot connect", func(t *testing.T) {
		closed := net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
		_, err := k.Dial(ctx, Outside, closed)
		assert.ErrorContains(t, err, "from outside (through "+socks.Addr()+")")
	})
	t.Run("the proxy is down", func(t *testing.T) {
		down := fakeKube(t, deployment(), nil)
		down.opts.OutsideVia = net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))
		began := time.Now()
		_, err := down.Dial(ctx, Outside, addr)
		assert.ErrorContains(t, err, "connection refused")
		assert.Less(t, time.Since(began), dialTimeout+time.Second)
	})
	t.Run("a proxy that never answers", func(t *testing.T) {
		// Accepts the TCP connection and stays silent: the SOCKS5 handshake must end
		// at the dial deadline, not hang.
		silent, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer silent.Close()
		go func() {
			for {
				c, err := silent.Accept()
				if err != nil {
					return
				}
				defer c.Close()
			}
		}()
		hung := fakeKube(t, deployment(), nil)
		hung.opts.OutsideVia = silent.Addr().String()
		began := time.Now()
		_, err = hung.Dial(ctx, Outside, addr)
		require.Error(t, err)
		assert.Less(t, time.Since(began), dialTimeout+time.Second)
	})
	t.Run("no outside vantage named", func(t *testing.T) {
		none := fakeKube(t, deployment(), nil)
		for _, err := range []error{
			func() error { _, err := none.Dial(ctx, Outside, addr); return err }(),
			func() error { _, err := none.Client(Outside, addr, Valid); return err }(),
			func() error { _, err := none.LoadDialer(Outside, addr, 1); return err }(),
		} {
			reason, ok := IsUnsupported(err)
			require.True(t, ok, "want UnsupportedError, got %v", err)
			assert.Equal(t, "no outside vantage point: give --outside-via host:port (a SOCKS5 proxy outside 192.168.4.0/24, e.g. ssh -D); SC-004 from outside stays unproven", reason)
		}
	})
}

func TestParseOutsideVia(t *testing.T) {
	tests := []struct {
		via     string
		wantErr string
	}{
		{via: "127.0.0.1:1080"},
		{via: "vps.example.org:1080"},
		{via: "[2001:db8::1]:1080"},
		{via: "vps.example.org", wantErr: "want host:port"},
		{via: ":1080", wantErr: "want host:port"},
		{via: "vps:socks", wantErr: `port "socks" is not 1-65535`},
		{via: "vps:0", wantErr: "is not 1-65535"},
		{via: "192.168.4.7:1080", wantErr: "inside the LAN 192.168.4.0/24, not an outside vantage point"},
	}
	for _, tc := range tests {
		t.Run(tc.via, func(t *testing.T) {
			err := ParseOutsideVia(tc.via)
			if tc.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tc.wantErr)
			_, unsupported := IsUnsupported(err)
			assert.False(t, unsupported, "a bad flag is an error, not a skip")
		})
	}
}

// A mistyped --outside-via stops the run before anything is dialled or read.
func TestOpenKubeRejectsBadOutsideVia(t *testing.T) {
	_, err := OpenKube(context.Background(), KubeOptions{Kubeconfig: filepath.Join(t.TempDir(), "none"), OutsideVia: "vps"})
	assert.ErrorContains(t, err, `open kube target: --outside-via "vps": want host:port`)
}
