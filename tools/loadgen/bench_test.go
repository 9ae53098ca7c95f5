package loadgen_test

import (
	"testing"
	"time"

	"github.com/redis-shared/conformance/tools/loadgen"
)

// BenchmarkClosedLoop measures the generator's max throughput per client library
// and shape against a local redis-server; b.N is the request count. The
// comparison with redis-benchmark is `make bench`.
func BenchmarkClosedLoop(b *testing.B) {
	shapes := []struct {
		name            string
		conns, pipeline int
		setRatio        float64
	}{
		{"set-c50-P1", 50, 1, 1},
		{"get-c50-P1", 50, 1, 0},
		{"set-c50-P16", 50, 16, 1},
		{"get-c50-P16", 50, 16, 0},
	}
	if ok, why := localredisAvailable(); !ok {
		b.Skip(why)
	}
	srv := startRedis(b)
	for _, client := range loadgen.Clients() {
		for _, shape := range shapes {
			b.Run(client+"/"+shape.name, func(b *testing.B) {
				dialer, err := loadgen.NewDialer(client, endpointOf(srv), shape.conns)
				if err != nil {
					b.Fatal(err)
				}
				defer dialer.Close()
				b.ResetTimer()
				res, err := loadgen.Run(b.Context(), loadgen.Config{
					Mode: loadgen.ClosedLoop, Requests: int64(max(b.N, shape.conns*shape.pipeline)),
					Connections: shape.conns, Pipeline: shape.pipeline, SetRatio: shape.setRatio,
					KeySpace: 100_000, ValueSize: 64, KeyPrefix: "loadgen-bench:go-test:", TTL: time.Minute,
				}, dialer)
				if err != nil {
					b.Fatal(err)
				}
				if res.Errors > 0 {
					b.Fatalf("%d errors: %v", res.Errors, res.ErrorSamples)
				}
				b.ReportMetric(res.AchievedRate, "ops/s")
				b.ReportMetric(res.Latency.P99, "p99-ms")
			})
		}
	}
}
