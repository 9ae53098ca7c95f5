package redis.secret_beersystem_test

import data.lib.testing
import data.redis.secret_beersystem

test_good_input_passes if {
	count(secret_beersystem.deny) == 0 with input as testing.good
}

test_secret_only_in_redis_is_denied if {
	bad := testing.patched([{"op": "remove", "path": "/tofu/resources/2/instances/0"}])
	testing.denied(secret_beersystem.deny, `required ["beersystem", "redis-shared-auth", "redis-password"]`) with input as bad
}

test_other_key_in_beersystem_is_denied if {
	bad := testing.patched([{"op": "replace", "path": "/tofu/resources/2/instances/0/attributes/data", "value": {"password": {"$expr": "random_password.redis.result"}}}])
	testing.denied(secret_beersystem.deny, "kubernetes_secret_v1 (namespace, name, key)") with input as bad
}

planned_secret(ns) := {"address": ns, "mode": "managed", "type": "kubernetes_secret_v1", "values": {"metadata": [{"name": "redis-shared-auth", "namespace": ns}]}}

test_plan_with_both_secrets_passes if {
	plan := {"planned_values": {"root_module": {"resources": [planned_secret("redis"), planned_secret("beersystem")]}}}
	count(secret_beersystem.deny) == 0 with input as object.union(testing.good, {"plan": plan})
}

test_plan_without_the_beersystem_secret_is_denied if {
	plan := {"planned_values": {"root_module": {"resources": []}}}
	testing.denied(secret_beersystem.deny, "plan: kubernetes_secret_v1") with input as object.union(testing.good, {"plan": plan})
}
