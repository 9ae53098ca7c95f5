package target

import (
	"context"
	"net"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// LAN_VIA: the LAN vantage point through a SOCKS5 proxy on a LAN host. The proxy
// stand-in maps the LoadBalancer address to a loopback redis-server, so the whole
// path (SOCKS5 handshake, AUTH, PING) is real and nothing leaves this machine.
func TestKubeLANViaVantage(t *testing.T) {
	ctx := context.Background()
	port := freePort(t)
	redisAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	startRedis(t, nil, "127.0.0.1", port, testPassword, localHost{}.DialContext)
	const lb = "192.168.4.200:6379"
	socks := startSOCKS(t)
	socks.redirect = map[string]string{lb: redisAddr}

	k := fakeKube(t, deployment(), nil)
	k.opts.LANVia = socks.Addr()

	c, err := k.Client(LAN, lb, Valid)
	require.NoError(t, err)
	assert.Equal(t, "PONG", c.Ping(ctx).Val())
	require.NoError(t, c.Close())
	conn, err := k.Dial(ctx, LAN, lb)
	require.NoError(t, err)
	assert.Contains(t, rawPing(t, conn), "NOAUTH")
	require.NoError(t, conn.Close())
	assert.Equal(t, []string{lb, lb}, socks.Targets(), "every LAN connection went through the proxy")

	t.Run("only LAN addresses are dialled", func(t *testing.T) {
		_, err := k.Dial(ctx, LAN, redisAddr)
		assert.ErrorContains(t, err, "only addresses inside 192.168.4.0/24")
		assert.Equal(t, []string{lb, lb}, socks.Targets(), "the proxy was not asked")
	})
}

func TestParseLANVia(t *testing.T) {
	tests := []struct {
		via     string
		wantErr string
	}{
		{via: "127.0.0.1:1081"},
		{via: "lanhost.example:1080"},
		{via: "192.168.4.10:1080"},
		{via: "lanhost", wantErr: `--lan-via "lanhost": want host:port`},
		{via: ":1080", wantErr: `want host:port`},
		{via: "lanhost:0", wantErr: `port "0" is not 1-65535`},
	}
	for _, tc := range tests {
		t.Run(tc.via, func(t *testing.T) {
			err := ParseLANVia(tc.via)
			if tc.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tc.wantErr)
		})
	}
}
