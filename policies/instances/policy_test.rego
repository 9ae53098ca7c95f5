package redis.instances_test

import data.lib.testing
import data.redis.instances

test_good_input_passes if {
	count(instances.deny) == 0 with input as testing.good
}

test_chart_default_of_three_replicas_is_denied if {
	bad := json.remove(testing.good, ["values/replica/replicaCount"])
	testing.denied(instances.deny, "replica.replicaCount is 3") with input as bad
}

test_sentinel_is_denied if {
	testing.denied(instances.deny, "sentinel.enabled is true") with input as testing.with_values({"sentinel": {"enabled": true}})
}

test_two_rendered_replicas_are_denied if {
	bad := testing.patched([{"op": "replace", "path": "/manifests/8/spec/replicas", "value": 2}])
	testing.denied(instances.deny, "redis-shared-replicas spec.replicas") with input as bad
}

test_redis_outside_a_statefulset_is_denied if {
	bad := testing.patched([{"op": "replace", "path": "/manifests/8/kind", "value": "Deployment"}])
	testing.denied(instances.deny, `kind is "Deployment"`) with input as bad
}

test_rendering_without_redis_is_denied if {
	bad := object.union(testing.good, {"manifests": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}]})
	testing.denied(instances.deny, "no workload with a container named") with input as bad
}
