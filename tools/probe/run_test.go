package probe

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redis-shared/conformance/tools/loadgen"
	"github.com/redis-shared/conformance/tools/loadgen/localredis"
)

func startLocal(t *testing.T, password string) *localredis.Server {
	t.Helper()
	if ok, why := localredis.Available(); !ok {
		t.Skip(why)
	}
	srv, err := localredis.Start(context.Background(), localredis.Options{Dir: t.TempDir(), Password: password})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop() })
	return srv
}

// replicaOf makes replica a replica of master (same password) and waits for the link.
func replicaOf(t *testing.T, replica, master *localredis.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := replica.Client()
	defer c.Close()
	host, port, _ := strings.Cut(master.Addr, ":")
	require.NoError(t, c.ConfigSet(ctx, "masterauth", master.Password).Err())
	require.NoError(t, c.Do(ctx, "REPLICAOF", host, port).Err())
	for c.InfoMap(ctx, "replication").Item("Replication", "master_link_status") != "up" {
		require.NoError(t, ctx.Err(), "replication link of %s", replica.Addr)
		time.Sleep(50 * time.Millisecond) // a poll step of a test fixture
	}
}

// roundTrip is what a target does with a request: JSON out and back in.
func roundTrip(t *testing.T, env Env, req Request) (Report, error) {
	t.Helper()
	raw, err := json.Marshal(req)
	require.NoError(t, err)
	var back Request
	require.NoError(t, json.Unmarshal(raw, &back))
	require.Equal(t, req, back, "the request survives JSON")
	return Run(context.Background(), env, back)
}

// TestReplicationAgainstRealRedis: a master and a real replica on loopback; then a
// standalone server in the replica's place, where the check must fail.
func TestReplicationAgainstRealRedis(t *testing.T) {
	master := startLocal(t, "")
	replica := startLocal(t, master.Password)
	standalone := startLocal(t, master.Password)
	replicaOf(t, replica, master)
	env := Env{Password: master.Password}
	req := Request{Kind: KindReplication, Addr: master.Addr, Prefix: "conformance:probetest:fr006:", TTL: time.Minute,
		Addrs: []string{replica.Addr}, Count: 10, Replication: &ReplicationRequest{Wait: 2 * time.Second}}
	rep, err := roundTrip(t, env, req)
	require.NoError(t, err)
	r := rep.Replication
	require.NotNil(t, r)
	assert.Equal(t, "master", r.Role)
	assert.Equal(t, 1, r.ConnectedSlaves)
	require.Len(t, r.Replicas, 1)
	view := r.Replicas[0]
	assert.Empty(t, view.Error)
	assert.Equal(t, "slave", view.Role)
	assert.Equal(t, "up", view.LinkStatus)
	assert.Equal(t, 10, view.Seen)
	assert.Less(t, view.MaxMillis, 2000.0)
	require.NotNil(t, r.Cleanup)
	assert.Equal(t, 10, r.Cleanup.Deleted)
	assert.Equal(t, map[string]int{master.Addr: 0, replica.Addr: 0}, r.Cleanup.Remaining)

	req.Addrs, req.Count, req.Replication.Wait = []string{standalone.Addr}, 3, 200*time.Millisecond
	rep, err = roundTrip(t, env, req)
	require.NoError(t, err)
	require.Len(t, rep.Replication.Replicas, 1)
	assert.Equal(t, "master", rep.Replication.Replicas[0].Role, "a standalone server reports role master")
	assert.Zero(t, rep.Replication.Replicas[0].Seen)
	assert.Contains(t, rep.Replication.Replicas[0].Error, "not read back")
}

