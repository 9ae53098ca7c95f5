package loadgen

import (
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// recorder collects one worker's figures without locks; recorders merge at the end.
type recorder struct {
	start   time.Time
	redact  func(string) string
	latency *hdrhistogram.Histogram
	service *hdrhistogram.Histogram
	// lateness (open loop only) is actual minus intended send time.
	lateness *hdrhistogram.Histogram
	seconds  []secondTally
	// requests counts completed ops; taken counts ops handed to this worker.
	requests, sets, gets, errors, taken int64
	samples                             []string
	lastDone                            time.Time
}

type secondTally struct {
	ops, errors int64
	sumMicros   int64
	maxMicros   int64
}

func newRecorder(start time.Time, redact func(string) string) *recorder {
	return &recorder{start: start, redact: redact, latency: newHistogram(), service: newHistogram()}
}

// record books one completed op: intended is when it should have been sent,
// sent when it was, done when its reply (or error) came back.
func (r *recorder) record(op *Op, intended, sent, done time.Time) {
	r.requests++
	if op.Kind == OpSet {
		r.sets++
	} else {
		r.gets++
	}
	sec := int(done.Sub(r.start) / time.Second)
	if sec < 0 {
		sec = 0
	}
	for len(r.seconds) <= sec {
		r.seconds = append(r.seconds, secondTally{})
	}
	tally := &r.seconds[sec]
	tally.ops++
	if op.Err != nil {
		r.errors++
		tally.errors++
		if len(r.samples) < maxErrorSamples {
			r.samples = addSamples(r.samples, r.redact(op.Err.Error()))
		}
		return
	}
	lat := micros(done.Sub(intended))
	r.latency.RecordValue(clampMicros(lat))                    //nolint:errcheck // clamped into range
	r.service.RecordValue(clampMicros(micros(done.Sub(sent)))) //nolint:errcheck // clamped into range
	tally.sumMicros += lat
	tally.maxMicros = max(tally.maxMicros, lat)
	if done.After(r.lastDone) {
		r.lastDone = done
	}
}

// recordLateness books how late the generator sent one request; it is never
// negative, as no request leaves before its intended time.
func (r *recorder) recordLateness(late time.Duration) {
	r.lateness.RecordValue(min(max(micros(late), 0), histMaxMicros)) //nolint:errcheck // clamped into range
}

// noteDone moves the end of the run forward for a batch that only failed.
func (r *recorder) noteDone(done time.Time) {
	if done.After(r.lastDone) {
		r.lastDone = done
	}
}

func micros(d time.Duration) int64 { return int64(d / time.Microsecond) }

func clampMicros(v int64) int64 { return min(max(v, histMinMicros), histMaxMicros) }

// redactor hides secret in error strings; a no-op without a secret.
func redactor(secret string) func(string) string {
	if secret == "" {
		return func(s string) string { return s }
	}
	return func(s string) string { return strings.ReplaceAll(s, secret, "[redacted]") }
}

// build folds the worker recorders into a Result (counts and latency parts only).
func build(cfg Config, client string, start time.Time, recs []*recorder) Result {
	latency, service := newHistogram(), newHistogram()
	var lateness *hdrhistogram.Histogram
	res := Result{
		SchemaVersion: SchemaVersion,
		Mode:          cfg.Mode,
		Client:        client,
		Connections:   cfg.Connections,
		Pipeline:      cfg.Pipeline,
		SetRatio:      cfg.SetRatio,
		KeySpace:      cfg.KeySpace,
		ValueSize:     cfg.ValueSize,
		KeyPrefix:     cfg.KeyPrefix,
		TTLSeconds:    cfg.TTL.Seconds(),
	}
	var tallies []secondTally
	end := start
	for _, r := range recs {
		latency.Merge(r.latency)
		service.Merge(r.service)
		if r.lateness != nil {
			if lateness == nil {
				lateness = newHistogram()
			}
			lateness.Merge(r.lateness)
		}
		res.Requests += r.requests
		res.Sets += r.sets
		res.Gets += r.gets
		res.Errors += r.errors
		res.ErrorSamples = addSamples(res.ErrorSamples, r.samples...)
		if r.lastDone.After(end) {
			end = r.lastDone
		}
		for i, t := range r.seconds {
			for len(tallies) <= i {
				tallies = append(tallies, secondTally{})
			}
			agg := &tallies[i]
			agg.ops += t.ops
			agg.errors += t.errors
			agg.sumMicros += t.sumMicros
			agg.maxMicros = max(agg.maxMicros, t.maxMicros)
		}
	}
	for i, t := range tallies {
		s := Second{Second: i, Ops: t.ops, Errors: t.errors, MaxMs: float64(t.maxMicros) / 1000}
		if ok := t.ops - t.errors; ok > 0 {
			s.MeanMs = float64(t.sumMicros) / float64(ok) / 1000
		}
		res.PerSecond = append(res.PerSecond, s)
	}
	res.DurationSeconds = end.Sub(start).Seconds()
	if res.DurationSeconds > 0 {
		res.AchievedRate = float64(res.Requests-res.Errors) / res.DurationSeconds
	}
	res.Latency = summarise(latency)
	res.ServiceLatency = summarise(service)
	res.LatencyHistogram = exportHistogram(latency)
	res.ServiceHistogram = exportHistogram(service)
	if lateness != nil {
		summary := summarise(lateness)
		res.SendLateness = &summary
		res.LatenessHistogram = exportHistogram(lateness)
	}
	return res
}
