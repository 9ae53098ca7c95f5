package redis.release_name_test

import data.lib.testing
import data.redis.release_name

test_good_input_passes if {
	count(release_name.deny) == 0 with input as testing.good
}

test_missing_helm_release_is_denied if {
	bad := testing.patched([{"op": "remove", "path": "/tofu/resources/3"}])
	testing.denied(release_name.deny, "a helm_release named") with input as bad
}

test_other_release_name_is_denied if {
	bad := testing.patched([{"op": "replace", "path": "/tofu/resources/3/instances/0/attributes/name", "value": "redis"}])
	testing.denied(release_name.deny, `name is "redis"`) with input as bad
}

test_name_overrides_are_denied if {
	denials := release_name.deny with input as testing.with_values({"fullnameOverride": "cache", "nameOverride": "cache"})
	testing.denied(denials, "fullnameOverride")
	testing.denied(denials, "nameOverride is")
}

test_missing_replicas_service_is_denied if {
	bad := testing.patched([{"op": "replace", "path": "/manifests/1/metadata/name", "value": "redis-shared-replica"}])
	testing.denied(release_name.deny, `a Service "redis-shared-replicas"`) with input as bad
}

test_plan_with_another_name_is_denied if {
	release := {"address": "helm_release.r", "mode": "managed", "type": "helm_release", "values": {"name": "redis-shared", "namespace": "redis"}}
	plan := {"planned_values": {"root_module": {"resources": [release]}}}
	count(release_name.deny) == 0 with input as object.union(testing.good, {"plan": plan})
	bad := json.patch(plan, [{"op": "replace", "path": "/planned_values/root_module/resources/0/values/name", "value": "other"}])
	testing.denied(release_name.deny, "plan helm_release.r: name") with input as object.union(testing.good, {"plan": bad})
}