// TestAuthAgainstRealRedis: SC-008's one definition. Every attempt on a protected
// server is rejected and the positive control passes; a server without a password
// serves them; nothing listening is unanswered, never rejected.
func TestAuthAgainstRealRedis(t *testing.T) {
	protected := startLocal(t, "")
	open := startLocal(t, protected.Password)
	env := Env{Password: protected.Password}
	req := Request{Kind: KindAuth, Addrs: []string{protected.Addr}, Count: 200, Timeout: 2 * time.Second}
	rep, err := roundTrip(t, env, req)
	require.NoError(t, err)
	a := rep.Auth
	require.NotNil(t, a)
	require.Len(t, a.Controls, 1)
	assert.True(t, a.Controls[0].OK, a.Controls[0].Error)
	require.Len(t, a.Tallies, 3)
	for _, tally := range a.Tallies {
		assert.Equal(t, 200, tally.Attempts, tally.Kind)
		assert.Equal(t, 200, tally.Rejected, "%s: %v", tally.Kind, tally.Replies)
		assert.Equal(t, 200, tally.Replies["PING NOAUTH"], "%s: %v", tally.Kind, tally.Replies)
	}
	assert.Equal(t, 200, a.Tallies[1].Replies["AUTH WRONGPASS"], "wrong password: %v", a.Tallies[1].Replies)
	assert.Equal(t, 200, a.Tallies[2].Replies["AUTH WRONGPASS"], "unknown user: %v", a.Tallies[2].Replies)
	total, rejected := a.Totals()
	assert.Equal(t, 600, total)
	assert.Equal(t, 600, rejected)
	raw, _ := json.Marshal(rep)
	assert.NotContains(t, string(raw), protected.Password)

	c := open.Client()
	require.NoError(t, c.ConfigSet(context.Background(), "requirepass", "").Err())
	_ = c.Close()
	rep, err = roundTrip(t, Env{}, Request{Kind: KindAuth, Addrs: []string{open.Addr}, Count: 50, Timeout: 2 * time.Second})
	require.NoError(t, err)
	require.Len(t, rep.Auth.Tallies, 3)
	assert.Equal(t, 50, rep.Auth.Tallies[0].Accepted, "no password: %v", rep.Auth.Tallies[0].Replies)
	assert.Equal(t, 50, rep.Auth.Tallies[0].Replies["PING PONG"])

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := l.Addr().String()
	require.NoError(t, l.Close())
	rep, err = roundTrip(t, env, Request{Kind: KindAuth, Addrs: []string{closed}, Count: 5, Timeout: time.Second})
	require.NoError(t, err)
	assert.False(t, rep.Auth.Controls[0].OK)
	assert.Equal(t, 5, rep.Auth.Tallies[0].Unanswered)
	assert.Zero(t, rep.Auth.Tallies[0].Rejected)
}

func TestWrongPasswordIsRandom(t *testing.T) {
	a, err := WrongPassword("secret")
	require.NoError(t, err)
	b, err := WrongPassword("secret")
	require.NoError(t, err)
	assert.NotEqual(t, a, b)
	assert.NotContains(t, a, "secret")
}

// Without a fault the disruptive requests answer with nothing failed and nothing left.
func TestDisruptiveRequestsWithoutAFault(t *testing.T) {
	srv := startLocal(t, "")
	env := Env{Password: srv.Password}
	rep, err := roundTrip(t, env, Request{Kind: KindDurability, Addr: srv.Addr, Prefix: "conformance:run:sc007:", TTL: time.Minute,
		Durability: &DurabilityConfig{Duration: 300 * time.Millisecond, Writers: 2, Pipeline: 4, Every: 5 * time.Millisecond, Recover: 2 * time.Second}})
	require.NoError(t, err)
	d := rep.Durability
	require.NotNil(t, d)
	assert.Positive(t, d.Acknowledged)
	assert.Zero(t, d.FailedWrites)
	assert.Zero(t, d.Lost)
	assert.Equal(t, "1", d.AOFEnabled)
	require.NotNil(t, d.Cleanup)
	assert.Zero(t, d.Cleanup.Left())

	// The loopback server has no replica: it stands for the replicas Service too.
	rep, err = roundTrip(t, env, Request{Kind: KindOutage, Addr: srv.Addr, Prefix: "conformance:run:sc002:", TTL: time.Minute,
		Outage: &OutageConfig{ReadAddr: srv.Addr, Duration: 300 * time.Millisecond, Every: 10 * time.Millisecond, Recover: 2 * time.Second}})
	require.NoError(t, err)
	o := rep.Outage
	require.NotNil(t, o)
	assert.Positive(t, o.Reads)
	assert.Zero(t, o.FailedReads)
	assert.Zero(t, o.FailedWrites)
	assert.True(t, o.WritesRecovered)
}

