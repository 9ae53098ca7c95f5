package redis.durability_test

import data.lib.testing
import data.redis.durability

test_good_input_passes if {
	count(durability.deny) == 0 with input as testing.good
}

test_everysec_fsync_is_denied if {
	testing.denied(durability.deny, `replica redis.conf appendfsync is "everysec"`) with input as testing.with_values({"replica": {"configuration": "appendfsync everysec"}})
}

test_redis_defaults_apply_when_unset if {
	denials := durability.deny with input as testing.with_values({"commonConfiguration": "maxmemory 1mb"})
	testing.denied(denials, `master redis.conf appendonly is "no"`)
	testing.denied(denials, `master redis.conf appendfsync is "everysec"`)
}

test_rendered_everysec_is_denied if {
	bad := testing.patched([{"op": "replace", "path": "/manifests/6/data/master.conf", "value": "appendfsync everysec"}])
	testing.denied(durability.deny, "ConfigMap redis/redis-shared-configuration: data master.conf (with redis.conf) appendfsync") with input as bad
}

test_evidence_names_the_rendered_configuration if {
	"ConfigMap redis/redis-shared-configuration: master appendonly yes, appendfsync always" in durability.evidence with input as testing.good
}
