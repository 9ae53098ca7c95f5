package policy

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// LoadModules parses every .rego file under dir (tests included when withTests) as
// Rego v1 with annotations, keyed by the path relative to dir's parent.
func LoadModules(dir string, withTests bool) (map[string]*ast.Module, error) {
	modules := map[string]*ast.Module{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".rego") {
			return nil
		}
		if !withTests && strings.HasSuffix(path, "_test.rego") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read policy: %w", err)
		}
		name := filepath.ToSlash(filepath.Join(filepath.Base(dir), mustRel(dir, path)))
		module, err := ast.ParseModuleWithOpts(name, string(src), ast.ParserOptions{ProcessAnnotation: true, RegoVersion: ast.RegoV1})
		if err != nil {
			return fmt.Errorf("parse policy %s: %w", name, err)
		}
		modules[name] = module
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load policies from %s: %w", dir, err)
	}
	if len(modules) == 0 {
		return nil, fmt.Errorf("load policies from %s: no .rego files", dir)
	}
	return modules, nil
}

func mustRel(base, path string) string {
	rel, err := filepath.Rel(base, path)
	if err != nil {
		return path
	}
	return rel
}

// Compile compiles modules in strict mode (unused variables and imports, shadowed
// names and deprecated built-ins are errors, like `opa check --strict`).
func Compile(modules map[string]*ast.Module) (*ast.Compiler, error) {
	compiler := ast.NewCompiler().WithStrict(true).WithEnablePrintStatements(false)
	compiler.Compile(modules)
	if compiler.Failed() {
		return nil, fmt.Errorf("compile policies: %w", compiler.Errors)
	}
	return compiler, nil
}

// RuleInfo is what the gate knows about one rule from its package METADATA.
type RuleInfo struct {
	Package      string
	Title        string
	Description  string
	Requirements []string
	Severity     string
	// Inputs are the input sections the rule cannot do without ("values", "tofu", ...).
	Inputs []string
	File   string
}

// knownInput reports whether a rule may declare the section in custom.inputs.
func knownInput(section string) bool {
	switch section {
	case "values", "manifests", "tofu", "plan":
		return true
	}
	return false
}

// Rules returns the rules among modules: packages whose package-scope METADATA has
// custom.requirements (the same test tools/checks uses), sorted by package.
func Rules(modules map[string]*ast.Module) ([]RuleInfo, error) {
	var rules []RuleInfo
	for name, m := range modules {
		if strings.HasSuffix(name, "_test.rego") {
			continue
		}
		for _, a := range m.Annotations {
			if a.Scope != "package" {
				continue
			}
			reqs, err := customStrings(a.Custom, "requirements")
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			if len(reqs) == 0 {
				continue
			}
			inputs, err := customStrings(a.Custom, "inputs")
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			for _, in := range inputs {
				if !knownInput(in) {
					return nil, fmt.Errorf("%s: METADATA custom.inputs: unknown input %q", name, in)
				}
			}
			severity, _ := a.Custom["severity"].(string)
			pkg := strings.TrimPrefix(m.Package.Path.String(), "data.")
			if a.Title == "" || severity == "" {
				return nil, fmt.Errorf("%s: METADATA of a rule needs a title and custom.severity", name)
			}
			rules = append(rules, RuleInfo{
				Package: pkg, Title: a.Title, Description: a.Description,
				Requirements: reqs, Severity: severity, Inputs: inputs, File: name,
			})
		}
	}
	sort.Slice(rules, func(i, j int) bool { return rules[i].Package < rules[j].Package })
	for i := 1; i < len(rules); i++ {
		if rules[i].Package == rules[i-1].Package {
			return nil, fmt.Errorf("rule package %s is declared twice (%s, %s)", rules[i].Package, rules[i-1].File, rules[i].File)
		}
	}
	return rules, nil
}

func customStrings(custom map[string]any, key string) ([]string, error) {
	raw, ok := custom[key]
	if !ok || raw == nil {
		return nil, nil
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("METADATA custom.%s is %T, want a list of strings", key, raw)
	}
	out := make([]string, 0, len(list))
	for _, item := range list {
		s, ok := item.(string)
		if !ok {
			return nil, fmt.Errorf("METADATA custom.%s: item %v is %T, want a string", key, item, item)
		}
		out = append(out, s)
	}
	return out, nil
}
