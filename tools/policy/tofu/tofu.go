// Package tofu turns an OpenTofu module folder into the input.tofu document of the
// policy gate (its shape is described in tools/policy's doc.go). It is its own package
// so its fuzz target builds without OPA.
package tofu

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/redis-shared/conformance/tools/safeio"
)

// ExprKey marks an attribute value that is not a literal: {"$expr": "<source text>",
// "refs": [...], "value": <value with the module's variable defaults, when known>}.
const ExprKey = "$expr"

// pathValue is path.* for expressions: file() reads relative to the module folder.
func pathValue() cty.Value {
	return cty.ObjectVal(map[string]cty.Value{"module": cty.StringVal("."), "root": cty.StringVal("."), "cwd": cty.StringVal(".")})
}

// maxInstances bounds for_each/count expansion so a hostile count cannot blow up memory.
const maxInstances = 256

// ParseDir reads every *.tf file directly in dir (not subfolders: examples/ and
// tests/ are other root modules) and returns the input.tofu document. A folder without
// .tf files or with a syntax error is an error.
func ParseDir(dir string) (map[string]any, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil {
		return nil, fmt.Errorf("list tofu files in %s: %w", dir, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("tofu dir %s: no .tf files", dir)
	}
	sources := map[string][]byte{}
	for _, file := range files {
		src, err := safeio.ReadInput(file, safeio.TofuLimit)
		if err != nil {
			return nil, fmt.Errorf("read tofu file: %w", err)
		}
		sources[filepath.Base(file)] = src
	}
	return Parse(dir, sources)
}

// Parse builds the document from file contents keyed by file name; dir is the module
// folder that file() reads relative to.
func Parse(dir string, sources map[string][]byte) (map[string]any, error) {
	names := make([]string, 0, len(sources))
	for name := range sources {
		names = append(names, name)
	}
	sort.Strings(names)
	m := &tofuModule{dir: dir, sources: sources}
	for _, name := range names {
		parsed, diags := hclsyntax.ParseConfig(sources[name], name, hcl.InitialPos)
		if diags.HasErrors() {
			return nil, fmt.Errorf("parse tofu file %s: %s", filepath.Join(dir, name), firstDiag(diags))
		}
		body, ok := parsed.Body.(*hclsyntax.Body)
		if !ok {
			return nil, fmt.Errorf("parse tofu file %s: not native HCL syntax", filepath.Join(dir, name))
		}
		m.bodies = append(m.bodies, body)
	}
	return m.document()
}

func firstDiag(diags hcl.Diagnostics) string {
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			if d.Subject != nil {
				return fmt.Sprintf("%s: %s: %s", d.Subject.String(), d.Summary, d.Detail)
			}
			return d.Summary + ": " + d.Detail
		}
	}
	return diags.Error()
}

type tofuModule struct {
	dir     string
	sources map[string][]byte
	bodies  []*hclsyntax.Body
}

