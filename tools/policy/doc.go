// Package policy is the static gate: it evaluates the Rego rules under policies/ with
// OPA's Go API over the deployment's configuration and returns one pass/fail result per
// rule (Run, see result.go), keyed by the requirement ids of each rule's METADATA.
//
// # Rules
//
// A rule is a Rego v1 package whose package-scope METADATA has custom.requirements (the
// same test tools/checks uses to find checks). It also carries a title, a description,
// custom.severity and custom.inputs, the input sections it cannot do without. A rule
// defines `deny contains v`, where v is {"object": ..., "field": ..., "msg": ...} and msg
// names the object, the field, what was found and what is required
// (data.lib.util.violation builds it). Packages without custom.requirements are helpers
// (policies/lib).
//
// # Data
//
// data.catalog is the requirement catalog (tools/catalog):
//
//	data.catalog.requirements["SC-005"].threshold = {name, op, value, unit}
//	data.catalog.requirements["FR-004"].bounds.pool_first = {name, op, value, unit}
//
// Rules read every spec number from there (scrape bound, pool, LAN CIDR, restart bound).
//
// # Input document
//
//	input.values     object  Helm values (helm-values/base.yaml + layering + --values
//	                         overlays) merged by helm and coalesced with the pinned chart's
//	                         defaults (LoadProjectInput): the templates' .Values. Hand-written
//	                         inputs (fixtures) may leave keys out; rules apply the chart's
//	                         defaults where they matter.
//	input.layering   string  "homelab" or "kind" (kind's local-path class is "standard").
//	input.manifests  array   Kubernetes objects the pinned chart rendered on this run
//	                         (release redis-shared, namespace redis), each with apiVersion,
//	                         kind and metadata.name; when not given, the rules that declare
//	                         it in custom.inputs are not-run (an empty rendering is an
//	                         error, not an absent one).
//	input.tofu       object  the module's *.tf files (one folder, not its examples/ or tests/),
//	                         parsed with hashicorp/hcl/v2 hclsyntax (package tofu):
//	    dir, files
//	    variables  {name: {type: "<source>", default: V, description: V, sensitive: V,
//	                validations: N, file, line}}
//	    locals     {name: V}
//	    resources  [{type, name, file, line, for_each: V, count: V, instances_unknown: bool,
//	                 instances: [{key, attributes: {name: V}, blocks: {type: [body]}}]}]
//	    data       same shape as resources
//	    outputs    {name: {attributes: {value: V, ...}, blocks, file, line}}
//	    modules    [{name, attributes, blocks, file, line}]
//	    providers  [{name, attributes, blocks}]
//	  A body is {attributes: {...}, blocks: {...}, labels?: [...]}. An attribute value V is
//	  the literal (JSON) when the expression needs no variable (OpenTofu functions such as
//	  toset, merge or jsonencode are evaluated), otherwise
//	      {"$expr": "<source text>", "refs": ["var.x", ...], "value": <resolved>}
//	  where value is present only when the expression resolves with the module's variable
//	  defaults, its locals, path.*, each.key/each.value or count.index of the instance, file()
//	  inside the project, and the resolved attributes of other resources
//	  (kubernetes_namespace_v1.redis.metadata[0].name). An object or tuple constructor that
//	  does not resolve whole keeps its shape with a V per item, so static keys stay readable:
//	      data = {"redis-password": {"$expr": "random_password.redis.result", ...}}
//	  for_each and count are expanded into one instance each (key: the for_each key or count
//	  index, null for a single instance); instances_unknown marks a for_each or count that
//	  does not resolve.
//	input.plan       object  `tofu show -json PLANFILE` as is (format_version, planned_values,
//	                         resource_changes, ...); absent when not given.
//
// # Failing closed
//
// Input that cannot be read or parsed, a deny member without a message, or an evaluation
// error (built-in errors are strict) is an error (*InputError for input), never a pass:
// `conform policy` exits 2. A rule a section of whose custom.inputs was not given is
// not-run with a reason; so is a rule that defines `evidence contains text` and found
// nothing to judge. A rule's evidence names the objects it judged; a rule without its
// own evidence says which inputs it read.
//
// # Rego tests
//
// RunRegoTests runs the policies' _test.rego files with OPA's tester and coverage. The
// tests read the hand-written good input of fixtures/policy/good as data.fixtures.good and
// break one thing in it per test.
package policy
