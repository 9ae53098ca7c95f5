// Package evidence is what checks record for the go/no-go report: measured figures
// with units ("p95 = 0.41 ms"), notes, and facts about the target (Redis version).
// Records are JSON lines appended to one file per run, so parallel tests and separate
// processes can write without coordinating beyond a mutex.
package evidence

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/redis-shared/conformance/tools/safeio"
)

// Figure is one measured value with its unit.
type Figure struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

// String renders "p95 = 0.41 ms".
func (f Figure) String() string {
	return fmt.Sprintf("%s = %s %s", f.Name, formatValue(f.Value), f.Unit)
}

func formatValue(v float64) string {
	switch {
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case math.Abs(v) >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}

// Series is a measured curve kept for the report's plots: a load run's rate per
// second (X in s) or its latency percentile distribution (X in percentile).
type Series struct {
	Name   string       `json:"name"`
	XUnit  string       `json:"xUnit"`
	YUnit  string       `json:"yUnit"`
	Points [][2]float64 `json:"points"`
}

// Record is one entry: the figures and notes of one test (its `go test` name), or,
// with an empty Test, facts about the run (Meta).
type Record struct {
	Test    string            `json:"test,omitempty"`
	Figures []Figure          `json:"figures,omitempty"`
	Notes   []string          `json:"notes,omitempty"`
	Series  []Series          `json:"series,omitempty"`
	Meta    map[string]string `json:"meta,omitempty"`
	Time    time.Time         `json:"time"`
}

// Well-known Meta keys.
const (
	MetaTarget       = "target"
	MetaRedisVersion = "redis_version"
	MetaChartVersion = "chart_version"
	MetaEnforcement  = "source_range_enforcement"
)

// Recorder appends records to a writer. It is safe for concurrent use.
type Recorder struct {
	mu     sync.Mutex
	out    io.Writer
	closer io.Closer
	now    func() time.Time
}

// NewRecorder writes to out; a nil out discards (a run that wants no report).
func NewRecorder(out io.Writer) *Recorder {
	if out == nil {
		out = io.Discard
	}
	return &Recorder{out: out, now: time.Now}
}

// OpenFile appends to path, creating it.
func OpenFile(path string) (*Recorder, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open evidence file: %w", err)
	}
	r := NewRecorder(f)
	r.closer = f
	return r, nil
}

// Close closes the underlying file, if the recorder opened one.
func (r *Recorder) Close() error {
	if r.closer == nil {
		return nil
	}
	return r.closer.Close()
}

// Record appends one record.
func (r *Recorder) Record(rec Record) error {
	if rec.Time.IsZero() {
		rec.Time = r.now().UTC()
	}
	line, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode evidence for %q: %w", rec.Test, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := r.out.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("write evidence for %q: %w", rec.Test, err)
	}
	return nil
}

// Figures records figures for a test.
func (r *Recorder) Figures(test string, figures ...Figure) error {
	return r.Record(Record{Test: test, Figures: figures})
}

// Series records curves for a test (the report plots them).
func (r *Recorder) Series(test string, series ...Series) error {
	return r.Record(Record{Test: test, Series: series})
}

// Note records a sentence for a test.
func (r *Recorder) Note(test, format string, args ...any) error {
	return r.Record(Record{Test: test, Notes: []string{fmt.Sprintf(format, args...)}})
}

// Meta records a fact about the run.
func (r *Recorder) Meta(key, value string) error {
	return r.Record(Record{Meta: map[string]string{key: value}})
}

// ErrEmptyRecord marks a line that carries nothing.
var ErrEmptyRecord = errors.New("record has no test, figures, notes or meta")

// Parse reads JSON lines of records. It fails on the first malformed or truncated
// line and names it; blank lines are ignored.
func Parse(raw []byte) ([]Record, error) {
	var records []Record
	scanner := bufio.NewScanner(bytes.NewReader(raw))
	scanner.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	lineNo := 0
	for scanner.Scan() {
		lineNo++
		line := bytes.TrimSpace(scanner.Bytes())
		if len(line) == 0 {
			continue
		}
		var rec Record
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rec); err != nil {
			return nil, fmt.Errorf("line %d: %w", lineNo, err)
		}
		if dec.More() {
			return nil, fmt.Errorf("line %d: more than one JSON value", lineNo)
		}
		if rec.Test == "" && len(rec.Figures) == 0 && len(rec.Notes) == 0 && len(rec.Series) == 0 && len(rec.Meta) == 0 {
			return nil, fmt.Errorf("line %d: %w", lineNo, ErrEmptyRecord)
		}
		for i, f := range rec.Figures {
			if f.Name == "" || f.Unit == "" || math.IsNaN(f.Value) {
				return nil, fmt.Errorf("line %d: figure %d needs a name, a unit and a number", lineNo, i)
			}
		}
		for i, s := range rec.Series {
			if s.Name == "" || s.XUnit == "" || s.YUnit == "" {
				return nil, fmt.Errorf("line %d: series %d needs a name and both units", lineNo, i)
			}
			for j, pt := range s.Points {
				if math.IsNaN(pt[0]) || math.IsNaN(pt[1]) || math.IsInf(pt[0], 0) || math.IsInf(pt[1], 0) {
					return nil, fmt.Errorf("line %d: series %q point %d is not a finite number", lineNo, s.Name, j)
				}
			}
		}
		records = append(records, rec)
	}
	if err := scanner.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", lineNo+1, err)
	}
	return records, nil
}

// ReadFile parses a records file.
func ReadFile(path string) ([]Record, error) {
	raw, err := safeio.ReadInput(path, safeio.ReportInputLimit)
	if err != nil {
		return nil, fmt.Errorf("read evidence: %w", err)
	}
	records, err := Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("evidence file %s: %w", path, err)
	}
	return records, nil
}
