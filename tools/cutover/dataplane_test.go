package cutover

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redis-shared/conformance/tools/loadgen/localredis"
)

func TestParseClientList(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		want    []ClientInfo
		wantErr string
	}{
		{
			name: "redis 7 lines with and without a name",
			text: "id=3 addr=10.244.0.40:51234 laddr=10.244.0.10:6379 fd=8 name=beersystem-pod-1 age=12 idle=0 flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=26 qbuf-free=20448 argv-mem=10 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 tot-mem=22298 events=r cmd=get user=default redir=-1 resp=2\n" +
				"id=5 addr=10.244.0.100:40000 laddr=10.244.0.10:6379 fd=9 name= age=0 idle=0 flags=N db=0 cmd=client|list user=default\n",
			want: []ClientInfo{
				{ID: 3, Addr: "10.244.0.40:51234", Name: "beersystem-pod-1", Age: 12 * time.Second, Idle: 0, Cmd: "get"},
				{ID: 5, Addr: "10.244.0.100:40000", Name: "", Cmd: "client|list"},
			},
		},
		{name: "empty reply", text: "", want: nil},
		{name: "CRLF and blank lines", text: "id=1 addr=127.0.0.1:1 age=1 idle=2 cmd=ping\r\n\r\n", want: []ClientInfo{{ID: 1, Addr: "127.0.0.1:1", Age: time.Second, Idle: 2 * time.Second, Cmd: "ping"}}},
		{name: "no id", text: "addr=127.0.0.1:1 cmd=ping\n", wantErr: "line 1"},
		{name: "id not a number", text: "id=x addr=127.0.0.1:1\n", wantErr: `id "x"`},
		{name: "field without =", text: "id=1 addr=127.0.0.1:1 garbage\n", wantErr: `field "garbage"`},
		{name: "negative age", text: "id=1 addr=127.0.0.1:1 age=-3\n", wantErr: "age"},
		{name: "empty addr", text: "id=1 addr=\n", wantErr: "empty addr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseClientList(tt.text)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestClientInfoIP(t *testing.T) {
	tests := []struct{ addr, want string }{
		{"10.244.0.40:51234", "10.244.0.40"},
		{"[::1]:6379", "::1"},
		{"/run/redis.sock:0", "/run/redis.sock"},
		{"no-port", "no-port"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, ClientInfo{Addr: tt.addr}.IP(), tt.addr)
	}
}

func TestParseCommandStats(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		want    CommandCounts
		wantErr string
	}{
		{
			name: "redis 7 section",
			text: "# Commandstats\r\ncmdstat_get:calls=10,usec=20,usec_per_call=2.00,rejected_calls=0,failed_calls=0\r\n" +
				"cmdstat_client|list:calls=2,usec=30,usec_per_call=15.00,rejected_calls=0,failed_calls=0\r\ncmdstat_SET:calls=4,usec=1\r\n",
			want: CommandCounts{"get": 10, "client|list": 2, "set": 4},
		},
		{name: "no command run yet", text: "# Commandstats\r\n", want: CommandCounts{}},
		{name: "not a cmdstat line", text: "redis_version:7.0.15\n", wantErr: "want cmdstat_"},
		{name: "no calls", text: "cmdstat_get:usec=1\n", wantErr: "no calls="},
		{name: "calls not a number", text: "cmdstat_get:calls=many\n", wantErr: `calls "many"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCommandStats(tt.text)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestCallsSince(t *testing.T) {
	tests := []struct {
		name          string
		before, after CommandCounts
		want          int64
	}{
		{name: "nothing new", before: CommandCounts{"get": 5}, after: CommandCounts{"get": 5}, want: 0},
		{name: "app commands count", before: CommandCounts{"get": 5, "set": 1}, after: CommandCounts{"get": 7, "set": 2, "expire": 1}, want: 4},
		{
			name:   "an observer's own commands do not",
			before: CommandCounts{"info": 1, "client|list": 1},
			after:  CommandCounts{"info": 9, "client|list": 4, "client|setname": 2, "ping": 3, "auth": 2, "hello": 1, "command|docs": 1, "client": 1},
			want:   0,
		},
		{name: "counters went back: a restart, all of after is new", before: CommandCounts{"get": 50}, after: CommandCounts{"get": 3}, want: 3},
		{name: "nil before", before: nil, after: CommandCounts{"get": 2}, want: 2},
		{name: "saturates instead of wrapping", before: nil, after: CommandCounts{"get": math.MaxInt64, "set": 5}, want: math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.after.CallsSince(tt.before))
		})
	}
}

func TestAppClientsMatch(t *testing.T) {
	app := ClientInfo{Addr: "10.244.0.40:5000", Name: "beersystem-pod-1"}
	unnamedApp := ClientInfo{Addr: "10.244.0.40:5001"}
	observer := ClientInfo{Addr: "10.244.0.100:5002", Name: ""}
	tests := []struct {
		name    string
		m       AppClients
		client  ClientInfo
		matches bool
	}{
		{"name prefix", AppClients{NamePrefix: "beersystem-"}, app, true},
		{"name prefix misses an unnamed connection", AppClients{NamePrefix: "beersystem-"}, unnamedApp, false},
		{"pod IP", AppClients{IPs: []string{"10.244.0.40"}}, unnamedApp, true},
		{"either criterion is enough", AppClients{NamePrefix: "beersystem-", IPs: []string{"10.244.0.40"}}, unnamedApp, true},
		{"observer matches neither", AppClients{NamePrefix: "beersystem-", IPs: []string{"10.244.0.40"}}, observer, false},
		{"no criteria match nothing", AppClients{}, app, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.matches, tt.m.Match(tt.client))
		})
	}
}

func TestMoveProblems(t *testing.T) {
	app := ClientInfo{ID: 1, Addr: "10.244.0.40:5000", Name: "beersystem-a"}
	tests := []struct {
		name string
		move Move
		want []string
	}{
		{name: "moved", move: Move{OnNew: []ClientInfo{app}}, want: nil},
		{name: "app not on new", move: Move{}, want: []string{"no app connection on the new Redis"}},
		{
			name: "still on old and using it",
			move: Move{OnOld: []ClientInfo{app}, OldCallsSince: 7},
			want: []string{
				"no app connection on the new Redis",
				"1 app connection(s) left on the old Redis: beersystem-a from 10.244.0.40:5000",
				"7 command(s) reached the old Redis since the cutover",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.move.Problems())
		})
	}
}

func FuzzParseClientList(f *testing.F) {
	f.Add("id=3 addr=10.244.0.40:51234 name=x age=1 idle=0 cmd=get\n")
	f.Add("id=1 addr=\n")
	f.Fuzz(func(t *testing.T, text string) {
		clients, err := ParseClientList(text)
		if err == nil {
			for _, c := range clients {
				assert.NotEmpty(t, c.Addr)
			}
		}
	})
}

func FuzzParseCommandStats(f *testing.F) {
	f.Add("# Commandstats\r\ncmdstat_get:calls=10,usec=20\r\n")
	f.Add("cmdstat_x:calls=-1\n")
	f.Fuzz(func(t *testing.T, text string) {
		counts, err := ParseCommandStats(text)
		if err == nil {
			for cmd, n := range counts {
				assert.GreaterOrEqual(t, n, int64(0), cmd)
			}
			assert.GreaterOrEqual(t, counts.CallsSince(nil), int64(0))
		}
	})
}

// TestObserveMoveOnRealServers moves an "app" connection from one real redis-server to
// another and checks what ObserveMove sees, then has the app touch the old one again.
func TestObserveMoveOnRealServers(t *testing.T) {
	if ok, why := localredis.Available(); !ok {
		t.Skip(why)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	newSrv, err := localredis.Start(ctx, localredis.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = newSrv.Stop() })
	oldSrv, err := localredis.Start(ctx, localredis.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = oldSrv.Stop() })

	observeNew, observeOld := newSrv.Client(), oldSrv.Client()
	defer observeNew.Close()
	defer observeOld.Close()
	matcher := AppClients{NamePrefix: "beersystem-"}

	// The app before the cutover: a named connection to the old server, in use.
	appOnOld := appClient(t, oldSrv, "beersystem-test-0")
	require.NoError(t, appOnOld.Set(ctx, "cutover-test:session", "x", time.Minute).Err())
	clients, err := ListClients(ctx, observeOld)
	require.NoError(t, err)
	assert.Len(t, filterClients(matcher, clients), 1, "the app shows on the old server before the cutover")

	// The cutover: stop the app, count the old server's calls, start it on the new one.
	require.NoError(t, appOnOld.Close())
	before, err := ReadCommandCounts(ctx, observeOld)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, before["set"], int64(1))
	appOnNew := appClient(t, newSrv, "beersystem-test-0")
	defer appOnNew.Close()
	require.ErrorIs(t, appOnNew.Get(ctx, "cutover-test:session").Err(), redis.Nil, "the new server starts empty")
	move := waitMove(t, ctx, observeNew, observeOld, matcher, before)
	assert.Empty(t, move.Problems())
	assert.Len(t, move.OnNew, 1)
	assert.Equal(t, int64(0), move.OldCallsSince, "the observer's own INFO and CLIENT LIST do not count")

	// A straggler still on the old server: both its connection and its command show.
	straggler := appClient(t, oldSrv, "beersystem-test-1")
	defer straggler.Close()
	require.NoError(t, straggler.Get(ctx, "cutover-test:session").Err(), "the key is still on the old server")
	move, err = ObserveMove(ctx, observeNew, observeOld, matcher, before)
	require.NoError(t, err)
	problems := strings.Join(move.Problems(), "; ")
	assert.Contains(t, problems, "1 app connection(s) left on the old Redis: beersystem-test-1")
	assert.Contains(t, problems, "1 command(s) reached the old Redis since the cutover")
}

func TestObserveMoveWrapsErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	// Nothing listens on port 1 of loopback: the dial fails at once.
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: time.Second, MaxRetries: -1})
	defer dead.Close()
	_, err := ObserveMove(ctx, dead, dead, AppClients{NamePrefix: "x"}, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "new Redis: CLIENT LIST")
}

func appClient(t *testing.T, srv *localredis.Server, name string) *redis.Client {
	t.Helper()
	return redis.NewClient(&redis.Options{
		Addr: srv.Addr, Password: srv.Password, ClientName: name, PoolSize: 1,
		DialTimeout: time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second,
		DisableIdentity: true, MaxRetries: -1,
	})
}

// waitMove observes until the old server has dropped the closed app connection:
// Redis notices a closed socket on its next event loop turn, not at once.
func waitMove(t *testing.T, ctx context.Context, newRedis, oldRedis redis.UniversalClient, app AppClients, before CommandCounts) Move {
	t.Helper()
	var move Move
	require.Eventually(t, func() bool {
		observed, err := ObserveMove(ctx, newRedis, oldRedis, app, before)
		if err != nil {
			return false
		}
		move = observed
		return len(move.OnOld) == 0
	}, 5*time.Second, 20*time.Millisecond)
	return move
}

func filterClients(m AppClients, clients []ClientInfo) []ClientInfo { return m.filter(clients) }
