package lib.tofu_test

import data.lib.tofu

doc := {"tofu": {"resources": [
	{"type": "kubernetes_secret_v1", "name": "auth", "instances": [
		{"key": "redis", "attributes": {"type": "Opaque"}, "blocks": {"metadata": [{"attributes": {"namespace": {"$expr": "each.key", "refs": ["each.key"], "value": "redis"}}}]}},
		{"key": "beersystem", "attributes": {}, "blocks": {}},
	]},
	{"type": "random_password", "name": "redis", "instances": [{"key": null, "attributes": {"length": 32}, "blocks": {}}]},
]}}

test_instances_are_expanded_with_addresses if {
	insts := tofu.instances({"kubernetes_secret_v1"}) with input as doc
	[i.address | some i in insts] == [`kubernetes_secret_v1.auth["redis"]`, `kubernetes_secret_v1.auth["beersystem"]`]
	[i.address | some i in tofu.instances({"random_password"})] == ["random_password.redis"] with input as doc
}

test_resolved_expressions_read_as_their_value if {
	insts := tofu.instances({"kubernetes_secret_v1"}) with input as doc
	tofu.attr(tofu.block(insts[0], "metadata"), "namespace", null) == "redis"
	tofu.attr(insts[0], "type", "x") == "Opaque"
	tofu.literal_string(insts[0], "type")
}

test_unresolved_expression_stays_an_expression if {
	x := {"$expr": "random_password.redis.result", "refs": []}
	tofu.val(x) == x
	tofu.is_expr(x)
}

test_missing_block_is_an_empty_body if {
	tofu.block({"blocks": {}}, "spec") == {}
	tofu.attr({}, "type", "ClusterIP") == "ClusterIP"
}

test_presence_of_tofu_and_plan if {
	tofu.has_tofu with input as doc
	not tofu.has_tofu with input as {}
	tofu.has_plan with input as {"plan": {}}
}

test_plan_resources_are_found_in_child_modules if {
	plan := {"planned_values": {"root_module": {
		"resources": [{"address": "a.b", "mode": "managed", "type": "a"}],
		"child_modules": [{"resources": [{"address": "module.m.c.d", "mode": "managed", "type": "c"}, {"mode": "data", "type": "e"}]}],
	}}}
	{r.address | some r in tofu.plan_resources} == {"a.b", "module.m.c.d"} with input as {"plan": plan}
}
