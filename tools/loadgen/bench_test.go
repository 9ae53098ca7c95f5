package loadgen_test

import (
	"fmt"
	"syscall"
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

// BenchmarkOpenLoopPacing compares how open-loop workers wait for each send
// time, against a local redis-server with the resp client (16 connections, as
// `make bench`): the generator's own lateness (actual minus intended send), the
// latency it lands in, rate accuracy and the CPU the whole process spent per
// request (waiting included). Each iteration is one 2 s run, so run it as
//
//	go test -run '^$' -bench OpenLoopPacing -benchtime 1x ./tools/loadgen/
//
// DefaultPacer and DefaultSpin are the pick of these figures (docs/load-generator.md).
func BenchmarkOpenLoopPacing(b *testing.B) {
	pacings := []struct {
		name  string
		pacer loadgen.Pacer
		spin  time.Duration // negative: none
	}{
		{"timerfd/spin0", loadgen.PacerKernelTimer, -1},
		{"timerfd/spin20us", loadgen.PacerKernelTimer, 20 * time.Microsecond},
		{"timerfd/spin100us", loadgen.PacerKernelTimer, 100 * time.Microsecond},
		{"go-timer/spin0", loadgen.PacerGoTimer, -1},
		{"go-timer/spin1200us", loadgen.PacerGoTimer, 1200 * time.Microsecond},
	}
	if ok, why := localredisAvailable(); !ok {
		b.Skip(why)
	}
	srv := startRedis(b)
	for _, rate := range []float64{10_000, 50_000} {
		for _, p := range pacings {
			b.Run(fmt.Sprintf("%.0fk/%s", rate/1000, p.name), func(b *testing.B) {
				dialer, err := loadgen.NewDialer(loadgen.ClientRESP, endpointOf(srv), 16)
				if err != nil {
					b.Fatal(err)
				}
				defer dialer.Close()
				for b.Loop() {
					cpuBefore := processCPU(b)
					res, err := loadgen.Run(b.Context(), loadgen.Config{
						Mode: loadgen.OpenLoop, Rate: rate, Duration: 2 * time.Second,
						Connections: 16, Pipeline: 16, SetRatio: 0.5, Pacer: p.pacer, Spin: p.spin,
						KeySpace: 100_000, ValueSize: 64, KeyPrefix: "loadgen-bench:go-test:", TTL: time.Minute,
					}, dialer)
					if err != nil {
						b.Fatal(err)
					}
					if res.Errors > 0 || res.SendLateness == nil {
						b.Fatalf("%d errors (%v), lateness %v", res.Errors, res.ErrorSamples, res.SendLateness)
					}
					b.ReportMetric(res.SendLateness.P50*1000, "late-p50-us")
					b.ReportMetric(res.SendLateness.P99*1000, "late-p99-us")
					b.ReportMetric(res.Latency.P50*1000, "p50-us")
					b.ReportMetric(res.Latency.P95*1000, "p95-us")
					b.ReportMetric(res.RateAccuracy(), "achieved/target")
					b.ReportMetric(float64((processCPU(b)-cpuBefore).Microseconds())/float64(res.Requests), "cpu-us/op")
				}
			})
		}
	}
}

// processCPU is the user plus system CPU time this process has used so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
