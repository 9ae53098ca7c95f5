package probe

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDegradationBound(t *testing.T) {
	tests := []struct {
		name                   string
		baseline, ratio, slack float64
		want                   float64
		wantErr                bool
	}{
		{"sub-millisecond baseline gets the slack", 0.3, 3, 1, 1.3, false},
		{"large baseline gets the ratio", 2, 3, 1, 6, false},
		{"equal at the crossover", 0.5, 3, 1, 1.5, false},
		{"ratio below one is refused", 1, 0.5, 1, 0, true},
		{"negative slack is refused", 1, 3, -1, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DegradationBound(tc.baseline, tc.ratio, tc.slack)
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.InDelta(t, tc.want, got, 1e-9)
		})
	}
}

func TestParseMonitorLine(t *testing.T) {
	tests := []struct {
		line string
		want MonitorCommand
	}{
		{`1700000000.123456 [0 10.244.0.100:40112] "SET" "conformance:ab:k" "v" "PX" "600000"`,
			MonitorCommand{Name: "SET", Args: []string{"conformance:ab:k", "v", "PX", "600000"}, Client: "0 10.244.0.100:40112"}},
		{`1700000000.1 [0 lua] "get" "a\"b\\c\x41\n"`,
			MonitorCommand{Name: "GET", Args: []string{"a\"b\\cA\n"}, Client: "0 lua"}},
		{`1700000000.1 [0 unix:/tmp/r.sock] "ping"`, MonitorCommand{Name: "PING", Client: "0 unix:/tmp/r.sock"}},
	}
	for _, tc := range tests {
		got, err := ParseMonitorLine(tc.line)
		require.NoError(t, err, tc.line)
		assert.Equal(t, tc.want, got)
	}
	for _, bad := range []string{"OK", `1.0 [0 x] SET`, `1.0 [0 x] "unterminated`, `1.0 [0 x]`, `1.0 [0 x] "a\x4"`} {
		_, err := ParseMonitorLine(bad)
		assert.Error(t, err, bad)
	}
}

func FuzzParseMonitorLine(f *testing.F) {
	f.Add(`1700000000.123456 [0 10.0.0.1:4000] "SET" "k" "v"`)
	f.Add(`1.0 [0 lua] "get" "\x41\\"`)
	f.Fuzz(func(t *testing.T, line string) {
		_, _ = ParseMonitorLine(line)
	})
}

func TestKeySpecKeys(t *testing.T) {
	args := []string{"a", "1", "b", "2"}
	assert.Equal(t, []string{"a"}, KeySpec{1, 1, 1}.Keys(args))
	assert.Equal(t, []string{"a", "b"}, KeySpec{1, -1, 2}.Keys(args))
	assert.Equal(t, []string{"a", "1", "b", "2"}, KeySpec{1, -1, 1}.Keys(args))
	assert.Nil(t, KeySpec{0, 0, 0}.Keys(args))
}

func TestSafetyViolations(t *testing.T) {
	specs := map[string]KeySpec{"SET": {1, 1, 1}, "MGET": {1, -1, 1}, "PING": {}, "CONFIG": {}, "SCAN": {}}
	const prefix = "conformance:run1:"
	tests := []struct {
		name string
		cmds []MonitorCommand
		want []string
	}{
		{"keys under the prefix pass", []MonitorCommand{{Name: "SET", Args: []string{prefix + "a", "v"}}, {Name: "MGET", Args: []string{prefix + "a", prefix + "b"}}, {Name: "SCAN", Args: []string{"0", "MATCH", prefix + "*"}}}, nil},
		{"a key outside the prefix fails", []MonitorCommand{{Name: "MGET", Args: []string{prefix + "a", "session:42"}}}, []string{`MGET touches key "session:42" outside the prefix "conformance:run1:"`}},
		{"FLUSHALL fails", []MonitorCommand{{Name: "FLUSHALL", Client: "c"}}, []string{"forbidden command FLUSHALL from c"}},
		{"KEYS fails", []MonitorCommand{{Name: "KEYS", Args: []string{"*"}, Client: "c"}}, []string{"forbidden command KEYS from c"}},
		{"CONFIG SET fails, CONFIG GET passes", []MonitorCommand{{Name: "CONFIG", Args: []string{"get", "x"}}, {Name: "CONFIG", Args: []string{"set", "x", "y"}, Client: "c"}}, []string{"forbidden command CONFIG SET from c"}},
		{"an unknown command fails", []MonitorCommand{{Name: "NEWCMD"}}, []string{"command NEWCMD is unknown to COMMAND INFO: its keys cannot be checked"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, SafetyViolations(tc.cmds, specs, prefix))
		})
	}
}

func TestLedgerFindsLostAndChangedWrites(t *testing.T) {
	l := NewLedger()
	for _, k := range []string{"a", "b", "c", "d"} {
		l.Ack(k, "v-"+k)
	}
	store := map[string]string{"a": "v-a", "c": "other", "d": "v-d"}
	mget := func(_ context.Context, keys ...string) ([]any, error) {
		out := make([]any, len(keys))
		for i, k := range keys {
			if v, ok := store[k]; ok {
				out[i] = v
			}
		}
		return out, nil
	}
	lost, err := l.Verify(context.Background(), mget)
	require.NoError(t, err)
	assert.Equal(t, []string{"b", "c"}, lost)
	assert.Equal(t, 4, l.Len())
}

func TestLedgerKeepsTheLastAckAndAcceptsUnackedLaterWrites(t *testing.T) {
	l := NewLedger()
	l.Ack("a", "1")
	l.Ack("a", "2") // overwritten: only "2" is the acknowledged state
	l.Ack("b", "1")
	l.Unacked("b", "2") // sent when the master died: the server may have applied it
	l.Ack("c", "1")
	l.Unacked("c", "2")
	store := map[string]string{"a": "1", "b": "2", "c": "1"}
	mget := func(_ context.Context, keys ...string) ([]any, error) {
		out := make([]any, len(keys))
		for i, k := range keys {
			out[i] = store[k]
		}
		return out, nil
	}
	lost, err := l.Verify(context.Background(), mget)
	require.NoError(t, err)
	assert.Equal(t, []string{"a"}, lost, "a lost its acknowledged overwrite; b and c hold acceptable values")
	assert.Equal(t, 3, l.Len())
	assert.Equal(t, 4, l.Writes())
}

func TestLedgerVerifyReportsReadErrors(t *testing.T) {
	l := NewLedger()
	l.Ack("a", "1")
	_, err := l.Verify(context.Background(), func(context.Context, ...string) ([]any, error) { return nil, errors.New("LOADING") })
	require.ErrorContains(t, err, "LOADING")
}

func TestPercentileIsNearestRank(t *testing.T) {
	values := []float64{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	assert.Equal(t, 10.0, Percentile(values, 95))
	assert.Equal(t, 5.0, Percentile(values, 50))
	assert.Equal(t, 1.0, Percentile(values, 1))
	assert.Equal(t, 0.0, Percentile(nil, 95))
}
