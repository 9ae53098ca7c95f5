// Package localredis runs a throw-away redis-server on loopback for tests and
// benchmarks: random port, password, AOF on, data in a caller-owned directory.
package localredis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Binary is the server executable looked up on PATH.
const Binary = "redis-server"

// Options configure Start. Dir is required and owned by the caller.
type Options struct {
	Dir string
	// Password defaults to a random one.
	Password string
	// AppendFsync defaults to "everysec" (the chart's effective default).
	AppendFsync string
	// ReadyTimeout bounds the wait for the first PING; default 10 s.
	ReadyTimeout time.Duration
	// Settings are more redis.conf lines after the defaults (a later line wins).
	Settings []string
}

// Server is one running redis-server.
type Server struct {
	Addr         string
	Password     string
	Dir          string
	conf         string
	readyTimeout time.Duration
	mu           sync.Mutex // guards cmd, exited and waitErr across Kill and Restart
	cmd          *exec.Cmd
	exited       chan struct{}
	waitErr      error
}

// Available reports whether redis-server is on PATH, with the reason when not.
func Available() (bool, string) {
	if _, err := exec.LookPath(Binary); err != nil {
		return false, fmt.Sprintf("%s not on PATH (make deps installs the Debian package redis-server): %v", Binary, err)
	}
	return true, ""
}

// Start launches redis-server on 127.0.0.1 and waits until it answers PING with
// the password. The password lives only in a 0600 config file in opts.Dir.
func Start(ctx context.Context, opts Options) (*Server, error) {
	// The free port is found by binding and releasing it, so another process can
	// take it before redis-server binds: try a few ports before giving up.
	const attempts = 3
	var err error
	for range attempts {
		var srv *Server
		if srv, err = start(ctx, opts); err == nil {
			return srv, nil
		}
		if !strings.Contains(err.Error(), "Address already in use") {
			return nil, err
		}
	}
	return nil, fmt.Errorf("start redis-server: %d ports taken in turn: %w", attempts, err)
}

func start(ctx context.Context, opts Options) (*Server, error) {
	if opts.Dir == "" {
		return nil, errors.New("start redis-server: data dir is required")
	}
	if opts.Password == "" {
		pw, err := randomPassword()
		if err != nil {
			return nil, err
		}
		opts.Password = pw
	}
	if opts.AppendFsync == "" {
		opts.AppendFsync = "everysec"
	}
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = 10 * time.Second
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	conf := strings.Join(append([]string{
		"bind 127.0.0.1",
		"port " + strconv.Itoa(port),
		"protected-mode yes",
		"daemonize no",
		"dir " + opts.Dir,
		"logfile " + filepath.Join(opts.Dir, "redis.log"),
		"save \"\"",
		"appendonly yes",
		"appendfsync " + opts.AppendFsync,
		"requirepass " + opts.Password,
	}, opts.Settings...), "\n") + "\n"
	confPath := filepath.Join(opts.Dir, "redis.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		return nil, fmt.Errorf("write redis config: %w", err)
	}
	s := &Server{
		Addr:         net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Password:     opts.Password,
		Dir:          opts.Dir,
		conf:         confPath,
		readyTimeout: opts.ReadyTimeout,
	}
	if err := s.run(ctx); err != nil {
		if s.cmd != nil {
			_ = s.Stop()
		}
		return nil, err
	}
	return s, nil
}

// run starts the process on s's config and waits until it answers PING.
func (s *Server) run(ctx context.Context) error {
	// Not CommandContext: the caller stops the server explicitly (Stop), so a
	// short start-up context does not kill it later.
	cmd := exec.Command(Binary, s.conf)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", Binary, err)
	}
	exited := make(chan struct{})
	s.cmd, s.exited = cmd, exited
	go func() {
		s.waitErr = cmd.Wait()
		close(exited)
	}()
	return s.waitReady(ctx, s.readyTimeout)
}

// Kill ends the server with SIGKILL (no shutdown save, no AOF flush) and waits for it.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.exited:
	default:
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// Restart starts a killed or stopped server again on the same port, config and
// data, and waits until it answers PING.
func (s *Server) Restart(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.run(ctx)
}

func (s *Server) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := s.Client()
	defer client.Close()
	for {
		pingCtx, pingCancel := context.WithTimeout(ctx, 200*time.Millisecond)
		err := client.Ping(pingCtx).Err()
		pingCancel()
		if err == nil {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("redis-server exited during start-up (%v); log: %s", s.waitErr, s.logTail())
		case <-ctx.Done():
			return fmt.Errorf("redis-server on %s not ready within %s: %w", s.Addr, timeout, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Client returns a go-redis client for the server (caller closes it).
func (s *Server) Client() *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr:            s.Addr,
		Password:        s.Password,
		DialTimeout:     time.Second,
		ReadTimeout:     2 * time.Second,
		WriteTimeout:    2 * time.Second,
		DisableIdentity: true,
		MaintNotificationsConfig: &maintnotifications.Config{
			Mode: maintnotifications.ModeDisabled,
		},
	})
}

// Pid is the server's process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Stop terminates the server (SIGTERM, then SIGKILL after 5 s) and waits for it.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.exited:
		return nil
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		return nil
	case <-time.After(5 * time.Second):
	}
	if err := s.cmd.Process.Kill(); err != nil {
		return fmt.Errorf("kill redis-server %d: %w", s.Pid(), err)
	}
	<-s.exited
	return nil
}

func (s *Server) logTail() string {
	b, err := os.ReadFile(filepath.Join(s.Dir, "redis.log"))
	if err != nil {
		return "(no log)"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-5):], " | ")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomPassword() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate password: %w", err)
	}
	return hex.EncodeToString(b), nil
}
