package loadgen

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRESPEncodesSetWithTTLAndGet(t *testing.T) {
	buf := appendSetPX(nil, "run:1", []byte("abc"), 60000)
	buf = appendGet(buf, "run:2")
	buf = AppendCommand(buf, "AUTH", "user", "pw")

	assert.Equal(t,
		"*5\r\n$3\r\nSET\r\n$5\r\nrun:1\r\n$3\r\nabc\r\n$2\r\nPX\r\n$5\r\n60000\r\n"+
			"*2\r\n$3\r\nGET\r\n$5\r\nrun:2\r\n"+
			"*3\r\n$4\r\nAUTH\r\n$4\r\nuser\r\n$2\r\npw\r\n",
		string(buf))
}

func TestRESPReadsReplies(t *testing.T) {
	tests := []struct {
		name      string
		wire      string
		wantReply string // "" for no server error
		wantErr   string
	}{
		{name: "ok", wire: "+OK\r\n"},
		{name: "integer", wire: ":3\r\n"},
		{name: "bulk value", wire: "$5\r\nhello\r\n"},
		{name: "empty bulk", wire: "$0\r\n\r\n"},
		{name: "miss", wire: "$-1\r\n"},
		{name: "server error", wire: "-OOM command not allowed\r\n", wantReply: "OOM command not allowed"},
		{name: "array is not ours", wire: "*2\r\n", wantErr: "unexpected RESP reply"},
		{name: "bad bulk length", wire: "$x\r\n", wantErr: "bulk length"},
		{name: "bare newline", wire: "+OK\n", wantErr: "unexpected RESP reply"},
		{name: "truncated bulk", wire: "$10\r\nabc", wantErr: "EOF"},
		{name: "nothing", wire: "", wantErr: "EOF"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &respConn{rd: bufio.NewReader(strings.NewReader(tc.wire)), ep: Endpoint{Addr: "127.0.0.1:1"}}

			reply, err := c.readReply()

			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			if tc.wantReply == "" {
				assert.NoError(t, reply)
			} else {
				assert.Equal(t, ServerError(tc.wantReply), reply)
			}
		})
	}
}

// silentServer accepts connections on loopback, answers the handshake and then
// never replies again, like a server that hangs.
func silentServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_, _ = conn.Write([]byte("+PONG\r\n"))
				_, _ = io.Copy(io.Discard, conn)
			}()
		}
	}()
	return l.Addr().String()
}

func TestRESPCallsEndAtTheirDeadlineOrOnCancel(t *testing.T) {
	tests := []struct {
		name        string
		readTimeout time.Duration
		cancelAfter time.Duration
		wantErr     string
	}{
		{"read deadline", 100 * time.Millisecond, 0, "timeout"},
		{"context cancelled", time.Hour, 50 * time.Millisecond, "timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dialer := NewRESPDialer(Endpoint{Addr: silentServer(t), ReadTimeout: tc.readTimeout})
			ctx := t.Context()
			if tc.cancelAfter > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				time.AfterFunc(tc.cancelAfter, cancel)
			}
			conn, err := dialer.Dial(ctx)
			require.NoError(t, err)
			defer conn.Close()

			err = conn.Exec(ctx, []Op{{Kind: OpGet, Key: "run:1"}})

			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}

func TestRenewBy(t *testing.T) {
	now := time.Unix(1000, 0)
	tests := []struct {
		name     string
		deadline time.Time
		want     bool
	}{
		{"never set", time.Time{}, true},
		{"passed", now.Add(-time.Second), true},
		{"less than half left", now.Add(900 * time.Millisecond), true},
		{"more than half left", now.Add(1100 * time.Millisecond), false},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, renewBy(tc.deadline, now, 2*time.Second), tc.name)
	}
}

// FuzzReadReply: server replies are outside input; reading one must give a
// reply, a server error or an error, never panic.
func FuzzReadReply(f *testing.F) {
	for _, seed := range []string{"+OK\r\n", "$5\r\nhello\r\n", "$-1\r\n", "-ERR x\r\n", ":1\r\n", "*1\r\n", "$99999999999\r\n", "$-5\r\n", "*1\r\n:1\r\n", "*-1\r\n"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, wire string) {
		c := &respConn{rd: bufio.NewReader(strings.NewReader(wire)), ep: Endpoint{Addr: "127.0.0.1:1"}}
		_, _ = c.readReply()
		_, _ = ReadReply(bufio.NewReader(strings.NewReader(wire)))
	})
}

func TestReadReplyParsesEveryRESP2Type(t *testing.T) {
	tests := []struct {
		name string
		wire string
		want Reply
	}{
		{"simple", "+PONG\r\n", Reply{Type: '+', Text: "PONG"}},
		{"error", "-NOAUTH Authentication required.\r\n", Reply{Type: '-', Text: "NOAUTH Authentication required."}},
		{"integer", ":42\r\n", Reply{Type: ':', Text: "42"}},
		{"bulk", "$5\r\nhello\r\n", Reply{Type: '$', Text: "hello"}},
		{"nil bulk", "$-1\r\n", Reply{Type: '$', Nil: true}},
		{"array", "*2\r\n$1\r\na\r\n:1\r\n", Reply{Type: '*', Elements: []Reply{{Type: '$', Text: "a"}, {Type: ':', Text: "1"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadReply(bufio.NewReader(strings.NewReader(tc.wire)))
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestReadReplyRejectsMalformedInput(t *testing.T) {
	for _, wire := range []string{"PONG\r\n", "+PONG\n", "$x\r\n", "*-x\r\n", "$5\r\nab", "$999999999999\r\n"} {
		_, err := ReadReply(bufio.NewReader(strings.NewReader(wire)))
		assert.Error(t, err, "%q", wire)
	}
}
