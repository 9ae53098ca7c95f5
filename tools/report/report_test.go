package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redis-shared/conformance/tools/catalog"
	"github.com/redis-shared/conformance/tools/checks"
	"github.com/redis-shared/conformance/tools/evidence"
	"github.com/redis-shared/conformance/tools/policy"
)

var testCatalog = &catalog.Catalog{Requirements: []catalog.Requirement{
	{ID: "FR-005", Title: "Not public", Story: "US2", Priority: "P2", Verification: []catalog.Verification{catalog.Static, catalog.Live}},
	{ID: "SC-001", Title: "p95", Story: "US1", Priority: "P1", Verification: []catalog.Verification{catalog.Live}, Threshold: &catalog.Limit{Name: "p95_latency", Op: "<", Value: 10.0, Unit: "ms"}},
	{ID: "FR-015", Title: "Cutover", Story: "US4", Priority: "P1", Verification: []catalog.Verification{catalog.Live, catalog.Manual}, NotYetCovered: "later"},
}}

var testChecks = []checks.Check{
	{ID: "policy:redis.lan", Kind: checks.KindPolicy, Name: "LAN ranges", Requirements: []string{"FR-005"}, Source: "policies/lan/policy.rego:1", Package: "redis.lan"},
	{ID: "suite:TestNet/outside_refused", Kind: checks.KindSuite, Name: "outside refused", Requirements: []string{"FR-005"}, Source: "suites/net/net_test.go:9", TestName: "TestNet/outside_refused"},
	{ID: "suite:TestPerf/latency", Kind: checks.KindSuite, Name: "latency", Requirements: []string{"SC-001"}, Source: "suites/perf/perf_test.go:9", TestName: "TestPerf/latency"},
	{ID: "suite:TestPerf/kube_only", Kind: checks.KindSuite, Name: "kube only", Requirements: []string{"SC-001"}, Targets: []string{"kube"}, Source: "suites/perf/perf_test.go:20", TestName: "TestPerf/kube_only"},
}

func events(lines ...string) *TestRun {
	run, err := ParseTestEvents([]byte(strings.Join(lines, "\n")))
	if err != nil {
		panic(err)
	}
	return run
}

func ev(action, test string, extra ...string) string {
	out := ""
	if len(extra) > 0 {
		out = extra[0]
	}
	b, _ := json.Marshal(TestEvent{Action: action, Package: "p", Test: test, Output: out, Elapsed: 0.5})
	return string(b)
}

func passingPolicy() *policy.Run {
	return &policy.Run{SchemaVersion: 1, Rules: []policy.Rule{{Package: "redis.lan", Requirements: []string{"FR-005"}, Status: "pass"}}}
}

func TestBuildDecidesRequirementStatus(t *testing.T) {
	tests := []struct {
		name    string
		policy  *policy.Run
		tests   *TestRun
		want    map[string]string
		verdict string
	}{
		{
			name:    "nothing ran: every requirement not-run",
			want:    map[string]string{"FR-005": StatusNotRun, "SC-001": StatusNotRun, "FR-015": StatusNotRun},
			verdict: VerdictNoGo,
		},
		{
			name:   "all pass but the uncovered one",
			policy: passingPolicy(),
			tests: events(ev("run", "TestNet/outside_refused"), ev("pass", "TestNet/outside_refused"),
				ev("run", "TestPerf/latency"), ev("pass", "TestPerf/latency"), ev("pass", "")),
			want:    map[string]string{"FR-005": StatusPass, "SC-001": StatusPass, "FR-015": StatusNotRun},
			verdict: VerdictNoGo,
		},
		{
			name:   "a failing check fails the requirement though another passed",
			policy: passingPolicy(),
			tests: events(ev("run", "TestNet/outside_refused"), ev("fail", "TestNet/outside_refused"),
				ev("run", "TestPerf/latency"), ev("pass", "TestPerf/latency"), ev("fail", "")),
			want:    map[string]string{"FR-005": StatusFail, "SC-001": StatusPass, "FR-015": StatusNotRun},
			verdict: VerdictNoGo,
		},
		{
			name:   "all checks skipped is not-run, never pass",
			policy: passingPolicy(),
			tests: events(ev("run", "TestPerf/latency"), ev("output", "TestPerf/latency", "    perf_test.go:12: no probe pod\n"), ev("skip", "TestPerf/latency"),
				ev("run", "TestNet/outside_refused"), ev("pass", "TestNet/outside_refused"), ev("pass", "")),
			want:    map[string]string{"FR-005": StatusPass, "SC-001": StatusNotRun, "FR-015": StatusNotRun},
			verdict: VerdictNoGo,
		},
		{
			name:    "a check that should have run and did not leaves the requirement not-run",
			policy:  passingPolicy(),
			tests:   events(ev("run", "TestPerf/latency"), ev("pass", "TestPerf/latency"), ev("pass", "")),
			want:    map[string]string{"FR-005": StatusNotRun, "SC-001": StatusPass, "FR-015": StatusNotRun},
			verdict: VerdictNoGo,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep := Build(Inputs{Catalog: testCatalog, Checks: testChecks, Target: "sandbox", Policy: tc.policy, Tests: tc.tests, Now: time.Unix(0, 0)})
			got := map[string]string{}
			for _, r := range rep.Requirements {
				got[r.ID] = r.Status
			}
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.verdict, rep.Verdict)
		})
	}
}

