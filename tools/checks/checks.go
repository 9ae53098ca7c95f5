// Package checks discovers, from the code itself, every check of the suite and the
// requirements it proves: Rego policies by their `# METADATA` custom.requirements, Go
// e2e features by their `WithLabel("req", ...)` labels. The coverage gate and the
// go/no-go report both start from this inventory, so a check cannot claim a
// requirement anywhere but in its own source.
package checks

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	opaast "github.com/open-policy-agent/opa/v1/ast"

	"github.com/redis-shared/conformance/tools/catalog"
)

// Kind says where a check lives.
type Kind string

// The kinds of checks.
const (
	KindPolicy Kind = "policy"
	KindSuite  Kind = "suite"
)

// Labels a Go feature may carry (e2e-framework WithLabel keys).
const (
	LabelRequirement = "req"
	LabelTarget      = "target"
	LabelType        = "type"
	TypeDisruptive   = "disruptive"
)

// Check is one discovered check.
type Check struct {
	// ID is stable and unique: "policy:<package>" or "suite:<go test name>".
	ID           string   `json:"id"`
	Kind         Kind     `json:"kind"`
	Name         string   `json:"name"`
	Requirements []string `json:"requirements"`
	// Targets the check applies to; empty means every target.
	Targets    []string `json:"targets,omitempty"`
	Disruptive bool     `json:"disruptive,omitempty"`
	// Source is file:line relative to the project root.
	Source string `json:"source"`
	// TestName is the `go test` name of a suite check (TestFunc/feature_name).
	TestName string `json:"testName,omitempty"`
	// Package is the Rego package path of a policy check (without "data.").
	Package string `json:"package,omitempty"`
}

// AppliesTo reports whether the check is meant for a target.
func (c Check) AppliesTo(target string) bool {
	return len(c.Targets) == 0 || slices.Contains(c.Targets, target)
}

// Verification is the kind of proof the check gives: a policy is static proof, a
// suite feature labelled disruptive is disruptive proof, any other feature is live.
func (c Check) Verification() catalog.Verification {
	switch {
	case c.Kind == KindPolicy:
		return catalog.Static
	case c.Disruptive:
		return catalog.Disruptive
	default:
		return catalog.Live
	}
}

// Discover walks policies/ and suites/ under root.
func Discover(root string) ([]Check, error) {
	policyChecks, err := DiscoverPolicies(root, filepath.Join(root, "policies"))
	if err != nil {
		return nil, err
	}
	suiteChecks, err := DiscoverSuites(root, filepath.Join(root, "suites"))
	if err != nil {
		return nil, err
	}
	all := append(policyChecks, suiteChecks...)
	seen := map[string]string{}
	for _, c := range all {
		if prev, dup := seen[c.ID]; dup {
			return nil, fmt.Errorf("check %s is declared twice: %s and %s", c.ID, prev, c.Source)
		}
		seen[c.ID] = c.Source
	}
	return all, nil
}

// DiscoverPolicies reads every non-test .rego file under dir. A file whose package
// annotation has custom.requirements is a check; library files (no requirements) are not.
func DiscoverPolicies(root, dir string) ([]Check, error) {
	var found []Check
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && path == dir {
				return filepath.SkipDir
			}
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".rego") || strings.HasSuffix(path, "_test.rego") {
			return nil
		}
		check, ok, err := policyCheck(root, path)
		if err != nil {
			return err
		}
		if ok {
			found = append(found, check)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("discover policies in %s: %w", dir, err)
	}
	sort.Slice(found, func(i, j int) bool { return found[i].ID < found[j].ID })
	return found, nil
}

func policyCheck(root, path string) (Check, bool, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return Check{}, false, err
	}
	rel := relative(root, path)
	module, err := opaast.ParseModuleWithOpts(rel, string(src), opaast.ParserOptions{ProcessAnnotation: true, RegoVersion: opaast.RegoV1})
	if err != nil {
		return Check{}, false, fmt.Errorf("parse %s: %w", rel, err)
	}
	pkg := strings.TrimPrefix(module.Package.Path.String(), "data.")
	for _, a := range module.Annotations {
		if a.Scope != "package" {
			continue
		}
		reqs, err := stringList(a.Custom["requirements"])
		if err != nil {
			return Check{}, false, fmt.Errorf("%s: METADATA custom.requirements: %w", rel, err)
		}
		targets, err := stringList(a.Custom["targets"])
		if err != nil {
			return Check{}, false, fmt.Errorf("%s: METADATA custom.targets: %w", rel, err)
		}
		if len(reqs) == 0 {
			return Check{}, false, nil
		}
		title := a.Title
		if title == "" {
			title = pkg
		}
		return Check{
			ID:           "policy:" + pkg,
			Kind:         KindPolicy,
			Name:         title,
			Requirements: reqs,
			Targets:      targets,
			Source:       fmt.Sprintf("%s:%d", rel, a.Location.Row),
			Package:      pkg,
		}, true, nil
	}
	return Check{}, false, nil
}

func stringList(v any) ([]string, error) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("is %T, want a list of strings", v)
	}
	out := make([]string, 0, len(list))
	for _, item := range list {
		s, ok := item.(string)
		if !ok {
			return nil, fmt.Errorf("item %v is %T, want a string", item, item)
		}
		out = append(out, s)
	}
	return out, nil
}

