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