func (m *tofuModule) document() (map[string]any, error) {
	files := make([]any, 0, len(m.sources))
	for name := range m.sources {
		files = append(files, name)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].(string) < files[j].(string) })

	variables := map[string]any{}
	defaults := map[string]cty.Value{}
	for _, body := range m.bodies {
		for _, block := range body.Blocks {
			if block.Type != "variable" || len(block.Labels) != 1 {
				continue
			}
			name := block.Labels[0]
			v := map[string]any{"file": m.fileOf(block), "line": block.DefRange().Start.Line}
			declared := cty.DynamicPseudoType
			if attr, ok := block.Body.Attributes["type"]; ok {
				if ty, diags := typeexpr.TypeConstraint(attr.Expr); !diags.HasErrors() {
					declared = ty
				}
			}
			for attrName, attr := range block.Body.Attributes {
				switch attrName {
				case "type":
					v["type"] = m.source(attr.Expr)
				case "default":
					val, diags := attr.Expr.Value(m.evalContext(nil))
					if !diags.HasErrors() {
						// Typed like OpenTofu does, so a null default of type string is a
						// null string (functions such as coalesce need the type).
						if typed, err := convert.Convert(val, declared); err == nil {
							val = typed
						}
						defaults[name] = val
					}
					v["default"] = m.value(attr.Expr, nil)
				default:
					v[attrName] = m.value(attr.Expr, nil)
				}
			}
			v["validations"] = len(blocksOfType(block.Body, "validation"))
			variables[name] = v
		}
	}

	locals, localValues := m.locals(defaults)
	base := map[string]cty.Value{
		"var":   objectOrEmpty(defaults),
		"local": objectOrEmpty(localValues),
		"path":  pathValue(),
	}

	doc := map[string]any{
		"dir":       filepath.ToSlash(m.dir),
		"files":     files,
		"variables": variables,
		"locals":    locals,
		"resources": []any{},
		"data":      []any{},
		"outputs":   map[string]any{},
		"modules":   []any{},
		"providers": []any{},
	}
	// Pass 1 resolves what needs only variables and locals; pass 2 also lets
	// expressions read other resources' resolved attributes
	// (kubernetes_namespace_v1.redis.metadata[0].name).
	for pass := 1; pass <= 2; pass++ {
		if pass == 2 {
			base = withResourceValues(base, doc)
			doc["resources"], doc["data"] = []any{}, []any{}
		}
		for _, body := range m.bodies {
			for _, block := range body.Blocks {
				if block.Type != "resource" && block.Type != "data" {
					continue
				}
				if len(block.Labels) != 2 {
					return nil, fmt.Errorf("tofu %s:%d: %s block needs a type and a name", m.fileOf(block), block.DefRange().Start.Line, block.Type)
				}
				r, err := m.resource(block, base)
				if err != nil {
					return nil, err
				}
				key := "resources"
				if block.Type == "data" {
					key = "data"
				}
				doc[key] = append(doc[key].([]any), r)
			}
		}
	}
	for _, body := range m.bodies {
		for _, block := range body.Blocks {
			switch block.Type {
			case "output":
				if len(block.Labels) != 1 {
					continue
				}
				out := m.bodyDoc(block.Body, base)
				out["file"], out["line"] = m.fileOf(block), block.DefRange().Start.Line
				doc["outputs"].(map[string]any)[block.Labels[0]] = out
			case "module":
				if len(block.Labels) != 1 {
					continue
				}
				mod := m.bodyDoc(block.Body, base)
				mod["name"], mod["file"], mod["line"] = block.Labels[0], m.fileOf(block), block.DefRange().Start.Line
				doc["modules"] = append(doc["modules"].([]any), mod)
			case "provider":
				if len(block.Labels) != 1 {
					continue
				}
				p := m.bodyDoc(block.Body, base)
				p["name"] = block.Labels[0]
				doc["providers"] = append(doc["providers"].([]any), p)
			}
		}
	}
	// Round-trip through JSON so the document holds only JSON types (OPA input).
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode tofu document of %s: %w", m.dir, err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("decode tofu document of %s: %w", m.dir, err)
	}
	return out, nil
}

// locals evaluates locals in a few passes, so locals that use other locals resolve.
func (m *tofuModule) locals(defaults map[string]cty.Value) (map[string]any, map[string]cty.Value) {
	attrs := map[string]*hclsyntax.Attribute{}
	for _, body := range m.bodies {
		for _, block := range body.Blocks {
			if block.Type == "locals" {
				for name, attr := range block.Body.Attributes {
					attrs[name] = attr
				}
			}
		}
	}
	values := map[string]cty.Value{}
	for pass := 0; pass < 4; pass++ {
		ctx := m.evalContext(map[string]cty.Value{"var": objectOrEmpty(defaults), "local": objectOrEmpty(values), "path": pathValue()})
		for name, attr := range attrs {
			if _, done := values[name]; done {
				continue
			}
			if v, diags := attr.Expr.Value(ctx); !diags.HasErrors() && v.IsWhollyKnown() {
				values[name] = v
			}
		}
	}
	doc := map[string]any{}
	ctxVars := map[string]cty.Value{"var": objectOrEmpty(defaults), "local": objectOrEmpty(values), "path": pathValue()}
	for name, attr := range attrs {
		doc[name] = m.value(attr.Expr, ctxVars)
	}
	return doc, values
}

