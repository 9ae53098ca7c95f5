// Package report builds the go/no-go report: it joins the requirement catalog, the
// checks discovered in the code, the policy gate's results, `go test -json` events and
// the evidence the checks recorded, and decides one verdict. Building the model and
// rendering it (Markdown, JSON, JUnit) are separate steps.
package report

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/redis-shared/conformance/tools/catalog"
	"github.com/redis-shared/conformance/tools/checks"
	"github.com/redis-shared/conformance/tools/evidence"
	"github.com/redis-shared/conformance/tools/policy"
)

// SchemaVersion of report.json; bump on any incompatible change of its shape.
const SchemaVersion = 1

// Statuses of requirements and checks.
const (
	StatusPass   = "pass"
	StatusFail   = "fail"
	StatusSkip   = "skip"
	StatusNotRun = "not-run"
)

// Verdicts.
const (
	VerdictGo   = "GO"
	VerdictNoGo = "NO-GO"
)

// Report is the model behind report.json, report.md and junit.xml.
type Report struct {
	SchemaVersion int                 `json:"schemaVersion"`
	GeneratedAt   time.Time           `json:"generatedAt"`
	Target        string              `json:"target"`
	SuiteCommit   string              `json:"suiteCommit"`
	ChartVersion  string              `json:"chartVersion"`
	RedisVersion  string              `json:"redisVersion"`
	Verdict       string              `json:"verdict"`
	Summary       Summary             `json:"summary"`
	Facts         map[string]string   `json:"facts,omitempty"`
	Problems      []string            `json:"problems,omitempty"`
	Requirements  []RequirementResult `json:"requirements"`
}

// Summary counts requirements by status.
type Summary struct {
	Pass   int `json:"pass"`
	Fail   int `json:"fail"`
	Skip   int `json:"skip"`
	NotRun int `json:"notRun"`
}

// RequirementResult is one requirement's verdict and the checks behind it.
type RequirementResult struct {
	ID            string        `json:"id"`
	Title         string        `json:"title"`
	Story         string        `json:"story"`
	Priority      string        `json:"priority"`
	Threshold     string        `json:"threshold,omitempty"`
	Status        string        `json:"status"`
	Reason        string        `json:"reason,omitempty"`
	NotYetCovered string        `json:"notYetCovered,omitempty"`
	Checks        []CheckResult `json:"checks"`
}

// CheckResult is one check as it ran (or did not) against the target.
type CheckResult struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Kind       string            `json:"kind"`
	Source     string            `json:"source"`
	Status     string            `json:"status"`
	Evidence   []string          `json:"evidence"`
	Figures    []evidence.Figure `json:"figures,omitempty"`
	SkipReason string            `json:"skipReason,omitempty"`
	Messages   []string          `json:"messages,omitempty"`
	DurationMS float64           `json:"durationMs"`
}

// Inputs is everything a report is built from. Nil Policy or Tests means that part
// did not run: its checks are reported not-run.
type Inputs struct {
	Catalog     *catalog.Catalog
	Checks      []checks.Check
	Target      string
	SuiteCommit string
	Policy      *policy.Run
	Tests       *TestRun
	Evidence    []evidence.Record
	Now         time.Time
}

// Build joins the inputs into a report and decides the verdict.
func Build(in Inputs) Report {
	rep := Report{
		SchemaVersion: SchemaVersion,
		GeneratedAt:   in.Now.UTC(),
		Target:        in.Target,
		SuiteCommit:   orUnknown(in.SuiteCommit),
		Facts:         map[string]string{},
	}
	for _, rec := range in.Evidence {
		for k, v := range rec.Meta {
			rep.Facts[k] = v
		}
	}
	rep.ChartVersion = orUnknown(rep.Facts[evidence.MetaChartVersion])
	rep.RedisVersion = orUnknown(rep.Facts[evidence.MetaRedisVersion])
	if in.Tests != nil {
		for _, pf := range in.Tests.PackageFailures {
			rep.Problems = append(rep.Problems, fmt.Sprintf("package %s failed outside any check: %s", pf.Package, lastLines(pf.Output, 3)))
		}
	}
	if in.Policy == nil {
		rep.Problems = append(rep.Problems, "the policy gate did not run: its checks are not-run")
	}
	if in.Tests == nil {
		rep.Problems = append(rep.Problems, "the live suites did not run: their checks are not-run")
	}

	policyRules := map[string]policy.Rule{}
	if in.Policy != nil {
		for _, r := range in.Policy.Rules {
			policyRules[r.Package] = r
		}
	}
	results := map[string]CheckResult{}
	for _, c := range in.Checks {
		if !c.AppliesTo(in.Target) {
			continue
		}
		switch c.Kind {
		case checks.KindPolicy:
			results[c.ID] = policyCheckResult(c, in.Policy != nil, policyRules)
		case checks.KindSuite:
			results[c.ID] = suiteCheckResult(c, in.Tests, in.Evidence)
		}
	}
	if in.Policy != nil {
		for _, r := range in.Policy.Rules {
			if !slices.ContainsFunc(in.Checks, func(c checks.Check) bool { return c.Package == r.Package }) {
				rep.Problems = append(rep.Problems, fmt.Sprintf("policy result for %s has no check in policies/: ignored", r.Package))
			}
		}
	}

	for _, req := range in.Catalog.Requirements {
		rr := RequirementResult{
			ID:            req.ID,
			Title:         req.Title,
			Story:         req.Story,
			Priority:      req.Priority,
			NotYetCovered: req.NotYetCovered,
			Checks:        []CheckResult{},
		}
		if req.Threshold != nil {
			rr.Threshold = req.Threshold.String()
		}
		for _, c := range in.Checks {
			if res, ok := results[c.ID]; ok && slices.Contains(c.Requirements, req.ID) {
				rr.Checks = append(rr.Checks, res)
			}
		}
		rr.Status, rr.Reason = requirementStatus(rr)
		rep.Requirements = append(rep.Requirements, rr)
		switch rr.Status {
		case StatusPass:
			rep.Summary.Pass++
		case StatusFail:
			rep.Summary.Fail++
		case StatusSkip:
			rep.Summary.Skip++
		default:
			rep.Summary.NotRun++
		}
	}
	rep.Verdict = VerdictNoGo
	if len(rep.Requirements) > 0 && rep.Summary.Pass == len(rep.Requirements) {
		rep.Verdict = VerdictGo
	}
	return rep
}