func TestBuildIsGoOnlyWhenEveryRequirementPasses(t *testing.T) {
	cat := &catalog.Catalog{Requirements: testCatalog.Requirements[:2]}
	rep := Build(Inputs{Catalog: cat, Checks: testChecks, Target: "sandbox", Policy: passingPolicy(),
		Tests: events(ev("run", "TestNet/outside_refused"), ev("pass", "TestNet/outside_refused"), ev("run", "TestPerf/latency"), ev("pass", "TestPerf/latency"), ev("pass", ""))})
	assert.Equal(t, VerdictGo, rep.Verdict)
	assert.Equal(t, Summary{Pass: 2, Checks: CheckCounts{Pass: 3}}, rep.Summary)
}

func TestBuildAttachesEvidenceSkipReasonsAndTargetScoping(t *testing.T) {
	records := []evidence.Record{
		{Test: "TestPerf/latency/p95_is_under_the_threshold", Figures: []evidence.Figure{{Name: "p95", Value: 0.41, Unit: "ms"}}},
		{Meta: map[string]string{evidence.MetaRedisVersion: "7.0.15", evidence.MetaChartVersion: "23.2.12"}},
	}
	tests := events(ev("run", "TestPerf/latency"), ev("pass", "TestPerf/latency"),
		ev("run", "TestNet/outside_refused"), ev("output", "TestNet/outside_refused", "    net_test.go:30: no outside vantage point given\n"), ev("skip", "TestNet/outside_refused"), ev("pass", ""))
	rep := Build(Inputs{Catalog: testCatalog, Checks: testChecks, Target: "sandbox", Policy: passingPolicy(), Tests: tests, Evidence: records})

	sc001 := rep.Requirements[1]
	require.Len(t, sc001.Checks, 1, "the kube-only check does not apply to the sandbox")
	assert.Equal(t, []string{"p95 = 0.41 ms"}, sc001.Checks[0].Evidence)
	assert.Equal(t, "p95_latency < 10 ms", sc001.Threshold)
	fr005 := rep.Requirements[0]
	assert.Equal(t, StatusNotRun, fr005.Status, "the only live check skipped: live proof is missing")
	assert.Equal(t, "live proof missing: no outside vantage point given", fr005.Reason)
	assert.Equal(t, "no outside vantage point given", fr005.Checks[1].SkipReason)
	assert.Equal(t, "7.0.15", rep.RedisVersion)
	assert.Equal(t, "23.2.12", rep.ChartVersion)
}

func TestRenderedReportValidatesAgainstSchema(t *testing.T) {
	rep := Build(Inputs{Catalog: catalog.MustLoad(), Checks: testChecks, Target: "sandbox", Now: time.Now()})
	var buf bytes.Buffer
	require.NoError(t, WriteJSON(&buf, rep))
	require.NoError(t, Validate(buf.Bytes()))

	var md, junit bytes.Buffer
	require.NoError(t, WriteMarkdown(&md, rep))
	assert.Contains(t, md.String(), "# redis-shared go/no-go: **NO-GO**")
	require.NoError(t, WriteJUnit(&junit, rep))
	assert.Contains(t, junit.String(), `<testsuites name="redis-shared conformance (sandbox): NO-GO"`)
}