func (m *tofuModule) resource(block *hclsyntax.Block, base map[string]cty.Value) (map[string]any, error) {
	r := map[string]any{
		"type": block.Labels[0],
		"name": block.Labels[1],
		"file": m.fileOf(block),
		"line": block.DefRange().Start.Line,
	}
	where := fmt.Sprintf("%s:%d %s.%s", m.fileOf(block), block.DefRange().Start.Line, block.Labels[0], block.Labels[1])
	type instance struct {
		key  any
		vars map[string]cty.Value
	}
	instances := []instance{{key: nil, vars: base}}
	if attr, ok := block.Body.Attributes["for_each"]; ok {
		r["for_each"] = m.value(attr.Expr, base)
		instances = nil
		val, diags := attr.Expr.Value(m.evalContext(base))
		if diags.HasErrors() || !val.IsWhollyKnown() || val.IsNull() || !val.CanIterateElements() {
			r["instances_unknown"] = true
		} else {
			if val.LengthInt() > maxInstances {
				return nil, fmt.Errorf("tofu %s: for_each has %d instances, more than %d", where, val.LengthInt(), maxInstances)
			}
			for it := val.ElementIterator(); it.Next(); {
				k, v := it.Element()
				if val.Type().IsSetType() {
					k = v
				}
				vars := withVar(base, "each", cty.ObjectVal(map[string]cty.Value{"key": k, "value": v}))
				instances = append(instances, instance{key: ctyToGo(k), vars: vars})
			}
		}
	}
	if attr, ok := block.Body.Attributes["count"]; ok {
		r["count"] = m.value(attr.Expr, base)
		instances = nil
		val, diags := attr.Expr.Value(m.evalContext(base))
		n, convErr := 0, fmt.Errorf("not a number")
		if !diags.HasErrors() && val.IsWhollyKnown() && !val.IsNull() && val.Type() == cty.Number {
			bf := val.AsBigFloat()
			if i, acc := bf.Int64(); acc == 0 && i >= 0 {
				n, convErr = int(i), nil
			}
		}
		if convErr != nil {
			r["instances_unknown"] = true
		} else {
			if n > maxInstances {
				return nil, fmt.Errorf("tofu %s: count is %d, more than %d", where, n, maxInstances)
			}
			for i := 0; i < n; i++ {
				vars := withVar(base, "count", cty.ObjectVal(map[string]cty.Value{"index": cty.NumberIntVal(int64(i))}))
				instances = append(instances, instance{key: i, vars: vars})
			}
		}
	}
	docs := make([]any, 0, len(instances))
	for _, inst := range instances {
		d := m.bodyDoc(block.Body, inst.vars)
		attrs := d["attributes"].(map[string]any)
		delete(attrs, "for_each")
		delete(attrs, "count")
		d["key"] = inst.key
		docs = append(docs, d)
	}
	r["instances"] = docs
	return r, nil
}

// bodyDoc turns a block body into {"attributes": {...}, "blocks": {type: [...]}}.
// Meta-arguments stay in attributes (depends_on, lifecycle as a block, etc.).
func (m *tofuModule) bodyDoc(body *hclsyntax.Body, vars map[string]cty.Value) map[string]any {
	attrs := map[string]any{}
	for name, attr := range body.Attributes {
		if name == "depends_on" {
			// Ordering only: keep the references, not the resolved resources.
			attrs[name] = m.value(attr.Expr, nil)
			continue
		}
		attrs[name] = m.value(attr.Expr, vars)
	}
	blocks := map[string]any{}
	for _, b := range body.Blocks {
		d := m.bodyDoc(b.Body, vars)
		if len(b.Labels) > 0 {
			labels := make([]any, len(b.Labels))
			for i, l := range b.Labels {
				labels[i] = l
			}
			d["labels"] = labels
		}
		list, _ := blocks[b.Type].([]any)
		blocks[b.Type] = append(list, d)
	}
	return map[string]any{"attributes": attrs, "blocks": blocks}
}

// value is the literal value of an expression when it needs no variables and
// evaluates (functions allowed), else an ExprKey object with the source text, the
// references and, when it resolves with the given variables, the resolved value.
func (m *tofuModule) value(expr hclsyntax.Expression, vars map[string]cty.Value) any {
	traversals := expr.Variables()
	if len(traversals) == 0 {
		if v, diags := expr.Value(m.evalContext(nil)); !diags.HasErrors() && v.IsWhollyKnown() {
			return ctyToGo(v)
		}
	}
	// Constructors that do not resolve whole keep their shape, so static keys and
	// literal items stay readable next to the dynamic ones.
	if vars != nil {
		if v, diags := expr.Value(m.evalContext(vars)); diags.HasErrors() || !v.IsWhollyKnown() {
			switch e := expr.(type) {
			case *hclsyntax.ObjectConsExpr:
				if obj, ok := m.objectCons(e, vars); ok {
					return obj
				}
			case *hclsyntax.TupleConsExpr:
				items := make([]any, 0, len(e.Exprs))
				for _, item := range e.Exprs {
					items = append(items, m.value(item, vars))
				}
				return items
			}
		}
	}
	refs := make([]any, 0, len(traversals))
	for _, t := range traversals {
		refs = append(refs, traversalString(t))
	}
	out := map[string]any{ExprKey: m.source(expr), "refs": refs}
	if vars != nil {
		if v, diags := expr.Value(m.evalContext(vars)); !diags.HasErrors() && v.IsWhollyKnown() {
			out["value"] = ctyToGo(v)
		}
	}
	return out
}

