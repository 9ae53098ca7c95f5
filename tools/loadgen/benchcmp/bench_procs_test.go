package benchcmp

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClosedLoopProcsFollowRedisBenchmarkThreadsUnlessSet(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want int
	}{
		{name: "default: redis-benchmark's one thread", opts: DefaultOptions(), want: 1},
		{name: "redis-benchmark with 2 threads", opts: Options{RedisBenchmarkThreads: 2}, want: 2},
		{name: "set explicitly", opts: Options{RedisBenchmarkThreads: 1, GeneratorProcs: 2}, want: 2},
		{name: "nothing set", opts: Options{}, want: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.opts.closedLoopProcs())
		})
	}
}

func TestTableSaysWhetherTheThreadBudgetsMatch(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{name: "default", opts: DefaultOptions(), want: "redis-benchmark threads: 1, generator GOMAXPROCS: 1 (the same thread budget)"},
		{name: "generator given more", opts: Options{Rounds: 1, RedisBenchmarkThreads: 1, GeneratorProcs: 2}, want: "generator GOMAXPROCS: 2 (NOT the same thread budget (-generator-procs))"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			require.NoError(t, WriteTable(&out, Report{Options: tc.opts}))
			assert.Contains(t, out.String(), tc.want)
		})
	}
}
