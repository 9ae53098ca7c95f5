package redis.namespace_test

import data.lib.testing
import data.redis.namespace

test_good_input_passes if {
	count(namespace.deny) == 0 with input as testing.good
}

test_missing_redis_namespace_is_denied if {
	bad := testing.patched([{"op": "replace", "path": "/tofu/resources/0/instances/0/blocks/metadata/0/attributes/name", "value": "cache"}])
	testing.denied(namespace.deny, "kubernetes_namespace_v1.metadata.name") with input as bad
}

test_release_in_another_namespace_is_denied if {
	bad := testing.patched([{"op": "replace", "path": "/tofu/resources/3/instances/0/attributes/namespace", "value": "default"}])
	testing.denied(namespace.deny, `namespace is "default"`) with input as bad
}

test_namespace_override_is_denied if {
	testing.denied(namespace.deny, "namespaceOverride") with input as testing.with_values({"namespaceOverride": "shared"})
}

test_object_in_another_namespace_is_denied if {
	bad := testing.patched([{"op": "replace", "path": "/manifests/0/metadata/namespace", "value": "default"}])
	testing.denied(namespace.deny, "Service default/redis-shared-master") with input as bad
}

test_plan_with_another_namespace_is_denied if {
	release := {"address": "helm_release.r", "mode": "managed", "type": "helm_release", "values": {"name": "redis-shared", "namespace": "redis"}}
	plan := {"planned_values": {"root_module": {"resources": [release]}}}
	count(namespace.deny) == 0 with input as object.union(testing.good, {"plan": plan})
	bad := json.patch(plan, [{"op": "replace", "path": "/planned_values/root_module/resources/0/values/namespace", "value": "other"}])
	testing.denied(namespace.deny, "plan helm_release.r: namespace") with input as object.union(testing.good, {"plan": bad})
}
