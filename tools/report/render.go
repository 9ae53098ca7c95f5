package report

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/redis-shared/conformance/tools/evidence"
)

// WriteJSON renders report.json.
func WriteJSON(w io.Writer, r Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write report.json: %w", err)
	}
	return nil
}

var statusMark = map[string]string{
	StatusPass:   "PASS",
	StatusFail:   "FAIL",
	StatusSkip:   "SKIP",
	StatusNotRun: "NOT RUN",
	StatusWaived: "WAIVED",
}

// WriteMarkdown renders report.md: the verdict first, then one line per requirement,
// then each requirement's checks and evidence.
func WriteMarkdown(w io.Writer, r Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# redis-shared go/no-go: **%s**\n\n", r.Verdict)
	fmt.Fprintf(&b, "| target | suite commit | chart | Redis | generated |\n|---|---|---|---|---|\n")
	fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n\n", r.Target, r.SuiteCommit, r.ChartVersion, r.RedisVersion, r.GeneratedAt.Format("2006-01-02 15:04:05Z"))
	fmt.Fprintf(&b, "%s\n\n", r.CountsLine())
	b.WriteString("GO needs every requirement passed (or waived by an unexpired waiver): each kind of proof its catalog entry lists (static, live, disruptive) passed on this target, and no check failed.\n\n")
	if open := r.Open(); len(open) > 0 {
		b.WriteString("## Failing and unproven requirements\n\n| id | requirement | status | why | what to change or run |\n|---|---|---|---|---|\n")
		for _, req := range open {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", req.ID, mdEscape(req.Title), statusMark[req.Status], mdEscape(req.Reason), mdEscape(req.NextStep()))
		}
		b.WriteString("\n")
	}
	if len(r.Problems) > 0 {
		b.WriteString("## Problems\n\n")
		for _, p := range r.Problems {
			fmt.Fprintf(&b, "- %s\n", mdEscape(p))
		}
		b.WriteString("\n")
	}
	if len(r.Facts) > 0 {
		b.WriteString("## Facts about the target\n\n")
		for _, k := range sortedKeys(r.Facts) {
			fmt.Fprintf(&b, "- %s: %s\n", k, mdEscape(r.Facts[k]))
		}
		b.WriteString("\n")
	}
	b.WriteString("## Requirements\n\n| id | requirement | status | evidence |\n|---|---|---|---|\n")
	for _, req := range r.Requirements {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", req.ID, mdEscape(req.Title), statusMark[req.Status], mdEscape(headlineEvidence(req)))
	}
	b.WriteString("\n## Checks by requirement\n")
	for _, req := range r.Requirements {
		fmt.Fprintf(&b, "\n### %s %s: %s\n\n", req.ID, mdEscape(req.Title), statusMark[req.Status])
		if req.Threshold != "" {
			fmt.Fprintf(&b, "Threshold: %s. ", mdEscape(req.Threshold))
		}
		fmt.Fprintf(&b, "Proof needed on %s: %s. %s.\n\n", r.Target, proofList(req.ProofKinds), mdEscape(req.Reason))
		for _, bound := range req.Bounds {
			fmt.Fprintf(&b, "- bound: %s\n", mdEscape(bound))
		}
		if len(req.Bounds) > 0 {
			b.WriteString("\n")
		}
		if len(req.Checks) == 0 {
			continue
		}
		b.WriteString("| check | proof | status | evidence / reason | time |\n|---|---|---|---|---|\n")
		for _, c := range req.Checks {
			detail := strings.Join(c.Evidence, "; ")
			switch c.Status {
			case StatusSkip:
				detail = "skipped: " + c.SkipReason
			case StatusFail:
				detail = strings.Join(c.Messages, "; ")
				if len(c.Evidence) > 0 {
					detail += "; " + strings.Join(c.Evidence, "; ")
				}
			case StatusNotRun:
				detail = "did not run " + strings.Join(c.Messages, "; ")
			}
			mark := statusMark[c.Status]
			if c.Flaky {
				mark += " (flaky: passed on a retry)"
			}
			fmt.Fprintf(&b, "| %s (`%s`) | %s | %s | %s | %.0f ms |\n", mdEscape(c.Name), c.Source, c.Verification, mark, mdEscape(detail), c.DurationMS)
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write report.md: %w", err)
	}
	return nil
}

func proofList(kinds []string) string {
	if len(kinds) == 0 {
		return "none"
	}
	return strings.Join(kinds, ", ")
}

// CountsLine is the one-line summary of the header and the console: requirements and
// checks, each by status.
func (r Report) CountsLine() string {
	line := fmt.Sprintf("Requirements: %d passed, %d failed, %d skipped, %d not run", r.Summary.Pass, r.Summary.Fail, r.Summary.Skip, r.Summary.NotRun)
	if r.Summary.Waived > 0 {
		line += fmt.Sprintf(", %d waived", r.Summary.Waived)
	}
	c := r.Summary.Checks
	line += fmt.Sprintf(" (of %d). Checks: %d passed, %d failed, %d skipped, %d not run", len(r.Requirements), c.Pass, c.Fail, c.Skip, c.NotRun)
	if c.Flaky > 0 {
		line += fmt.Sprintf(" (%d flaky)", c.Flaky)
	}
	return line + "."
}

// Open returns the requirements that are not a pass (nor waived): failures first,
// then not-run and skipped ones, each group in catalog order.
func (r Report) Open() []RequirementResult {
	var failed, unproven []RequirementResult
	for _, req := range r.Requirements {
		switch req.Status {
		case StatusPass, StatusWaived:
		case StatusFail:
			failed = append(failed, req)
		default:
			unproven = append(unproven, req)
		}
	}
	return append(failed, unproven...)
}

// NextStep is the hint for a requirement that is not a pass: what to run when proof
// is missing, what to change when it failed.
func (req RequirementResult) NextStep() string {
	var steps []string
	if req.Status != StatusFail {
		for _, c := range req.Checks {
			if c.Status == StatusNotRun && c.Verification == "static" {
				steps = append(steps, "run the policy gate (make conformance STATIC=1)")
				break
			}
		}
		if req.needsDisruptiveRun() {
			steps = append(steps, "run with DISRUPTIVE=1")
		}
		if req.NotYetCovered != "" {
			steps = append(steps, "write a check: "+req.NotYetCovered)
		}
	}
	if req.Hint != "" {
		steps = append(steps, req.Hint)
	}
	return strings.Join(steps, "; ")
}

// needsDisruptiveRun: disruptive proof is required, none passed, and a disruptive
// check skipped because the run was not disruptive.
func (req RequirementResult) needsDisruptiveRun() bool {
	if !slices.Contains(req.ProofKinds, "disruptive") {
		return false
	}
	skippedForIt := false
	for _, c := range req.Checks {
		if c.Verification != "disruptive" {
			continue
		}
		if c.Status == StatusPass {
			return false
		}
		skippedForIt = skippedForIt || (c.Status == StatusSkip && strings.Contains(c.SkipReason, "--disruptive"))
	}
	return skippedForIt
}

func headlineEvidence(req RequirementResult) string {
	var figures []evidence.Figure
	for _, c := range req.Checks {
		figures = append(figures, c.Figures...)
	}
	if len(figures) == 0 {
		return req.Reason
	}
	// Figures that speak to the threshold (p95 for "p95_latency", "rate" for
	// "sustained_rate") lead; the rest follow in recorded order.
	var words []string
	if name, _, ok := strings.Cut(req.Threshold, " "); ok {
		words = strings.Split(name, "_")
	}
	sort.SliceStable(figures, func(i, j int) bool {
		return relevance(figures[i].Name, words) > relevance(figures[j].Name, words)
	})
	parts := make([]string, 0, 3)
	for _, f := range figures[:min(3, len(figures))] {
		parts = append(parts, f.String())
	}
	return strings.Join(parts, "; ")
}

func relevance(figure string, words []string) int {
	score := 0
	for _, w := range words {
		if len(w) > 2 && strings.Contains(strings.ToLower(figure), strings.ToLower(w)) {
			score++
		}
	}
	return score
}

func mdEscape(s string) string {
	s = strings.ReplaceAll(s, "|", "\\|")
	return strings.ReplaceAll(s, "\n", " ")
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Body    string `xml:",chardata"`
}

// WriteJUnit renders junit.xml: one suite per requirement, one case per check, and a
// "verdict" case per requirement that is a failure whenever the requirement is not a
// pass (failed, not-run, skipped): a NO-GO always shows as failures in CI. A skipped
// or not-run check is a skipped case that says why; a flaky check is a failure.
func WriteJUnit(w io.Writer, r Report) error {
	suites := junitSuites{Name: "redis-shared conformance (" + r.Target + "): " + r.Verdict}
	for _, req := range r.Requirements {
		s := junitSuite{Name: req.ID + " " + req.Title}
		verdict := junitCase{Name: req.ID + " verdict: " + req.Status, Classname: req.ID, Time: "0.000", SystemOut: req.Reason}
		if req.Status != StatusPass && req.Status != StatusWaived {
			msg := req.ID + " " + req.Status + ": " + req.Reason
			if step := req.NextStep(); step != "" {
				msg += " (next: " + step + ")"
			}
			verdict.Failure = &junitMessage{Message: msg, Body: msg}
			s.Failures++
		}
		s.Cases = append(s.Cases, verdict)
		s.Tests++
		for _, c := range req.Checks {
			jc := junitCase{Name: c.Name, Classname: req.ID, Time: fmt.Sprintf("%.3f", c.DurationMS/1000), SystemOut: strings.Join(c.Evidence, "\n")}
			switch c.Status {
			case StatusFail:
				msg := strings.Join(c.Messages, "\n")
				if c.Flaky {
					msg = "flaky (failed, then passed on a retry): " + msg
				}
				jc.Failure = &junitMessage{Message: firstLine(msg), Body: msg}
				s.Failures++
			case StatusSkip:
				jc.Skipped = &junitMessage{Message: c.SkipReason}
				s.Skipped++
			case StatusNotRun:
				msg := "not run: " + strings.Join(c.Messages, "; ")
				jc.Skipped = &junitMessage{Message: msg}
				s.Skipped++
			}
			s.Cases = append(s.Cases, jc)
			s.Tests++
		}
		suites.Tests += s.Tests
		suites.Failures += s.Failures
		suites.Skipped += s.Skipped
		suites.Suites = append(suites.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write junit.xml: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(suites); err != nil {
		return fmt.Errorf("write junit.xml: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
