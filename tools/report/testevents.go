package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// TestEvent is one line of `go test -json` (test2json).
type TestEvent struct {
	Time    time.Time `json:"Time"`
	Action  string    `json:"Action"`
	Package string    `json:"Package"`
	Test    string    `json:"Test"`
	Elapsed float64   `json:"Elapsed"`
	Output  string    `json:"Output"`
	// Newer go versions add these; accepted and ignored.
	ImportPath  string `json:"ImportPath"`
	FailedBuild string `json:"FailedBuild"`
	Source      string `json:"Source"`
}

// TestOutcome is the end state of one test or subtest.
type TestOutcome struct {
	Package  string
	Test     string
	Status   string // pass, fail, skip
	Elapsed  time.Duration
	Messages []string // t.Log/t.Error/t.Skip lines, without file:line
	// Runs counts the results seen for this name (go test -count=N, a retry, or the
	// same test in two --tests files).
	Runs int
	// Flaky: one run failed and another passed. The outcome stays a failure.
	Flaky bool
}

// mergeOutcome joins two results of the same test: any failure fails it, and a pass
// beside a failure marks it flaky instead of hiding the failure. A pass beats a skip.
func mergeOutcome(prev, next TestOutcome) TestOutcome {
	if prev.Runs == 0 {
		prev.Runs = 1
	}
	if next.Runs == 0 {
		next.Runs = 1
	}
	out := prev
	out.Runs = prev.Runs + next.Runs
	out.Elapsed = prev.Elapsed + next.Elapsed
	out.Flaky = prev.Flaky || next.Flaky ||
		(prev.Status == "fail" && next.Status == "pass") || (prev.Status == "pass" && next.Status == "fail")
	switch {
	case prev.Status == "fail" && next.Status == "fail":
		out.Messages = append(append([]string(nil), prev.Messages...), next.Messages...)
	case next.Status == "fail":
		out.Status, out.Messages = "fail", next.Messages
	case prev.Status == "fail":
		// keep prev
	case next.Status == "pass":
		out.Status, out.Messages = "pass", next.Messages
	}
	return out
}

// PackageFailure is a package that failed without a failing test (build error, panic
// outside a test, timeout).
type PackageFailure struct {
	Package string
	Output  string
}

// TestRun is a parsed `go test -json` stream.
type TestRun struct {
	Outcomes        map[string]TestOutcome // by test name (unique across packages here)
	PackageFailures []PackageFailure
}

var knownActions = map[string]bool{
	"start": true, "run": true, "pause": true, "cont": true, "pass": true, "bench": true,
	"fail": true, "output": true, "skip": true, "build-output": true, "build-fail": true,
}

// logLine matches what testing prints for t.Log and friends: "    file_test.go:12: msg".
var logLine = regexp.MustCompile(`^\s+[\w./-]+\.go:\d+: (.*)$`)

// continuation matches the deeper-indented lines that carry the rest of a message.
var continuation = regexp.MustCompile(`^(\s{8,}|\s*\t)\S`)

// joinMessage keeps a multi-line message on one line, dropping testify's trace lines.
func joinMessage(prev, next string) string {
	if strings.HasPrefix(next, "Error Trace:") || strings.HasPrefix(next, "Test:") {
		return prev
	}
	next = strings.Join(strings.Fields(next), " ")
	if prev == "" {
		return next
	}
	return prev + " " + next
}