func (m *tofuModule) objectCons(e *hclsyntax.ObjectConsExpr, vars map[string]cty.Value) (map[string]any, bool) {
	out := map[string]any{}
	for _, item := range e.Items {
		k, diags := item.KeyExpr.Value(m.evalContext(vars))
		if diags.HasErrors() || !k.IsWhollyKnown() || k.IsNull() {
			return nil, false
		}
		ks, err := convert.Convert(k, cty.String)
		if err != nil {
			return nil, false
		}
		out[ks.AsString()] = m.value(item.ValueExpr, vars)
	}
	return out, true
}

func (m *tofuModule) source(expr hclsyntax.Expression) string {
	rng := expr.Range()
	src := m.sources[rng.Filename]
	if rng.Start.Byte < 0 || rng.End.Byte > len(src) || rng.Start.Byte > rng.End.Byte {
		return ""
	}
	return string(src[rng.Start.Byte:rng.End.Byte])
}

func (m *tofuModule) fileOf(block *hclsyntax.Block) string {
	return block.DefRange().Filename
}

func (m *tofuModule) evalContext(vars map[string]cty.Value) *hcl.EvalContext {
	return &hcl.EvalContext{Variables: vars, Functions: m.functions()}
}

// functions are the OpenTofu built-ins that static configuration commonly uses; an
// expression calling any other function stays an expression.
func (m *tofuModule) functions() map[string]function.Function {
	return map[string]function.Function{
		"toset":      convertFunc(func(t cty.Type) cty.Type { return cty.Set(t) }),
		"tolist":     convertFunc(func(t cty.Type) cty.Type { return cty.List(t) }),
		"tomap":      convertFunc(func(t cty.Type) cty.Type { return cty.Map(t) }),
		"tostring":   convertTo(cty.String),
		"tonumber":   convertTo(cty.Number),
		"tobool":     convertTo(cty.Bool),
		"concat":     stdlib.ConcatFunc,
		"contains":   stdlib.ContainsFunc,
		"distinct":   stdlib.DistinctFunc,
		"flatten":    stdlib.FlattenFunc,
		"format":     stdlib.FormatFunc,
		"join":       stdlib.JoinFunc,
		"jsondecode": stdlib.JSONDecodeFunc,
		"jsonencode": stdlib.JSONEncodeFunc,
		"keys":       stdlib.KeysFunc,
		"length":     stdlib.LengthFunc,
		"lookup":     stdlib.LookupFunc,
		"lower":      stdlib.LowerFunc,
		"merge":      stdlib.MergeFunc,
		"replace":    stdlib.ReplaceFunc,
		"setunion":   stdlib.SetUnionFunc,
		"split":      stdlib.SplitFunc,
		"trimspace":  stdlib.TrimSpaceFunc,
		"upper":      stdlib.UpperFunc,
		"values":     stdlib.ValuesFunc,
		"coalesce":   stdlib.CoalesceFunc,
		"file":       m.fileFunc(),
	}
}

// fileFunc reads a file relative to the module folder, like OpenTofu's file(); it
// refuses paths that leave the project (the module's parent folder).
func (m *tofuModule) fileFunc() function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "path", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			rel := args[0].AsString()
			abs, err := filepath.Abs(filepath.Join(m.dir, rel))
			if err != nil {
				return cty.NilVal, fmt.Errorf("file(%q): %w", rel, err)
			}
			limit, err := filepath.Abs(filepath.Dir(m.dir))
			if err != nil {
				return cty.NilVal, fmt.Errorf("file(%q): %w", rel, err)
			}
			if !strings.HasPrefix(abs, limit+string(filepath.Separator)) {
				return cty.NilVal, fmt.Errorf("file(%q): outside the project", rel)
			}
			raw, err := safeio.ReadInput(abs, safeio.TofuLimit)
			if err != nil {
				return cty.NilVal, fmt.Errorf("file(%q): %w", rel, err)
			}
			return cty.StringVal(string(raw)), nil
		},
	})
}

func convertFunc(want func(cty.Type) cty.Type) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "v", Type: cty.DynamicPseudoType, AllowNull: true}},
		Type: func(args []cty.Value) (cty.Type, error) {
			return want(cty.DynamicPseudoType), nil
		},
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return convert.Convert(args[0], want(cty.DynamicPseudoType))
		},
	})
}

func convertTo(t cty.Type) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "v", Type: cty.DynamicPseudoType, AllowNull: true}},
		Type:   function.StaticReturnType(t),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return convert.Convert(args[0], t)
		},
	})
}

