package redis.resources_test

import data.lib.testing
import data.redis.resources

test_good_input_passes if {
	count(resources.deny) == 0 with input as testing.good
}

test_exporter_on_the_preset_is_denied if {
	bad := json.remove(testing.good, ["values/metrics/resources"])
	testing.denied(resources.deny, "metrics.resources.limits.memory is not set") with input as bad
}

test_enabled_init_container_without_resources_is_denied if {
	testing.denied(resources.deny, "volumePermissions.resources.requests.cpu") with input as testing.with_values({"volumePermissions": {"enabled": true}})
}

test_rendered_container_without_limits_is_denied if {
	bad := testing.patched([{"op": "remove", "path": "/manifests/8/spec/template/spec/containers/1/resources/limits"}])
	testing.denied(resources.deny, "containers metrics resources.limits.cpu") with input as bad
}

test_missing_or_zero_maxmemory_is_denied if {
	testing.denied(resources.deny, `master redis.conf maxmemory is "0"`) with input as testing.with_values({"master": {"configuration": "maxmemory 0"}})
	testing.denied(resources.deny, "replica redis.conf maxmemory is not set") with input as testing.with_values({"commonConfiguration": "appendonly yes"})
}

test_maxmemory_above_the_limit_is_denied if {
	testing.denied(resources.deny, "below replica.resources.limits.memory") with input as testing.with_values({"replica": {"configuration": "maxmemory 1gb"}})
}

test_redis_memory_units if {
	resources.redis_bytes("1k") == 1000
	resources.redis_bytes("1KB") == 1024
	resources.redis_bytes("2mb") == 2097152
	resources.redis_bytes("1g") == 1000000000
	resources.redis_bytes("1gb") == 1073741824
	resources.redis_bytes("100") == 100
	resources.redis_bytes("1m") == 1000000
	not resources.redis_bytes("lots")
}
