package redis.secret_redis_test

import data.lib.testing
import data.redis.secret_redis

test_good_input_passes if {
	count(secret_redis.deny) == 0 with input as testing.good
}

test_missing_secret_in_redis_is_denied if {
	bad := testing.patched([{"op": "remove", "path": "/tofu/resources/2/instances/1"}])
	testing.denied(secret_redis.deny, `required ["redis", "redis-shared-auth", "redis-password"]`) with input as bad
}

test_plan_without_the_secret_is_denied if {
	plan := {"planned_values": {"root_module": {"resources": [{
		"address": "kubernetes_secret_v1.auth[\"beersystem\"]", "mode": "managed", "type": "kubernetes_secret_v1",
		"values": {"metadata": [{"name": "redis-shared-auth", "namespace": "beersystem"}]},
	}]}}}
	testing.denied(secret_redis.deny, "plan: kubernetes_secret_v1") with input as object.union(testing.good, {"plan": plan})
}
