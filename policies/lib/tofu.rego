# METADATA
# title: Helpers over the parsed OpenTofu configuration (input.tofu) and plan (input.plan)
# description: >-
#   Attribute values are literals where static, else {"$expr": source, "refs": [...],
#   "value": resolved with the module's variable defaults when that is possible}.
package lib.tofu

has_tofu if is_object(input.tofu)

has_plan if is_object(input.plan)

# instances are the expanded instances of resources of the given types, one per
# for_each key or count index.
instances(types) := [inst |
	some r in object.get(input, ["tofu", "resources"], [])
	r.type in types
	some i in r.instances
	inst := {
		"address": address(r, i.key),
		"type": r.type,
		"name": r.name,
		"key": i.key,
		"attributes": i.attributes,
		"blocks": i.blocks,
	}
]

address(r, key) := sprintf("%s.%s", [r.type, r.name]) if key == null

address(r, key) := sprintf("%s.%s[%s]", [r.type, r.name, json.marshal(key)]) if key != null

# val is a literal as it is and an expression as its resolved value; an expression that
# did not resolve stays the expression object, so comparisons with literals fail.
val(x) := object.get(x, "value", x) if is_expr(x)

val(x) := x if not is_expr(x)

is_expr(x) if {
	is_object(x)
	x["$expr"]
}

# attr is a resolved attribute of a block body (or instance), or the default.
attr(body, name, default_value) := val(object.get(body, ["attributes", name], default_value))

# block is the first nested block of a type, or an empty body.
block(body, name) := object.get(body, ["blocks", name], [{}])[0]

# literal_string holds for an attribute written as a literal string in the source.
literal_string(body, name) if is_string(object.get(body, ["attributes", name], null))

# plan_resources are the managed resources of a `tofu show -json` plan, in every module.
plan_resources := [r |
	walk(object.get(input, ["plan", "planned_values"], {}), [_, r])
	is_object(r)
	r.mode == "managed"
]

# secrets_written are [namespace, name, key] for every key of every Secret tofu writes.
secrets_written contains [ns, name, key] if {
	some s in instances({"kubernetes_secret", "kubernetes_secret_v1"})
	meta := block(s, "metadata")
	ns := attr(meta, "namespace", null)
	name := attr(meta, "name", null)
	some key, _ in attr(s, "data", {})
}

# secrets_planned are [namespace, name] of every Secret a given plan creates.
secrets_planned contains [ns, name] if {
	some r in plan_resources
	r.type in {"kubernetes_secret", "kubernetes_secret_v1"}
	ns := r.values.metadata[0].namespace
	name := r.values.metadata[0].name
}

# planned_releases are the helm_release resources of a given plan.
planned_releases := [r | some r in plan_resources; r.type == "helm_release"]