// withResourceValues adds each resource's resolved attributes as a variable root
// (type.name), the way expressions address them: an object for a single instance, a
// tuple for count and a map for for_each. Unresolved attributes are left out, so an
// expression that needs them stays unresolved.
func withResourceValues(base map[string]cty.Value, doc map[string]any) map[string]cty.Value {
	byType := map[string]map[string]cty.Value{}
	for _, raw := range doc["resources"].([]any) {
		r := raw.(map[string]any)
		instances, _ := r["instances"].([]any)
		var val cty.Value
		switch {
		case r["for_each"] != nil:
			elems := map[string]cty.Value{}
			for _, inst := range instances {
				d := inst.(map[string]any)
				elems[fmt.Sprint(d["key"])] = plainValue(d)
			}
			val = cty.ObjectVal(elems)
		case r["count"] != nil:
			elems := make([]cty.Value, 0, len(instances))
			for _, inst := range instances {
				elems = append(elems, plainValue(inst.(map[string]any)))
			}
			val = cty.TupleVal(elems)
		case len(instances) == 1:
			val = plainValue(instances[0].(map[string]any))
		default:
			continue
		}
		typ, name := r["type"].(string), r["name"].(string)
		if byType[typ] == nil {
			byType[typ] = map[string]cty.Value{}
		}
		byType[typ][name] = val
	}
	out := make(map[string]cty.Value, len(base)+len(byType))
	for k, v := range base {
		out[k] = v
	}
	for typ, names := range byType {
		if _, taken := out[typ]; !taken {
			out[typ] = cty.ObjectVal(names)
		}
	}
	return out
}

// plainValue is an instance document as a cty object: resolved attributes, and blocks
// as lists of objects.
func plainValue(body map[string]any) cty.Value {
	raw, err := json.Marshal(goPlain(body))
	if err != nil {
		return cty.EmptyObjectVal
	}
	ty, err := ctyjson.ImpliedType(raw)
	if err != nil {
		return cty.EmptyObjectVal
	}
	v, err := ctyjson.Unmarshal(raw, ty)
	if err != nil {
		return cty.EmptyObjectVal
	}
	return v
}

func goPlain(body map[string]any) map[string]any {
	plain := map[string]any{}
	attrs, _ := body["attributes"].(map[string]any)
	for k, v := range attrs {
		if pv, ok := resolved(v); ok {
			plain[k] = pv
		}
	}
	blocks, _ := body["blocks"].(map[string]any)
	for k, list := range blocks {
		var items []any
		for _, b := range list.([]any) {
			items = append(items, goPlain(b.(map[string]any)))
		}
		plain[k] = items
	}
	return plain
}

// resolved strips expression markers: an expression yields its resolved value, or
// nothing when it has none.
func resolved(v any) (any, bool) {
	switch x := v.(type) {
	case map[string]any:
		if _, isExpr := x[ExprKey]; isExpr {
			val, ok := x["value"]
			return val, ok
		}
		out := map[string]any{}
		for k, item := range x {
			if rv, ok := resolved(item); ok {
				out[k] = rv
			}
		}
		return out, true
	case []any:
		out := make([]any, 0, len(x))
		for _, item := range x {
			rv, ok := resolved(item)
			if !ok {
				return nil, false
			}
			out = append(out, rv)
		}
		return out, true
	default:
		return v, true
	}
}

func withVar(base map[string]cty.Value, name string, v cty.Value) map[string]cty.Value {
	out := make(map[string]cty.Value, len(base)+1)
	for k, bv := range base {
		out[k] = bv
	}
	out[name] = v
	return out
}

func objectOrEmpty(m map[string]cty.Value) cty.Value {
	if len(m) == 0 {
		return cty.EmptyObjectVal
	}
	return cty.ObjectVal(m)
}

func traversalString(t hcl.Traversal) string {
	var b strings.Builder
	for _, step := range t {
		switch s := step.(type) {
		case hcl.TraverseRoot:
			b.WriteString(s.Name)
		case hcl.TraverseAttr:
			b.WriteString("." + s.Name)
		case hcl.TraverseIndex:
			b.WriteString("[" + fmt.Sprint(ctyToGo(s.Key)) + "]")
		case hcl.TraverseSplat:
			b.WriteString("[*]")
		}
	}
	return b.String()
}

// ctyToGo converts a wholly known value to JSON-compatible Go values.
func ctyToGo(v cty.Value) any {
	if v.IsNull() {
		return nil
	}
	v, _ = v.Unmark()
	raw, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return nil
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil
	}
	return out
}

func blocksOfType(body *hclsyntax.Body, typ string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, b := range body.Blocks {
		if b.Type == typ {
			out = append(out, b)
		}
	}
	return out
}