// DiscoverSuites parses every _test.go file under dir and finds the feature chains
// `features.New("name").WithLabel("req", "FR-004")...` inside TestXxx functions.
// Names and labels must be string literals so they can be read without running code.
func DiscoverSuites(root, dir string) ([]Check, error) {
	var found []Check
	fset := token.NewFileSet()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && path == dir {
				return filepath.SkipDir
			}
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		file, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return fmt.Errorf("parse %s: %w", relative(root, path), err)
		}
		checks, err := featuresInFile(fset, root, file)
		if err != nil {
			return err
		}
		found = append(found, checks...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("discover suites in %s: %w", dir, err)
	}
	sort.Slice(found, func(i, j int) bool { return found[i].ID < found[j].ID })
	return found, nil
}

func featuresInFile(fset *token.FileSet, root string, file *ast.File) ([]Check, error) {
	var found []Check
	var firstErr error
	for _, decl := range file.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok || fn.Body == nil {
			continue
		}
		consumed := map[*ast.CallExpr]bool{}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || consumed[call] || firstErr != nil {
				return firstErr == nil
			}
			chain, ok := featureChain(call, consumed)
			if !ok {
				return true
			}
			pos := fset.Position(chain.pos)
			where := fmt.Sprintf("%s:%d", relative(root, pos.Filename), pos.Line)
			if chain.err != nil {
				firstErr = fmt.Errorf("%s: %w", where, chain.err)
				return false
			}
			if !strings.HasPrefix(fn.Name.Name, "Test") || fn.Recv != nil {
				firstErr = fmt.Errorf("%s: feature %q is built outside a TestXxx function (%s), so its test name cannot be known", where, chain.name, fn.Name.Name)
				return false
			}
			testName := fn.Name.Name + "/" + RewriteTestName(chain.name)
			found = append(found, Check{
				ID:           "suite:" + testName,
				Kind:         KindSuite,
				Name:         chain.name,
				Requirements: chain.labels[LabelRequirement],
				Targets:      chain.labels[LabelTarget],
				Disruptive:   slices.Contains(chain.labels[LabelType], TypeDisruptive),
				Source:       where,
				TestName:     testName,
			})
			return true
		})
		if firstErr != nil {
			return nil, firstErr
		}
	}
	return found, nil
}

type chainInfo struct {
	name   string
	labels map[string][]string
	pos    token.Pos
	err    error
}

// featureChain unwinds a method chain ending in features.New(...). It marks the inner
// calls as consumed so the same chain is not read again from its middle.
func featureChain(outer *ast.CallExpr, consumed map[*ast.CallExpr]bool) (chainInfo, bool) {
	info := chainInfo{labels: map[string][]string{}}
	var labelCalls [][]ast.Expr
	call := outer
	for {
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return info, false
		}
		if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "features" && sel.Sel.Name == "New" {
			info.pos = call.Pos()
			if len(call.Args) != 1 {
				info.err = fmt.Errorf("features.New needs one argument")
				return info, true
			}
			name, err := stringLiteral(call.Args[0])
			if err != nil {
				info.err = fmt.Errorf("feature name: %w", err)
				return info, true
			}
			info.name = name
			break
		}
		if sel.Sel.Name == "WithLabel" {
			labelCalls = append(labelCalls, call.Args)
		}
		inner, ok := sel.X.(*ast.CallExpr)
		if !ok {
			return info, false
		}
		call = inner
	}
	// Only now is it certain this is a feature chain: mark its calls.
	for c := outer; ; {
		consumed[c] = true
		sel, ok := c.Fun.(*ast.SelectorExpr)
		if !ok {
			break
		}
		inner, ok := sel.X.(*ast.CallExpr)
		if !ok {
			break
		}
		c = inner
	}
	// Labels were collected outermost first; keep source order.
	slices.Reverse(labelCalls)
	for _, args := range labelCalls {
		if len(args) != 2 {
			info.err = fmt.Errorf("feature %q: WithLabel needs a key and a value", info.name)
			return info, true
		}
		key, err := stringLiteral(args[0])
		if err != nil {
			info.err = fmt.Errorf("feature %q: label key: %w", info.name, err)
			return info, true
		}
		value, err := stringLiteral(args[1])
		if err != nil {
			info.err = fmt.Errorf("feature %q: label %s: %w", info.name, key, err)
			return info, true
		}
		info.labels[key] = append(info.labels[key], value)
	}
	return info, true
}

func stringLiteral(e ast.Expr) (string, error) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", fmt.Errorf("must be a string literal")
	}
	return strconv.Unquote(lit.Value)
}

// RewriteTestName turns a subtest name into what `go test` reports: spaces become
// underscores and non-printable runes are escaped, as testing.rewrite does.
func RewriteTestName(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f':
			b.WriteByte('_')
		case !strconv.IsPrint(r):
			s := strconv.QuoteRune(r)
			b.WriteString(s[1 : len(s)-1])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func relative(root, path string) string {
	rel, err := filepath.Rel(root, path)
	if err != nil {
		return path
	}
	return filepath.ToSlash(rel)
}