// ParseTestEvents reads a `go test -json` stream. Every line must be a JSON event; a
// test that started but never ended means the stream was cut short, and is an error.
func ParseTestEvents(raw []byte) (*TestRun, error) {
	run := &TestRun{Outcomes: map[string]TestOutcome{}}
	started := map[string]int{}
	messages := map[string][]string{}
	pkgOutput := map[string]*strings.Builder{}
	pkgHasFailingTest := map[string]bool{}
	pkgDone := map[string]bool{}
	scanner := bufio.NewScanner(bytes.NewReader(raw))
	scanner.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	lineNo := 0
	for scanner.Scan() {
		lineNo++
		line := bytes.TrimSpace(scanner.Bytes())
		if len(line) == 0 {
			continue
		}
		var ev TestEvent
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ev); err != nil {
			return nil, fmt.Errorf("line %d: not a go test -json event: %w", lineNo, err)
		}
		if dec.More() {
			return nil, fmt.Errorf("line %d: more than one JSON value", lineNo)
		}
		if !knownActions[ev.Action] {
			return nil, fmt.Errorf("line %d: unknown action %q", lineNo, ev.Action)
		}
		if ev.Action == "build-output" || ev.Action == "build-fail" {
			continue
		}
		if ev.Package == "" {
			return nil, fmt.Errorf("line %d: event without a package", lineNo)
		}
		key := ev.Package + "\x00" + ev.Test
		switch ev.Action {
		case "run":
			if ev.Test != "" {
				started[key] = lineNo
			}
		case "output":
			if ev.Test == "" {
				b := pkgOutput[ev.Package]
				if b == nil {
					b = &strings.Builder{}
					pkgOutput[ev.Package] = b
				}
				b.WriteString(ev.Output)
				continue
			}
			text := strings.TrimRight(ev.Output, "\n")
			if m := logLine.FindStringSubmatch(text); m != nil {
				messages[key] = append(messages[key], strings.TrimSpace(m[1]))
			} else if msgs := messages[key]; len(msgs) > 0 && continuation.MatchString(text) {
				// testify and multi-line t.Error put their text on deeper-indented lines.
				msgs[len(msgs)-1] = joinMessage(msgs[len(msgs)-1], strings.TrimSpace(text))
			}
		case "pass", "fail", "skip":
			if ev.Test == "" {
				pkgDone[ev.Package] = true
				if ev.Action == "fail" && !pkgHasFailingTest[ev.Package] {
					out := ""
					if b := pkgOutput[ev.Package]; b != nil {
						out = b.String()
					}
					run.PackageFailures = append(run.PackageFailures, PackageFailure{Package: ev.Package, Output: out})
				}
				continue
			}
			delete(started, key)
			if ev.Action == "fail" {
				pkgHasFailingTest[ev.Package] = true
			}
			outcome := TestOutcome{
				Package:  ev.Package,
				Test:     ev.Test,
				Status:   ev.Action,
				Elapsed:  time.Duration(ev.Elapsed * float64(time.Second)),
				Messages: messages[key],
				Runs:     1,
			}
			delete(messages, key) // a second run of the same name starts afresh
			if prev, dup := run.Outcomes[ev.Test]; dup {
				outcome = mergeOutcome(prev, outcome)
			}
			run.Outcomes[ev.Test] = outcome
		}
	}
	if err := scanner.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", lineNo+1, err)
	}
	for key, at := range started {
		pkg, test, _ := strings.Cut(key, "\x00")
		if !pkgDone[pkg] {
			return nil, fmt.Errorf("line %d: test %s started but the stream ends before its result (truncated?)", at, test)
		}
	}
	run.skipWhenSubtestsSkipped()
	return run, nil
}

// skipWhenSubtestsSkipped turns a passing feature (or assessment) with any skipped
// subtest into a skip: it did not check all it claims (go test passes a feature whose
// assessments called t.Skip). A TestXxx function is a skip only when every feature
// under it skipped: its features are judged one by one. Deepest tests first, so the
// rule climbs from assessments to features to TestXxx. The reason is the first one a
// skipped subtest gave.
func (r *TestRun) skipWhenSubtestsSkipped() {
	names := make([]string, 0, len(r.Outcomes))
	for name := range r.Outcomes {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		di, dj := strings.Count(names[i], "/"), strings.Count(names[j], "/")
		if di != dj {
			return di > dj
		}
		return names[i] < names[j]
	})
	for _, name := range names {
		o := r.Outcomes[name]
		if o.Status != "pass" {
			continue
		}
		var children []TestOutcome
		depth := strings.Count(name, "/") + 1
		for _, c := range r.Subtests(name) {
			if c.Package == o.Package && strings.Count(c.Test, "/") == depth {
				children = append(children, c)
			}
		}
		if len(children) == 0 {
			continue
		}
		skipped := 0
		for _, c := range children {
			if c.Status == "skip" {
				skipped++
			}
		}
		topLevel := !strings.Contains(name, "/")
		if skipped == 0 || (topLevel && skipped < len(children)) {
			continue
		}
		o.Status = "skip"
		reason := "every subtest was skipped"
		if skipped < len(children) {
			reason = fmt.Sprintf("%d of %d subtests were skipped", skipped, len(children))
		}
		for _, c := range children {
			if c.Status == "skip" && len(c.Messages) > 0 {
				reason += ": " + c.Messages[len(c.Messages)-1]
				break
			}
		}
		o.Messages = append(o.Messages, reason)
		r.Outcomes[name] = o
	}
}

// Lookup returns the outcome of a test name, if it ran.
func (r *TestRun) Lookup(test string) (TestOutcome, bool) {
	if r == nil {
		return TestOutcome{}, false
	}
	o, ok := r.Outcomes[test]
	return o, ok
}

// Subtests returns the outcomes of every test under prefix/, in name order.
func (r *TestRun) Subtests(prefix string) []TestOutcome {
	if r == nil {
		return nil
	}
	var out []TestOutcome
	for name, o := range r.Outcomes {
		if strings.HasPrefix(name, prefix+"/") {
			out = append(out, o)
		}
	}
	sortOutcomes(out)
	return out
}

// Merge returns a run holding both runs' outcomes; a nil receiver is an empty run. A
// test in both is merged by mergeOutcome: a failure in either fails it.
func (r *TestRun) Merge(other *TestRun) *TestRun {
	out := &TestRun{Outcomes: map[string]TestOutcome{}}
	for _, run := range []*TestRun{r, other} {
		if run == nil {
			continue
		}
		for k, v := range run.Outcomes {
			if prev, dup := out.Outcomes[k]; dup {
				v = mergeOutcome(prev, v)
			}
			out.Outcomes[k] = v
		}
		out.PackageFailures = append(out.PackageFailures, run.PackageFailures...)
	}
	return out
}
