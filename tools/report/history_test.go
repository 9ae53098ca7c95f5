package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/redis-shared/conformance/tools/checks"
	"github.com/redis-shared/conformance/tools/evidence"
)

func TestSaveRunKeepsEachRunAndPointsLatestAtIt(t *testing.T) {
	out := t.TempDir()
	write := func(name, content string) {
		require.NoError(t, os.WriteFile(filepath.Join(out, name), []byte(content), 0o644))
	}
	write("report.json", "first")
	write("tests.json", "events")
	first, err := SaveRun(out, time.Date(2026, 12, 3, 17, 4, 5, 0, time.FixedZone("CET", 3600)))
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(out, "runs", "20261203T160405Z"), first, "the folder is named by UTC time")
	write("report.json", "second")
	second, err := SaveRun(out, time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC))
	require.NoError(t, err)

	got, err := os.ReadFile(filepath.Join(first, "report.json"))
	require.NoError(t, err)
	assert.Equal(t, "first", string(got), "an earlier run is not overwritten")
	latest, err := os.ReadFile(filepath.Join(out, LatestLink, "report.json"))
	require.NoError(t, err)
	assert.Equal(t, "second", string(latest))
	target, err := os.Readlink(filepath.Join(out, LatestLink))
	require.NoError(t, err)
	assert.Equal(t, filepath.Join("runs", "20261204T090000Z"), target, "relative, so out/ can move")
	_, err = os.Stat(filepath.Join(second, "evidence.jsonl"))
	assert.True(t, os.IsNotExist(err), "absent run files are left out")
}

func diffReport(verdict, sc001 string, p95, rate float64) Report {
	c := liveCheck(StatusPass)
	c.ID, c.Name = "suite:TestPerf/latency", "latency"
	c.Figures = []evidence.Figure{{Name: "p95", Value: p95, Unit: "ms"}, {Name: "achieved rate", Value: rate, Unit: "ops/s"}, {Name: "requests", Value: rate * 30, Unit: "count"}}
	return Report{Verdict: verdict, Target: "sandbox", Requirements: []RequirementResult{
		{ID: "FR-001", Status: StatusPass},
		{ID: "SC-001", Status: sc001, Reason: "1 of 1 checks failed", Checks: []CheckResult{c}},
	}}
}

func TestDiffListsStatusFlipsAndChangedFigures(t *testing.T) {
	a := diffReport(VerdictGo, StatusPass, 1.6, 1000)
	b := diffReport(VerdictNoGo, StatusFail, 12.4, 998.5)
	assert.Equal(t, []string{
		"verdict: GO -> NO-GO",
		"SC-001: pass -> fail (1 of 1 checks failed)",
		`SC-001 "latency": p95 1.60 -> 12.40 ms (+10.80, +675%)`,
		`SC-001 "latency": achieved rate 1000 -> 998.5 ops/s (-1.50, -0%)`,
	}, Diff(a, b, DiffOptions{}))
	all := Diff(a, b, DiffOptions{AllFigures: true})
	assert.Contains(t, all, `SC-001 "latency": requests 30000 -> 29955 count (-45, -0%)`)
	assert.Empty(t, Diff(a, a, DiffOptions{}), "nothing changed")
}

func TestReadReportTakesARunFolderOrAFile(t *testing.T) {
	dir := t.TempDir()
	rep := waiverReport()
	var js bytes.Buffer
	require.NoError(t, WriteJSON(&js, rep))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "report.json"), js.Bytes(), 0o644))
	for _, path := range []string{dir, filepath.Join(dir, "report.json")} {
		got, err := ReadReport(path)
		require.NoError(t, err)
		assert.Equal(t, rep.Verdict, got.Verdict)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bad.json"), []byte(`{"verdict": "GO"}`), 0o644))
	_, err := ReadReport(filepath.Join(dir, "bad.json"))
	assert.ErrorContains(t, err, "does not match schema")
	_, err = ReadReport(filepath.Join(dir, "none"))
	assert.ErrorContains(t, err, "read report")
}

