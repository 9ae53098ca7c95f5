package policy_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/redis-shared/conformance/tools/catalog"
	"github.com/redis-shared/conformance/tools/policy"
	"github.com/redis-shared/conformance/tools/values"
)

// BenchmarkGateRun is what one `conform policy` does, warm (chart assembled): compile
// the policies, merge and coalesce the values with the pinned chart, render it, read
// tofu/ and evaluate. Goal: under 3 s per op.
func BenchmarkGateRun(b *testing.B) {
	ctx := context.Background()
	root := projectRoot(b)
	cat := catalog.MustLoad()
	for b.Loop() {
		g, err := policy.NewGate(ctx, filepath.Join(root, "policies"), cat)
		if err != nil {
			b.Fatal(err)
		}
		in, err := policy.LoadProjectInput(ctx, policy.ProjectSources{Root: root, Layering: values.LayeringHomelab, TofuDir: filepath.Join(root, "tofu")})
		if err != nil {
			b.Fatal(err)
		}
		run, err := g.Evaluate(ctx, in)
		if err != nil {
			b.Fatal(err)
		}
		if !run.Passed() {
			b.Fatalf("the project's own values fail the gate: %v", run.Failed())
		}
	}
}

// BenchmarkWholeGate is one full gate run over every input the project has: load and
// compile the policies, render the project's values (both layerings) with the pinned
// chart, read tofu/, the good fixture and every bad fixture, and evaluate all of them.
func BenchmarkWholeGate(b *testing.B) {
	ctx := context.Background()
	root := projectRoot(b)
	cat := catalog.MustLoad()
	breakages := loadBreakages(b)
	inputs := 0
	for b.Loop() {
		g, err := policy.NewGate(ctx, filepath.Join(root, "policies"), cat)
		if err != nil {
			b.Fatal(err)
		}
		good, err := policy.GoodFixture(root)
		if err != nil {
			b.Fatal(err)
		}
		all := []policy.Input{good}
		for _, layering := range []string{values.LayeringHomelab, values.LayeringKind} {
			in, err := policy.LoadProjectInput(ctx, policy.ProjectSources{Root: root, Layering: layering, TofuDir: filepath.Join(root, "tofu")})
			if err != nil {
				b.Fatal(err)
			}
			all = append(all, in)
		}
		for _, br := range breakages {
			in, err := br.apply(good)
			if err != nil {
				b.Fatal(err)
			}
			all = append(all, in)
		}
		for _, in := range all {
			if _, err := g.Evaluate(ctx, in); err != nil {
				b.Fatal(err)
			}
		}
		inputs = len(all)
	}
	b.ReportMetric(float64(inputs), "inputs/op")
}

// BenchmarkEvaluateOneInput is the cost of judging one input with a compiled gate.
func BenchmarkEvaluateOneInput(b *testing.B) {
	g := newGate(b)
	in := goodInput(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := g.Evaluate(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}
