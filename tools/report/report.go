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
	// StatusWaived is a requirement that did not pass, under a waiver that has not
	// expired (waivers.go): counted apart, it does not block GO.
	StatusWaived = "waived"
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

// Summary counts requirements by status, and the checks behind them.
type Summary struct {
	Pass   int `json:"pass"`
	Fail   int `json:"fail"`
	Skip   int `json:"skip"`
	NotRun int `json:"notRun"`
	// Waived counts requirements under a valid waiver (waivers.go).
	Waived int `json:"waived,omitempty"`
	// Checks counts every check that applies to the target once, by status.
	Checks CheckCounts `json:"checks"`
}

// CheckCounts counts checks by status; Flaky counts failed checks that passed on a
// retry (still failed).
type CheckCounts struct {
	Pass   int `json:"pass"`
	Fail   int `json:"fail"`
	Skip   int `json:"skip"`
	NotRun int `json:"notRun"`
	Flaky  int `json:"flaky"`
}

// RequirementResult is one requirement's verdict and the checks behind it.
type RequirementResult struct {
	ID            string `json:"id"`
	Title         string `json:"title"`
	Story         string `json:"story"`
	Priority      string `json:"priority"`
	Threshold     string `json:"threshold,omitempty"`
	Status        string `json:"status"`
	Reason        string `json:"reason,omitempty"`
	NotYetCovered string `json:"notYetCovered,omitempty"`
	// ProofKinds are the verification kinds (static, live, disruptive) that each need
	// a passing check on this target (catalog.Requirement.ProofKinds).
	ProofKinds []string `json:"proofKinds"`
	// Hint says what to change or run when the requirement is not a pass.
	Hint string `json:"hint,omitempty"`
	// Bounds are the catalog's bounds, with the reasoning of derived ones.
	Bounds []string      `json:"bounds,omitempty"`
	Checks []CheckResult `json:"checks"`
	Waiver *WaiverResult `json:"waiver,omitempty"` // valid or expired (waivers.go)
}

// WaiverResult is how a waiver applied to a requirement (waivers.go).
type WaiverResult struct {
	Reason  string `json:"reason"`
	Owner   string `json:"owner"`
	Expires string `json:"expires"`
	Expired bool   `json:"expired"`
	// StatusWithout is the requirement's status without the waiver.
	StatusWithout string `json:"statusWithout"`
}

// CheckResult is one check as it ran (or did not) against the target.
type CheckResult struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Verification is the kind of proof: static, live or disruptive.
	Verification string `json:"verification"`
	Source       string `json:"source"`
	Status       string `json:"status"`
	// Flaky marks a check that failed in one input and passed in another (a retry):
	// it stays failed.
	Flaky      bool              `json:"flaky,omitempty"`
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
	if in.Policy != nil {
		// What the static gate judged: its input files and the chart it rendered.
		for _, src := range in.Policy.Inputs {
			kind, what, _ := strings.Cut(src, ": ")
			rep.Facts["policy gate input "+kind] = what
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

	policyRules := mergePolicyRules(in.Policy)
	results := map[string]CheckResult{}
	for _, c := range in.Checks {
		if !c.AppliesTo(in.Target) {
			continue
		}
		var res CheckResult
		switch c.Kind {
		case checks.KindPolicy:
			res = policyCheckResult(c, in.Policy != nil, policyRules)
		case checks.KindSuite:
			res = suiteCheckResult(c, in.Tests, in.Evidence)
		default:
			continue
		}
		res.Verification = string(c.Verification())
		results[c.ID] = res
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
			ProofKinds:    []string{},
			Hint:          req.Hint,
			Checks:        []CheckResult{},
		}
		for _, k := range req.ProofKinds(in.Target) {
			rr.ProofKinds = append(rr.ProofKinds, string(k))
		}
		if req.Threshold != nil {
			rr.Threshold = req.Threshold.String()
		}
		for _, b := range req.Bounds {
			text := b.String()
			if b.Why != "" {
				text += " (" + b.Why + ")"
			}
			rr.Bounds = append(rr.Bounds, text)
		}
		for _, c := range in.Checks {
			if res, ok := results[c.ID]; ok && slices.Contains(c.Requirements, req.ID) {
				rr.Checks = append(rr.Checks, res)
			}
		}
		rep.Requirements = append(rep.Requirements, rr)
	}
	rep.Decide()
	return rep
}

