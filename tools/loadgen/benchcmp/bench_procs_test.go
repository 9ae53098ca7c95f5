package benchcmp

import (
	"testing"

	"github.com/stretchr/testify/assert"
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