func TestProgressPrintsOneLinePerFinishedCheck(t *testing.T) {
	dir := t.TempDir()
	evPath := filepath.Join(dir, "evidence.jsonl")
	rec, err := evidence.OpenFile(evPath)
	require.NoError(t, err)
	require.NoError(t, rec.Figures("TestPerf/latency/p95_under_the_threshold", evidence.Figure{Name: "achieved rate", Value: 1000, Unit: "ops/s"}, evidence.Figure{Name: "p95", Value: 1.6, Unit: "ms"}))
	require.NoError(t, rec.Close())
	all := []checks.Check{
		{ID: "suite:TestPerf/latency", Kind: checks.KindSuite, Name: "in-cluster SET and GET latency", Requirements: []string{"FR-003", "SC-001"}, TestName: "TestPerf/latency"},
		{ID: "suite:TestPerf/kill", Kind: checks.KindSuite, Name: "master failure", Requirements: []string{"SC-002"}, TestName: "TestPerf/kill"},
	}
	stream := strings.Join([]string{
		`{"Action":"start","Package":"example.org/m/suites/perf"}`,
		`{"Action":"run","Package":"example.org/m/suites/perf","Test":"TestPerf/latency"}`,
		`{"Action":"pass","Package":"example.org/m/suites/perf","Test":"TestPerf/latency/p95_under_the_threshold","Elapsed":3.1}`,
		`{"Action":"pass","Package":"example.org/m/suites/perf","Test":"TestPerf/latency","Elapsed":3.2}`,
		`{"Action":"skip","Package":"example.org/m/suites/perf","Test":"TestPerf/kill","Elapsed":0}`,
		`# example.org/m/suites/broken [build failed]`,
		`{"Action":"fail","Package":"example.org/m/suites/perf","Elapsed":4.5}`,
	}, "\n") + "\n"
	p := NewProgress(all, evPath)
	clock := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	p.Now = func() time.Time { clock = clock.Add(time.Second); return clock }
	var raw, console bytes.Buffer
	counts, err := p.Run(strings.NewReader(stream), &raw, &console)
	require.NoError(t, err)
	assert.Equal(t, stream, raw.String(), "the stream is copied unchanged")
	assert.Equal(t, ProgressCounts{Pass: 1, Skip: 1}, counts)
	assert.Equal(t, strings.Join([]string{
		"[    1s] package suites/perf started",
		"[    4s] PASS FR-003,SC-001    in-cluster SET and GET latency: p95 = 1.60 ms (3.2 s)",
		"[    5s] SKIP SC-002           master failure (0.0 s)",
		"  | # example.org/m/suites/broken [build failed]",
		"[    6s] package suites/perf fail (4.5 s)",
	}, "\n")+"\n", console.String())
}

func TestProgressSaysWhyAPackageFailedBeforeAnyTestRan(t *testing.T) {
	stream := strings.Join([]string{
		`{"Action":"start","Package":"example.org/m/suites/perf"}`,
		`{"Action":"output","Package":"example.org/m/suites/perf","Output":"suite perf: open kube target: API server https://127.0.0.1:1: connection refused\n"}`,
		`{"Action":"output","Package":"example.org/m/suites/perf","Output":"FAIL\texample.org/m/suites/perf\t0.040s\n"}`,
		`{"Action":"fail","Package":"example.org/m/suites/perf","Elapsed":0.04}`,
		`{"Action":"start","Package":"example.org/m/suites/kill"}`,
		`{"Action":"output","Package":"example.org/m/suites/kill","Output":"cleanup: deleted 0 keys\n"}`,
		`{"Action":"run","Package":"example.org/m/suites/kill","Test":"TestKill"}`,
		`{"Action":"fail","Package":"example.org/m/suites/kill","Test":"TestKill","Elapsed":1}`,
		`{"Action":"fail","Package":"example.org/m/suites/kill","Elapsed":1.5}`,
	}, "\n") + "\n"
	p := NewProgress(nil, "")
	clock := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	p.Now = func() time.Time { return clock }
	var raw, console bytes.Buffer
	_, err := p.Run(strings.NewReader(stream), &raw, &console)
	require.NoError(t, err)
	assert.Equal(t, strings.Join([]string{
		"[    0s] package suites/perf started",
		"[    0s] package suites/perf fail (0.0 s): suite perf: open kube target: API server https://127.0.0.1:1: connection refused",
		"[    0s] package suites/kill started",
		"[    0s] package suites/kill fail (1.5 s)",
	}, "\n")+"\n", console.String(), "a package whose tests ran fails on them, not on TestMain's last words")
}

func TestProgressKeyFigureIsTheJudgedOneNotTheBaseline(t *testing.T) {
	evPath := filepath.Join(t.TempDir(), "evidence.jsonl")
	rec, err := evidence.OpenFile(evPath)
	require.NoError(t, err)
	require.NoError(t, rec.Figures("TestThroughput/sustained/baseline", evidence.Figure{Name: "baseline p95", Value: 1.2, Unit: "ms"}))
	require.NoError(t, rec.Figures("TestThroughput/sustained/rate", evidence.Figure{Name: "sustained rate", Value: 10500, Unit: "ops/s"}, evidence.Figure{Name: "sustained p95", Value: 19.6, Unit: "ms"}))
	require.NoError(t, rec.Figures("TestThroughput/sustained/saturation", evidence.Figure{Name: "saturation p95", Value: 2.5, Unit: "ms"}))
	require.NoError(t, rec.Close())
	p := NewProgress(nil, evPath)

	assert.Equal(t, ": sustained p95 = 19.60 ms", p.keyFigure("TestThroughput/sustained", []string{"SC-006"}))
}

func TestProgressKeyFigureIsNamedAfterTheThreshold(t *testing.T) {
	evPath := filepath.Join(t.TempDir(), "evidence.jsonl")
	rec, err := evidence.OpenFile(evPath)
	require.NoError(t, err)
	require.NoError(t, rec.Figures("TestDurability/kill/ledger", evidence.Figure{Name: "keys evicted during the check", Value: 0, Unit: "count"}, evidence.Figure{Name: "lost acknowledged writes", Value: 0, Unit: "count"}))
	require.NoError(t, rec.Close())
	p := NewProgress(nil, evPath)
	p.Judged = map[string]string{"SC-007": "lost acknowledged writes"}

	assert.Equal(t, ": lost acknowledged writes = 0 count", p.keyFigure("TestDurability/kill", []string{"FR-007", "SC-007"}))
}