// Decide is the one place that turns check results into requirement statuses, the
// summary and the verdict; Build ends with it, and a step that changes the report
// afterwards (waivers) calls it again.
//
// Contract:
//   - It reads each requirement's ProofKinds and NotYetCovered and each check's
//     Status, Verification, SkipReason and Messages; it overwrites every
//     requirement's Status and Reason, the whole Summary and the Verdict.
//   - A requirement that carries a Waiver (valid or expired) keeps the Status and
//     Reason the waiver step set from an earlier Decide; a StatusWaived one counts in
//     Summary.Waived and does not block GO.
//   - Every other requirement gets the status of requirementStatus (the rules are
//     documented there and in docs/report.md).
//   - Summary.Checks counts each distinct check (by ID) once, however many
//     requirements it proves.
//   - The verdict is GO only when there is at least one requirement and every
//     requirement is pass (or waived); anything else, including a skip, is NO-GO.
//
// It is idempotent: calling it twice gives the same report.
func (r *Report) Decide() {
	r.Summary = Summary{}
	counted := map[string]bool{}
	for i := range r.Requirements {
		rr := &r.Requirements[i]
		// Waivers (waivers.go) set the status themselves: waived, or fail when expired.
		if rr.Waiver == nil || rr.Status != StatusWaived && !rr.Waiver.Expired {
			rr.Status, rr.Reason = requirementStatus(*rr)
		}
		switch rr.Status {
		case StatusPass:
			r.Summary.Pass++
		case StatusFail:
			r.Summary.Fail++
		case StatusSkip:
			r.Summary.Skip++
		case StatusWaived:
			r.Summary.Waived++
		default:
			r.Summary.NotRun++
		}
		for _, c := range rr.Checks {
			if counted[c.ID] {
				continue
			}
			counted[c.ID] = true
			switch c.Status {
			case StatusPass:
				r.Summary.Checks.Pass++
			case StatusFail:
				r.Summary.Checks.Fail++
			case StatusSkip:
				r.Summary.Checks.Skip++
			default:
				r.Summary.Checks.NotRun++
			}
			if c.Flaky {
				r.Summary.Checks.Flaky++
			}
		}
	}
	r.Verdict = VerdictNoGo
	if len(r.Requirements) > 0 && r.Summary.Pass+r.Summary.Waived == len(r.Requirements) {
		r.Verdict = VerdictGo
	}
}

// requirementStatus applies the status rules, first match wins:
//  1. no check applies: not-run ("not yet covered: ..." or "no check applies").
//  2. any check failed (a flaky one included): fail.
//  3. any check that should have run did not (its part of the run is missing): not-run.
//  4. a proof kind without a passing check: not-run, "<kind> proof missing: <why>",
//     the why being the skip reason of a check of that kind when there is one (a
//     requirement whose checks all skipped is not-run too: nothing proved it).
//  5. otherwise (every proof kind has a passing check; skips of extra checks
//     aside): pass.
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
	if count[StatusFail] > 0 {
		var flaky []string
		for _, c := range rr.Checks {
			if c.Status == StatusFail && c.Flaky {
				flaky = append(flaky, c.Name)
			}
		}
		reason := fmt.Sprintf("%d of %d checks failed", count[StatusFail], len(rr.Checks))
		if len(flaky) > 0 {
			reason += fmt.Sprintf(" (flaky, passed on a retry: %s)", strings.Join(flaky, ", "))
		}
		return StatusFail, reason
	}
	if count[StatusNotRun] > 0 {
		var missing []string
		for _, c := range rr.Checks {
			if c.Status == StatusNotRun {
				missing = append(missing, notRunWhy(c))
			}
		}
		return StatusNotRun, fmt.Sprintf("%d of %d checks did not run: %s", count[StatusNotRun], len(rr.Checks), strings.Join(dedupe(missing), "; "))
	}
	var unproven []string
	for _, kind := range rr.ProofKinds {
		proven := false
		why := ""
		for _, c := range rr.Checks {
			if c.Verification != kind {
				continue
			}
			if c.Status == StatusPass {
				proven = true
				break
			}
			if why == "" && c.Status == StatusSkip {
				why = c.SkipReason
			}
		}
		if proven {
			continue
		}
		if why == "" {
			why = "no " + kind + " check applies to this target"
		}
		unproven = append(unproven, kind+" proof missing: "+why)
	}
	if len(unproven) > 0 {
		return StatusNotRun, strings.Join(unproven, "; ")
	}
	return StatusPass, fmt.Sprintf("%d of %d checks passed (proof: %s), %d skipped", count[StatusPass], len(rr.Checks), strings.Join(rr.ProofKinds, ", "), count[StatusSkip])
}

func notRunWhy(c CheckResult) string {
	if len(c.Messages) > 0 {
		return c.Name + ": " + c.Messages[0]
	}
	if c.Verification == "static" {
		return "the policy gate did not run (make conformance STATIC=1)"
	}
	return c.Name + ": no result in the test events"
}

func dedupe(items []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range items {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// mergePolicyRules indexes a policy run by package. A rule listed more than once
// keeps its first failure: a later pass never hides it (it is marked flaky).
func mergePolicyRules(run *policy.Run) map[string]policyRuleResult {
	rules := map[string]policyRuleResult{}
	if run == nil {
		return rules
	}
	for _, r := range run.Rules {
		prev, seen := rules[r.Package]
		switch {
		case !seen:
			rules[r.Package] = policyRuleResult{Rule: r}
		case prev.Status == policy.StatusFail:
			prev.Flaky = prev.Flaky || r.Status == policy.StatusPass
			rules[r.Package] = prev
		case r.Status == policy.StatusFail:
			rules[r.Package] = policyRuleResult{Rule: r, Flaky: true}
		}
	}
	return rules
}

type policyRuleResult struct {
	policy.Rule
	Flaky bool
}

func policyCheckResult(c checks.Check, policyRan bool, rules map[string]policyRuleResult) CheckResult {
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
		res.Flaky = rule.Flaky
		res.DurationMS = rule.DurationMS
		for _, v := range rule.Violations {
			res.Messages = append(res.Messages, v.Message)
		}
		if rule.Status == policy.StatusPass {
			res.Evidence = append(res.Evidence, rule.Evidence...)
			if len(rule.Evidence) == 0 {
				res.Evidence = append(res.Evidence, "no violation over the evaluated inputs")
			}
		}
		if rule.Reason != "" {
			res.Messages = append(res.Messages, rule.Reason)
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
	res.Flaky = outcome.Flaky
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