func TestSchemaRejectsBrokenReports(t *testing.T) {
	rep := Build(Inputs{Catalog: testCatalog, Checks: testChecks, Target: "sandbox", Now: time.Now()})
	var buf bytes.Buffer
	require.NoError(t, WriteJSON(&buf, rep))
	good := buf.String()
	tests := map[string]string{
		"unknown verdict": strings.Replace(good, `"verdict": "NO-GO"`, `"verdict": "MAYBE"`, 1),
		"unknown status":  strings.Replace(good, `"status": "not-run"`, `"status": "green"`, 1),
		"missing checks":  strings.Replace(good, `"checks": [`, `"cheques": [`, 1),
		"wrong version":   strings.Replace(good, `"schemaVersion": 1`, `"schemaVersion": 2`, 1),
	}
	for name, doc := range tests {
		t.Run(name, func(t *testing.T) {
			require.NotEqual(t, good, doc)
			assert.Error(t, Validate([]byte(doc)))
		})
	}
}

func TestParseTestEventsRejectsBrokenStreams(t *testing.T) {
	tests := []struct {
		name, input, want string
	}{
		{"not json", "PASS\n", "line 1: not a go test -json event"},
		{"cut mid-line", ev("run", "TestA") + "\n" + `{"Action":"pa`, "line 2"},
		{"unknown action", `{"Action":"explode","Package":"p"}`, `unknown action "explode"`},
		{"started never ended", ev("run", "TestA"), "test TestA started but the stream ends before its result"},
		{"no package", `{"Action":"pass","Test":"TestA"}`, "event without a package"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseTestEvents([]byte(tc.input))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestParseTestEventsRecordsPackageFailures(t *testing.T) {
	run, err := ParseTestEvents([]byte(strings.Join([]string{
		`{"Action":"output","Package":"p","Output":"panic: boom\n"}`,
		`{"Action":"fail","Package":"p"}`,
	}, "\n")))
	require.NoError(t, err)
	require.Len(t, run.PackageFailures, 1)
	rep := Build(Inputs{Catalog: testCatalog, Checks: testChecks, Target: "sandbox", Tests: run})
	assert.Contains(t, strings.Join(rep.Problems, "\n"), "package p failed outside any check: panic: boom")
}

func TestParsePolicyRunIsStrict(t *testing.T) {
	tests := []struct {
		name, input, want string
	}{
		{"truncated", `{"schemaVersion":1,"rules":[{"package":"a"`, "not policy results JSON"},
		{"wrong version", `{"schemaVersion":7,"rules":[]}`, "schemaVersion 7"},
		{"bad status", `{"schemaVersion":1,"rules":[{"package":"a","status":"ok"}]}`, `status "ok" is not pass, fail or not-run`},
		{"not-run without a reason", `{"schemaVersion":1,"rules":[{"package":"a","status":"not-run"}]}`, `not-run needs a reason`},
		{"fail without violation", `{"schemaVersion":1,"rules":[{"package":"a","status":"fail"}]}`, "fails without a violation"},
		{"unknown field", `{"schemaVersion":1,"rules":[],"x":1}`, `unknown field "x"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePolicyRun([]byte(tc.input))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func FuzzParseTestEvents(f *testing.F) {
	f.Add([]byte(ev("run", "TestA") + "\n" + ev("pass", "TestA") + "\n" + ev("pass", "")))
	f.Add([]byte(`{"Action":"output","Package":"p","Test":"T","Output":"    a_test.go:1: x\n"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		run, err := ParseTestEvents(raw)
		if err != nil {
			return
		}
		rep := Build(Inputs{Catalog: testCatalog, Checks: testChecks, Target: "sandbox", Tests: run})
		var buf bytes.Buffer
		if err := WriteJSON(&buf, rep); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzParsePolicyRun(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":1,"rules":[{"package":"redis.lan","status":"pass","requirements":["FR-005"]}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		run, err := ParsePolicyRun(raw)
		if err != nil {
			return
		}
		_ = Build(Inputs{Catalog: testCatalog, Checks: testChecks, Target: "sandbox", Policy: run})
	})
}

func TestParseTestEventsKeepsTestifyMessages(t *testing.T) {
	run := events(ev("run", "TestA"),
		ev("output", "TestA", "    a_test.go:12: \n"),
		ev("output", "TestA", "        \tError Trace:\t/x/a_test.go:12\n"),
		ev("output", "TestA", "        \tError:      \tNot equal: \n"),
		ev("output", "TestA", "        \t            \texpected: 0\n"),
		ev("output", "TestA", "        \tTest:       \tTestA\n"),
		ev("fail", "TestA"), ev("fail", ""))
	o, ok := run.Lookup("TestA")
	require.True(t, ok)
	assert.Equal(t, []string{"Error: Not equal: expected: 0"}, o.Messages)
}

func TestBuildInheritsASkipOfTheWholeTestFunction(t *testing.T) {
	tests := events(ev("run", "TestPerf"), ev("output", "TestPerf", "    harness.go:140: no data plane on this target\n"), ev("skip", "TestPerf"),
		ev("run", "TestNet/outside_refused"), ev("pass", "TestNet/outside_refused"), ev("pass", ""))
	rep := Build(Inputs{Catalog: testCatalog, Checks: testChecks, Target: "sandbox", Policy: passingPolicy(), Tests: tests})
	sc001 := rep.Requirements[1]
	require.Len(t, sc001.Checks, 1)
	assert.Equal(t, StatusSkip, sc001.Checks[0].Status)
	assert.Equal(t, "no data plane on this target", sc001.Checks[0].SkipReason)
	assert.Equal(t, StatusNotRun, sc001.Status)
}

func TestAFeatureWhoseAssessmentsAllSkippedIsASkipNotAPass(t *testing.T) {
	tests := events(
		ev("run", "TestPerf"), ev("run", "TestPerf/latency"), ev("run", "TestPerf/latency/p95"),
		ev("output", "TestPerf/latency/p95", "    perf_test.go:40: no LAN address on this machine\n"),
		ev("skip", "TestPerf/latency/p95"),
		ev("run", "TestPerf/latency/median"), ev("skip", "TestPerf/latency/median"),
		ev("pass", "TestPerf/latency"), ev("pass", "TestPerf"),
		ev("run", "TestNet"), ev("run", "TestNet/outside_refused"),
		ev("run", "TestNet/outside_refused/dial"), ev("pass", "TestNet/outside_refused/dial"),
		ev("run", "TestNet/outside_refused/ping"), ev("skip", "TestNet/outside_refused/ping"),
		ev("pass", "TestNet/outside_refused"), ev("pass", "TestNet"), ev("pass", ""))

	latency, ok := tests.Lookup("TestPerf/latency")
	require.True(t, ok)
	assert.Equal(t, "skip", latency.Status)
	assert.Equal(t, []string{"every subtest was skipped: no LAN address on this machine"}, latency.Messages)
	whole, _ := tests.Lookup("TestPerf")
	assert.Equal(t, "skip", whole.Status, "a test function whose features all skipped checked nothing either")
	refused, _ := tests.Lookup("TestNet/outside_refused")
	assert.Equal(t, "skip", refused.Status, "a feature with any skipped assessment did not check all it claims")
	assert.Equal(t, []string{"1 of 2 subtests were skipped"}, refused.Messages)

	rep := Build(Inputs{Catalog: testCatalog, Checks: testChecks, Target: "sandbox", Policy: passingPolicy(), Tests: tests})
	sc001 := rep.Requirements[1]
	require.Len(t, sc001.Checks, 1)
	assert.Equal(t, StatusSkip, sc001.Checks[0].Status)
	assert.Equal(t, StatusNotRun, sc001.Status)
}

func chk(kind, status string) CheckResult {
	c := CheckResult{ID: "suite:" + kind + status, Name: kind + " check", Verification: kind, Status: status}
	if status == StatusSkip {
		c.SkipReason = "disruptive checks run only with --disruptive (make conformance DISRUPTIVE=1)"
	}
	return c
}

// One case per status rule (requirementStatus, docs/report.md).
func TestRequirementStatusRules(t *testing.T) {
	flaky := chk("live", StatusFail)
	flaky.Flaky = true
	policyNotRun := CheckResult{ID: "policy:p", Name: "policy", Verification: "static", Status: StatusNotRun}
	tests := []struct {
		name       string
		kinds      []string
		notCovered string
		checks     []CheckResult
		want       string
		reason     string
	}{
		{"no check and not yet covered: not-run", []string{"live"}, "needs a LAN host", nil, StatusNotRun, "not yet covered: needs a LAN host"},
		{"no check applies: not-run", []string{"live"}, "", nil, StatusNotRun, "no check applies to this target"},
		{"a failed check fails it though every kind passed", []string{"static", "live"},
			"", []CheckResult{chk("static", StatusPass), chk("live", StatusPass), chk("live", StatusFail)}, StatusFail, "1 of 3 checks failed"},
		{"a flaky check (failed, passed on retry) fails it", []string{"live"},
			"", []CheckResult{flaky}, StatusFail, "1 of 1 checks failed (flaky, passed on a retry: live check)"},
		{"a check that should have run and did not: not-run", []string{"static", "live"},
			"", []CheckResult{policyNotRun, chk("live", StatusPass)}, StatusNotRun, "1 of 2 checks did not run: the policy gate did not run (make conformance STATIC=1)"},
		{"static passed, disruptive skipped: not-run naming the missing kind", []string{"static", "disruptive"},
			"", []CheckResult{chk("static", StatusPass), chk("disruptive", StatusSkip)}, StatusNotRun,
			"disruptive proof missing: disruptive checks run only with --disruptive (make conformance DISRUPTIVE=1)"},
		{"a kind with no check at all: not-run", []string{"static", "disruptive"},
			"", []CheckResult{chk("static", StatusPass)}, StatusNotRun, "disruptive proof missing: no disruptive check applies to this target"},
		{"a passing check of another kind does not prove a listed one", []string{"live"},
			"", []CheckResult{chk("static", StatusPass)}, StatusNotRun, "live proof missing: no live check applies to this target"},
		{"every check skipped: not-run, never pass", []string{"disruptive"},
			"", []CheckResult{chk("disruptive", StatusSkip)}, StatusNotRun, "disruptive proof missing: disruptive checks run only with --disruptive (make conformance DISRUPTIVE=1)"},
		{"every kind has a passing check, an extra one skipped: pass", []string{"static", "live"},
			"", []CheckResult{chk("static", StatusPass), chk("live", StatusPass), chk("live", StatusSkip)}, StatusPass, "2 of 3 checks passed (proof: static, live), 1 skipped"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, reason := requirementStatus(RequirementResult{ID: "FR-007", ProofKinds: tc.kinds, NotYetCovered: tc.notCovered, Checks: tc.checks})
			assert.Equal(t, tc.want, status)
			assert.Equal(t, tc.reason, reason)
		})
	}
}

func TestDecideIsGoOnlyWhenEveryRequirementPassed(t *testing.T) {
	pass := RequirementResult{ID: "FR-001", ProofKinds: []string{"static"}, Checks: []CheckResult{chk("static", StatusPass)}}
	unproven := RequirementResult{ID: "FR-007", ProofKinds: []string{"static", "disruptive"}, Checks: []CheckResult{chk("static", StatusPass), chk("disruptive", StatusSkip)}}
	tests := []struct {
		name string
		reqs []RequirementResult
		want string
	}{
		{"no requirement at all", nil, VerdictNoGo},
		{"every requirement passed", []RequirementResult{pass}, VerdictGo},
		{"one requirement unproven", []RequirementResult{pass, unproven}, VerdictNoGo},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep := Report{Requirements: tc.reqs}
			rep.Decide()
			assert.Equal(t, tc.want, rep.Verdict)
			again := rep
			again.Decide()
			assert.Equal(t, rep, again, "Decide is idempotent")
		})
	}
}

func TestDecideKeepsWhatTheWaiverStepSet(t *testing.T) {
	unproven := RequirementResult{ID: "FR-007", ProofKinds: []string{"disruptive"}, Checks: []CheckResult{chk("disruptive", StatusSkip)},
		Status: StatusWaived, Reason: "waived", Waiver: &WaiverResult{}}
	rep := Report{Requirements: []RequirementResult{unproven}}
	rep.Decide()
	assert.Equal(t, StatusWaived, rep.Requirements[0].Status)
	assert.Equal(t, 1, rep.Summary.Waived)
	assert.Equal(t, VerdictGo, rep.Verdict)
}

// What a quick run (DISRUPTIVE=0) gives: static proof passed, the disruptive check
// skipped. The requirement is not-run, the verdict NO-GO, and the hint says what to run.
func TestAQuickRunCanNeverBeGo(t *testing.T) {
	cat := &catalog.Catalog{Requirements: []catalog.Requirement{
		{ID: "FR-007", Title: "Persists", Story: "US1", Priority: "P1", Verification: []catalog.Verification{catalog.Static, catalog.Disruptive}, Hint: "values master.persistence.enabled"},
	}}
	all := []checks.Check{
		{ID: "policy:redis.lan", Kind: checks.KindPolicy, Name: "persistence", Requirements: []string{"FR-007"}, Source: "policies/p.rego:1", Package: "redis.lan"},
		{ID: "suite:TestDurability/kill", Kind: checks.KindSuite, Name: "kill", Disruptive: true, Requirements: []string{"FR-007"}, Source: "suites/r_test.go:1", TestName: "TestDurability/kill"},
	}
	tests := events(ev("run", "TestDurability/kill"), ev("output", "TestDurability/kill", "    steps.go:23: disruptive checks run only with --disruptive (make conformance DISRUPTIVE=1)\n"),
		ev("skip", "TestDurability/kill"), ev("pass", ""))
	rep := Build(Inputs{Catalog: cat, Checks: all, Target: "sandbox", Policy: &policy.Run{SchemaVersion: 1, Rules: []policy.Rule{{Package: "redis.lan", Status: "pass"}}}, Tests: tests})
	require.Len(t, rep.Requirements, 1)
	req := rep.Requirements[0]
	assert.Equal(t, StatusNotRun, req.Status)
	assert.Equal(t, "disruptive proof missing: disruptive checks run only with --disruptive (make conformance DISRUPTIVE=1)", req.Reason)
	assert.Equal(t, VerdictNoGo, rep.Verdict)
	assert.Equal(t, "run with DISRUPTIVE=1; values master.persistence.enabled", req.NextStep())
	assert.Equal(t, CheckCounts{Pass: 1, Skip: 1}, rep.Summary.Checks)

	var md, junit bytes.Buffer
	require.NoError(t, WriteMarkdown(&md, rep))
	assert.Contains(t, md.String(), "Requirements: 0 passed, 0 failed, 0 skipped, 1 not run (of 1). Checks: 1 passed, 0 failed, 1 skipped, 0 not run.")
	assert.Contains(t, md.String(), "## Failing and unproven requirements")
	assert.Contains(t, md.String(), "| FR-007 | Persists | NOT RUN | disruptive proof missing")
	require.NoError(t, WriteJUnit(&junit, rep))
	assert.Contains(t, junit.String(), `<testsuites name="redis-shared conformance (sandbox): NO-GO" tests="3" failures="1" skipped="1">`, "a not-run requirement is a failure in JUnit")
}

func TestOpenListsFailuresFirst(t *testing.T) {
	rep := Report{Requirements: []RequirementResult{
		{ID: "FR-001", Status: StatusNotRun}, {ID: "FR-002", Status: StatusPass}, {ID: "FR-003", Status: StatusFail}, {ID: "FR-004", Status: StatusSkip},
	}}
	var ids []string
	for _, r := range rep.Open() {
		ids = append(ids, r.ID)
	}
	assert.Equal(t, []string{"FR-003", "FR-001", "FR-004"}, ids)
}

// Issue 17 item 3: any failure of a check in any input fails it.
func TestAFailureInAnyInputFailsTheCheck(t *testing.T) {
	failThenPass := events(ev("run", "TestPerf/latency"), ev("output", "TestPerf/latency", "    perf_test.go:12: p95 12 ms\n"), ev("fail", "TestPerf/latency"),
		ev("run", "TestPerf/latency"), ev("pass", "TestPerf/latency"), ev("fail", ""))
	passOnly := events(ev("run", "TestPerf/latency"), ev("pass", "TestPerf/latency"), ev("pass", ""))
	failOnly := events(ev("run", "TestPerf/latency"), ev("fail", "TestPerf/latency"), ev("fail", ""))
	tests := []struct {
		name  string
		run   *TestRun
		flaky bool
	}{
		{"fail then pass in one go test -json stream", failThenPass, true},
		{"pass then fail in one stream", events(ev("run", "TestPerf/latency"), ev("pass", "TestPerf/latency"), ev("run", "TestPerf/latency"), ev("fail", "TestPerf/latency"), ev("fail", "")), true},
		{"fail in the first --tests file, pass in the second", failOnly.Merge(passOnly), true},
		{"pass in the first --tests file, fail in the second", passOnly.Merge(failOnly), true},
		{"failed in both", failOnly.Merge(failOnly), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, ok := tc.run.Lookup("TestPerf/latency")
			require.True(t, ok)
			assert.Equal(t, "fail", o.Status)
			assert.Equal(t, tc.flaky, o.Flaky)
			assert.Equal(t, 2, o.Runs)
			rep := Build(Inputs{Catalog: testCatalog, Checks: testChecks, Target: "sandbox", Tests: tc.run})
			sc001 := rep.Requirements[1]
			assert.Equal(t, StatusFail, sc001.Status)
			assert.Equal(t, tc.flaky, sc001.Checks[0].Flaky)
			assert.Equal(t, 1, rep.Summary.Checks.Fail)
		})
	}
}

func TestAPolicyRuleListedFailThenPassFails(t *testing.T) {
	for _, rules := range [][]policy.Rule{
		{{Package: "redis.lan", Status: "fail", Violations: []policy.Violation{{Message: "open"}}}, {Package: "redis.lan", Status: "pass"}},
		{{Package: "redis.lan", Status: "pass"}, {Package: "redis.lan", Status: "fail", Violations: []policy.Violation{{Message: "open"}}}},
	} {
		rep := Build(Inputs{Catalog: testCatalog, Checks: testChecks, Target: "sandbox", Policy: &policy.Run{SchemaVersion: 1, Rules: rules}})
		fr005 := rep.Requirements[0]
		assert.Equal(t, StatusFail, fr005.Status)
		assert.Equal(t, StatusFail, fr005.Checks[0].Status)
		assert.True(t, fr005.Checks[0].Flaky)
		assert.Equal(t, []string{"open"}, fr005.Checks[0].Messages)
	}
}

func TestAPolicyPassWithViolationsIsRejected(t *testing.T) {
	_, err := ParsePolicyRun([]byte(`{"schemaVersion":1,"rules":[{"package":"redis.lan","status":"pass","violations":[{"message":"open to 0.0.0.0/0"}]}]}`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "rules[0] (redis.lan): status pass with 1 violations")
}

func TestNextStepSaysRunDisruptiveOnlyWhenThatProofIsMissing(t *testing.T) {
	skipped := chk("disruptive", StatusSkip)
	tests := []struct {
		name string
		req  RequirementResult
		want string
	}{
		{"disruptive proof missing", RequirementResult{Status: StatusNotRun, ProofKinds: []string{"static", "disruptive"}, Checks: []CheckResult{skipped}, Hint: "h"}, "run with DISRUPTIVE=1; h"},
		{"an extra disruptive check skipped, live proof missing", RequirementResult{Status: StatusNotRun, ProofKinds: []string{"static", "live"}, Checks: []CheckResult{skipped}, Hint: "h"}, "h"},
		{"policy gate off", RequirementResult{Status: StatusNotRun, ProofKinds: []string{"static"}, Checks: []CheckResult{{Verification: "static", Status: StatusNotRun}}}, "run the policy gate (make conformance STATIC=1)"},
		{"failed: only the hint", RequirementResult{Status: StatusFail, ProofKinds: []string{"disruptive"}, Checks: []CheckResult{skipped, chk("live", StatusFail)}, Hint: "h"}, "h"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.req.NextStep())
		})
	}
}