func TestCallSendsOneCommandOnAFreshConnection(t *testing.T) {
	srv := startLocal(t, "")
	var d net.Dialer
	reply, err := Call(context.Background(), d.DialContext, srv.Addr, srv.Password, 2*time.Second, "PING")
	require.NoError(t, err)
	assert.Equal(t, loadgen.Reply{Type: '+', Text: "PONG"}, reply)
	_, err = Call(context.Background(), d.DialContext, srv.Addr, "wrong", 2*time.Second, "PING")
	require.ErrorContains(t, err, "AUTH")
	reply, err = Call(context.Background(), d.DialContext, srv.Addr, "", 2*time.Second, "PING")
	require.NoError(t, err)
	assert.True(t, reply.IsError())
	assert.True(t, strings.HasPrefix(reply.Text, "NOAUTH "), reply.Text)
}

// FuzzRequestValidate: whatever arrives on the binary's stdin decodes and validates
// without a panic, and a request Validate accepts survives JSON unchanged. Nothing is
// run: a fuzzed request must never dial anywhere.
func FuzzRequestValidate(f *testing.F) {
	for _, seed := range []string{
		`{"kind":"commands","addr":"m:6379","prefix":"conformance:x:","ttl":1000000000}`,
		`{"kind":"auth","addrs":["m:6379","r:6379"],"count":5,"timeout":1000000000}`,
		`{"kind":"latency","addr":"m:6379","prefix":"conformance:x:","ttl":1,"load":{"mode":"open","rate":10,"duration":1000000000,"connections":1,"set_ratio":0.5}}`,
		`{"kind":"outage","outage":{"read_addr":"r:1","duration":-1}}`,
		`{"kind":"durability","addr":"m:1","prefix":"conformance:x:","ttl":1,"durability":{"duration":1,"writers":8,"pipeline":32,"every":1000000,"recover":1,"value_size":512,"keys_per_writer":20000}}`,
		`{"kind":"prom","timeout":1,"prom":{"url":"http://p:9090","path":"/api/v1/../x"}}`,
		`{"kind":""}`, `[]`, `null`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var req Request
		if json.Unmarshal(raw, &req) != nil || req.Validate() != nil {
			return
		}
		again, err := json.Marshal(req)
		require.NoError(t, err)
		var back Request
		require.NoError(t, json.Unmarshal(again, &back))
		require.NoError(t, back.Validate())
		assert.Positive(t, back.Budget())
	})
}

// The durability settings are bounded, named in snake_case like the rest of the
// request, and what they write into the deployment at once is bounded too.
func TestValidateBoundsTheDurabilityRun(t *testing.T) {
	req := func(change func(*DurabilityConfig)) Request {
		d := DurabilityConfig{Duration: time.Second, Writers: 8, Pipeline: 32, Every: time.Millisecond, Recover: time.Minute, ValueSize: 512, KeysPerWriter: 20_000}
		change(&d)
		return Request{Kind: KindDurability, Addr: "m:6379", Prefix: "conformance:x:", TTL: time.Minute, Durability: &d}
	}
	ok := req(func(*DurabilityConfig) {})
	require.NoError(t, ok.Validate())
	raw, err := json.Marshal(ok)
	require.NoError(t, err)
	assert.Contains(t, string(raw), `"value_size":512,"keys_per_writer":20000`)
	for _, tc := range []struct {
		name   string
		change func(*DurabilityConfig)
		want   string
	}{
		{"negative value size", func(d *DurabilityConfig) { d.ValueSize = -1 }, "durability.value_size -1"},
		{"value over 64 KiB", func(d *DurabilityConfig) { d.ValueSize = 64<<10 + 1 }, "durability.value_size 65537"},
		{"negative keys per writer", func(d *DurabilityConfig) { d.KeysPerWriter = -1 }, "durability.keys_per_writer -1"},
		{"over a million keys per writer", func(d *DurabilityConfig) { d.KeysPerWriter = 1_000_001 }, "durability.keys_per_writer 1000001"},
		{"over 256 MiB in the deployment", func(d *DurabilityConfig) { d.Writers, d.KeysPerWriter, d.ValueSize = 64, 100_000, 1024 }, "writers x keys_per_writer x value_size = 6553600000 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.ErrorContains(t, req(tc.change).Validate(), tc.want)
		})
	}
}