// requirementStatus: any failing check fails it; any check that should have run and
// did not leaves it not-run; otherwise it passes when at least one check passed.
// Skipped checks (always with a reason) neither pass nor block it.
func requirementStatus(rr RequirementResult) (string, string) {
	if len(rr.Checks) == 0 {
		if rr.NotYetCovered != "" {
			return StatusNotRun, "not yet covered: " + rr.NotYetCovered
		}
		return StatusNotRun, "no check applies to this target"
	}
	count := map[string]int{}
	for _, c := range rr.Checks {
		count[c.Status]++
	}
	switch {
	case count[StatusFail] > 0:
		return StatusFail, fmt.Sprintf("%d of %d checks failed", count[StatusFail], len(rr.Checks))
	case count[StatusNotRun] > 0:
		return StatusNotRun, fmt.Sprintf("%d of %d checks did not run", count[StatusNotRun], len(rr.Checks))
	case count[StatusPass] > 0:
		return StatusPass, fmt.Sprintf("%d of %d checks passed, %d skipped", count[StatusPass], len(rr.Checks), count[StatusSkip])
	default:
		return StatusSkip, "every check was skipped"
	}
}

func policyCheckResult(c checks.Check, policyRan bool, rules map[string]policy.Rule) CheckResult {
	res := CheckResult{ID: c.ID, Name: c.Name, Kind: string(c.Kind), Source: c.Source, Evidence: []string{}}
	rule, ok := rules[c.Package]
	switch {
	case !policyRan:
		res.Status = StatusNotRun
	case !ok:
		res.Status = StatusNotRun
		res.Messages = []string{"the policy gate ran but returned no result for this rule"}
	default:
		res.Status = rule.Status
		res.DurationMS = rule.DurationMS
		for _, v := range rule.Violations {
			res.Messages = append(res.Messages, v.Message)
		}
		if rule.Status == policy.StatusPass {
			res.Evidence = append(res.Evidence, "no violation over the evaluated inputs")
		}
	}
	return res
}

func suiteCheckResult(c checks.Check, tests *TestRun, records []evidence.Record) CheckResult {
	res := CheckResult{ID: c.ID, Name: c.Name, Kind: string(c.Kind), Source: c.Source, Evidence: []string{}}
	outcome, ran := tests.Lookup(c.TestName)
	if !ran {
		// A test function that skipped as a whole skipped each of its features.
		parentName, _, _ := strings.Cut(c.TestName, "/")
		if parent, ok := tests.Lookup(parentName); ok && parent.Status == StatusSkip {
			res.Status = StatusSkip
			res.SkipReason = skipReason(parent, nil)
			return res
		}
		res.Status = StatusNotRun
		return res
	}
	res.Status = outcome.Status
	res.DurationMS = float64(outcome.Elapsed) / float64(time.Millisecond)
	sub := tests.Subtests(c.TestName)
	switch outcome.Status {
	case StatusSkip:
		res.SkipReason = skipReason(outcome, sub)
	case StatusFail:
		res.Messages = append(res.Messages, outcome.Messages...)
		for _, s := range sub {
			if s.Status == StatusFail {
				for _, m := range s.Messages {
					res.Messages = append(res.Messages, subtestLabel(c.TestName, s.Test)+m)
				}
			}
		}
	}
	for _, rec := range records {
		if rec.Test != c.TestName && !strings.HasPrefix(rec.Test, c.TestName+"/") {
			continue
		}
		for _, f := range rec.Figures {
			res.Figures = append(res.Figures, f)
			res.Evidence = append(res.Evidence, f.String())
		}
		res.Evidence = append(res.Evidence, rec.Notes...)
	}
	return res
}

func skipReason(o TestOutcome, sub []TestOutcome) string {
	if len(o.Messages) > 0 {
		return o.Messages[len(o.Messages)-1]
	}
	for _, s := range sub {
		if s.Status == StatusSkip && len(s.Messages) > 0 {
			return s.Messages[len(s.Messages)-1]
		}
	}
	return "skipped without a reason (a defect of the check)"
}

func subtestLabel(parent, test string) string {
	return strings.TrimPrefix(test, parent+"/") + ": "
}

func sortOutcomes(out []TestOutcome) {
	sort.Slice(out, func(i, j int) bool { return out[i].Test < out[j].Test })
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
