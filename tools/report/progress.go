package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/redis-shared/conformance/tools/checks"
	"github.com/redis-shared/conformance/tools/evidence"
)

// Progress turns a `go test -json` stream into one console line per check as it
// finishes (status, requirement ids, the key figure, elapsed time) while copying the
// stream unchanged to a file, so the report reads exactly what go test wrote.
type Progress struct {
	// Checks are the discovered suite checks, by go test name.
	Checks map[string]checks.Check
	// EvidencePath is read when a check finishes, for its key figure; "" for none.
	EvidencePath string
	// Now is the clock (tests pass a fixed one).
	Now func() time.Time
	// Judged maps a requirement id to the words of its catalog threshold's name
	// ("lost acknowledged writes"): the figure named so is the check's key figure.
	Judged map[string]string
}

// NewProgress indexes the suite checks by their go test names.
func NewProgress(all []checks.Check, evidencePath string) *Progress {
	p := &Progress{Checks: map[string]checks.Check{}, EvidencePath: evidencePath, Now: time.Now}
	for _, c := range all {
		if c.Kind == checks.KindSuite && c.TestName != "" {
			p.Checks[c.TestName] = c
		}
	}
	return p
}

type progressEvent struct {
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
}

// ProgressCounts is what a stream held, by check status.
type ProgressCounts struct {
	Pass, Fail, Skip int
}

// Run copies in to raw and writes the progress lines to console until in ends. A line
// that is not JSON (a build failure, a panic before -json took over) is copied and
// shown as it is.
func (p *Progress) Run(in io.Reader, raw, console io.Writer) (ProgressCounts, error) {
	var counts ProgressCounts
	pkgs := map[string]*packageSeen{}
	start := p.Now()
	reader := bufio.NewReaderSize(in, 64*1024)
	for {
		line, err := reader.ReadString('\n')
		if len(line) > 0 {
			if _, werr := io.WriteString(raw, line); werr != nil {
				return counts, fmt.Errorf("progress: copy the test stream: %w", werr)
			}
			p.show(line, start, console, &counts, pkgs)
		}
		if err == io.EOF {
			return counts, nil
		}
		if err != nil {
			return counts, fmt.Errorf("progress: read the test stream: %w", err)
		}
	}
}

// packageSeen is what a package's events said so far: whether any test ran, and the
// last line it printed outside every test (TestMain's own words).
type packageSeen struct {
	ran  bool
	said string
}

// ownWords is a package-level output line worth showing when the package fails before
// any test runs: not go test's own PASS/FAIL/ok summary lines.
func ownWords(output string) (string, bool) {
	line := strings.TrimSpace(output)
	if line == "" {
		return "", false
	}
	for _, prefix := range []string{"FAIL", "PASS", "ok ", "=== ", "--- ", "exit status"} {
		if strings.HasPrefix(line, prefix) {
			return "", false
		}
	}
	return line, true
}

func (p *Progress) show(line string, start time.Time, console io.Writer, counts *ProgressCounts, pkgs map[string]*packageSeen) {
	trimmed := strings.TrimSpace(line)
	if trimmed == "" {
		return
	}
	var ev progressEvent
	if err := json.Unmarshal([]byte(trimmed), &ev); err != nil {
		fmt.Fprintf(console, "  | %s\n", trimmed)
		return
	}
	seen := pkgs[ev.Package]
	if seen == nil {
		seen = &packageSeen{}
		pkgs[ev.Package] = seen
	}
	if ev.Test != "" && ev.Action == "run" {
		seen.ran = true
	}
	if words, ok := ownWords(ev.Output); ok && ev.Test == "" && ev.Action == "output" {
		seen.said = words
	}
	since := p.Now().Sub(start).Truncate(time.Second)
	switch {
	case ev.Test == "" && (ev.Action == "pass" || ev.Action == "fail" || ev.Action == "skip"):
		why := ""
		// A package that failed before any test ran (no target, a bad flag) says why
		// here, not only in the report's problems: every check in it is not-run.
		if ev.Action == "fail" && !seen.ran && seen.said != "" {
			why = ": " + seen.said
		}
		fmt.Fprintf(console, "[%6s] package %s %s (%.1f s)%s\n", since, shortPackage(ev.Package), ev.Action, ev.Elapsed, why)
		return
	case ev.Action == "start" && ev.Test == "":
		fmt.Fprintf(console, "[%6s] package %s started\n", since, shortPackage(ev.Package))
		return
	}
	c, ok := p.Checks[ev.Test]
	if !ok {
		return
	}
	var mark string
	switch ev.Action {
	case "pass":
		mark = "PASS"
		counts.Pass++
	case "fail":
		mark = "FAIL"
		counts.Fail++
	case "skip":
		mark = "SKIP"
		counts.Skip++
	default:
		return
	}
	fmt.Fprintf(console, "[%6s] %-4s %-16s %s%s (%.1f s)\n", since, mark, strings.Join(c.Requirements, ","), c.Name, p.keyFigure(ev.Test, c.Requirements), ev.Elapsed)
}

// keyFigure is the check's headline figure from the evidence so far: a p95 when it
// recorded one, else the figure named after a requirement's threshold, else its first.
func (p *Progress) keyFigure(test string, requirements []string) string {
	if p.EvidencePath == "" {
		return ""
	}
	raw, err := os.ReadFile(p.EvidencePath)
	if err != nil {
		return ""
	}
	// A record being written while we read may be cut short: parse line by line and
	// keep what parses.
	var figs []evidence.Figure
	for _, l := range strings.Split(string(raw), "\n") {
		recs, err := evidence.Parse([]byte(l))
		if err != nil || len(recs) != 1 {
			continue
		}
		if recs[0].Test == test || strings.HasPrefix(recs[0].Test, test+"/") {
			figs = append(figs, recs[0].Figures...)
		}
	}
	if len(figs) == 0 {
		return ""
	}
	// Baseline and saturation figures are comparisons; the judged figure is another.
	judged := slices.DeleteFunc(slices.Clone(figs), func(f evidence.Figure) bool {
		return strings.HasPrefix(f.Name, "baseline ") || strings.HasPrefix(f.Name, "saturation ")
	})
	if len(judged) > 0 {
		figs = judged
	}
	for _, f := range figs {
		if strings.Contains(f.Name, "p95") {
			return ": " + f.String()
		}
	}
	for _, id := range requirements {
		if words := p.Judged[id]; words != "" {
			for _, f := range figs {
				if strings.HasPrefix(f.Name, words) {
					return ": " + f.String()
				}
			}
		}
	}
	return ": " + figs[0].String()
}

func shortPackage(pkg string) string {
	if i := strings.Index(pkg, "/suites/"); i >= 0 {
		return pkg[i+1:]
	}
	return pkg
}
