package policy

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/cover"
	"github.com/open-policy-agent/opa/v1/format"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"

	"github.com/redis-shared/conformance/tools/catalog"
)

// TestReport is the outcome of the policies' own Rego tests.
type TestReport struct {
	Passed, Failed int
	Failures       []string
	// Coverage is the percentage of covered lines over the non-test modules.
	Coverage float64
	// NotCovered lists file:row ranges not covered.
	NotCovered []string
}

// RunRegoTests runs every test_ rule under dir, like `opa test --coverage`, with the
// real catalog as data.catalog (tests may override it with `with`) and the hand-written
// good input of fixtures/policy/good as data.fixtures.good, which the tests mutate.
func RunRegoTests(ctx context.Context, dir string, cat *catalog.Catalog, good Input) (TestReport, error) {
	modules, err := LoadModules(dir, true)
	if err != nil {
		return TestReport{}, err
	}
	catData, err := CatalogData(cat)
	if err != nil {
		return TestReport{}, err
	}
	store := inmem.NewFromObject(map[string]any{
		"catalog":  catData,
		"fixtures": map[string]any{"good": good.Document()},
	})
	cov := cover.New()
	runner := tester.NewRunner().
		SetStore(store).
		SetCoverageQueryTracer(cov).
		SetModules(modules).
		RaiseBuiltinErrors(true).
		SetDefaultRegoVersion(ast.RegoV1)
	txn, err := store.NewTransaction(ctx)
	if err != nil {
		return TestReport{}, fmt.Errorf("open store: %w", err)
	}
	defer store.Abort(ctx, txn)
	results, err := runner.RunTests(ctx, txn)
	if err != nil {
		return TestReport{}, fmt.Errorf("run rego tests in %s: %w", dir, err)
	}
	var report TestReport
	for r := range results {
		name := fmt.Sprintf("%s.%s", r.Package, r.Name)
		switch {
		case r.Error != nil:
			report.Failed++
			report.Failures = append(report.Failures, fmt.Sprintf("%s: error: %v", name, r.Error))
		case r.Fail || r.Skip:
			report.Failed++
			report.Failures = append(report.Failures, fmt.Sprintf("%s (%s): FAIL", name, r.Location))
		default:
			report.Passed++
		}
	}
	policyModules := map[string]*ast.Module{}
	for name, m := range modules {
		if !strings.HasSuffix(name, "_test.rego") {
			policyModules[name] = m
		}
	}
	covReport := cov.Report(policyModules)
	report.Coverage = covReport.Coverage
	for file, fc := range covReport.Files {
		for _, rng := range fc.NotCovered {
			report.NotCovered = append(report.NotCovered, fmt.Sprintf("%s:%d-%d", file, rng.Start.Row, rng.End.Row))
		}
	}
	sort.Strings(report.NotCovered)
	sort.Strings(report.Failures)
	return report, nil
}

// CheckStrict compiles every module under dir (tests included) in strict mode, as
// `opa check --strict` does.
func CheckStrict(dir string) error {
	modules, err := LoadModules(dir, true)
	if err != nil {
		return err
	}
	_, err = Compile(modules)
	return err
}

// Unformatted lists the .rego files under dir that `opa fmt` would change.
func Unformatted(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".rego") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read policy: %w", err)
		}
		formatted, err := format.SourceWithOpts(path, src, format.Opts{RegoVersion: ast.RegoV1})
		if err != nil {
			return fmt.Errorf("format %s: %w", path, err)
		}
		if !bytes.Equal(src, formatted) {
			out = append(out, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("check formatting under %s: %w", dir, err)
	}
	return out, nil
}

// FormatFile rewrites one .rego file the way `opa fmt -w` does.
func FormatFile(path string) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read policy: %w", err)
	}
	formatted, err := format.SourceWithOpts(path, src, format.Opts{RegoVersion: ast.RegoV1})
	if err != nil {
		return fmt.Errorf("format %s: %w", path, err)
	}
	return os.WriteFile(path, formatted, 0o644)
}
