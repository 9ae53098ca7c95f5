package report

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/redis-shared/conformance/tools/evidence"
	"github.com/redis-shared/conformance/tools/safeio"
)

// ReadReport reads a report.json, or the report.json of a run folder (out/latest,
// out/runs/<time>), and checks it against the schema.
func ReadReport(path string) (Report, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, "report.json")
	}
	raw, err := safeio.ReadInput(path, safeio.ReportInputLimit)
	if err != nil {
		return Report{}, fmt.Errorf("read report: %w", err)
	}
	if err := Validate(raw); err != nil {
		return Report{}, fmt.Errorf("report %s: %w", path, err)
	}
	var rep Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		return Report{}, fmt.Errorf("report %s: %w", path, err)
	}
	return rep, nil
}

// DiffOptions choose what Diff lists besides status flips.
type DiffOptions struct {
	// AllFigures lists every changed figure; otherwise only latency percentiles
	// (p50/p95/p99/max) and rates.
	AllFigures bool
}

// Diff lists what changed from report a to report b: the verdict, each requirement
// whose status flipped, and the figures of each check that changed (with the delta).
// No line means nothing listed changed.
func Diff(a, b Report, opts DiffOptions) []string {
	var lines []string
	if a.Verdict != b.Verdict {
		lines = append(lines, fmt.Sprintf("verdict: %s -> %s", a.Verdict, b.Verdict))
	}
	if a.Target != b.Target {
		lines = append(lines, fmt.Sprintf("target: %s -> %s (figures of different targets compared)", a.Target, b.Target))
	}
	before := map[string]RequirementResult{}
	for _, rr := range a.Requirements {
		before[rr.ID] = rr
	}
	seen := map[string]bool{}
	for _, rb := range b.Requirements {
		seen[rb.ID] = true
		ra, ok := before[rb.ID]
		if !ok {
			lines = append(lines, fmt.Sprintf("%s: new requirement, %s", rb.ID, rb.Status))
			continue
		}
		if ra.Status != rb.Status {
			lines = append(lines, fmt.Sprintf("%s: %s -> %s (%s)", rb.ID, ra.Status, rb.Status, rb.Reason))
		}
		lines = append(lines, figureChanges(rb.ID, ra.Checks, rb.Checks, opts)...)
	}
	for _, ra := range a.Requirements {
		if !seen[ra.ID] {
			lines = append(lines, fmt.Sprintf("%s: no longer in the report (was %s)", ra.ID, ra.Status))
		}
	}
	return lines
}

func figureChanges(reqID string, a, b []CheckResult, opts DiffOptions) []string {
	old := map[string]evidence.Figure{}
	for _, c := range a {
		for _, f := range c.Figures {
			old[c.ID+"\x00"+f.Name] = f
		}
	}
	var lines []string
	for _, c := range b {
		for _, f := range c.Figures {
			if !opts.AllFigures && !keyFigure(f) {
				continue
			}
			prev, ok := old[c.ID+"\x00"+f.Name]
			if !ok || prev.Unit != f.Unit || prev.Value == f.Value {
				continue
			}
			lines = append(lines, fmt.Sprintf("%s %s: %s %s -> %s %s (%s)", reqID, checkLabel(c), f.Name,
				fmtValue(prev.Value), fmtValue(f.Value), f.Unit, delta(prev.Value, f.Value)))
		}
	}
	return lines
}

// keyFigure: the figures a comparison of runs is about.
func keyFigure(f evidence.Figure) bool {
	name := strings.ToLower(f.Name)
	for _, k := range []string{"p50", "p95", "p99", "max", "rate"} {
		if strings.Contains(name, k) {
			return true
		}
	}
	return false
}

func checkLabel(c CheckResult) string {
	if c.Name != "" {
		return "\"" + c.Name + "\""
	}
	return c.ID
}

// fmtValue formats a number the way evidence figures are shown.
func fmtValue(v float64) string {
	return strings.TrimSuffix(strings.TrimPrefix(evidence.Figure{Name: "v", Value: v, Unit: "u"}.String(), "v = "), " u")
}

func delta(from, to float64) string {
	d := to - from
	sign := "+"
	if d < 0 {
		sign = "-"
	}
	text := sign + fmtValue(math.Abs(d))
	if from != 0 {
		text += fmt.Sprintf(", %+.0f%%", d/math.Abs(from)*100)
	}
	return text
}
