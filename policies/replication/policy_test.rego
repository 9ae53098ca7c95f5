package redis.replication_test

import data.lib.testing
import data.redis.replication

test_good_input_passes if {
	count(replication.deny) == 0 with input as testing.good
}

test_standalone_is_denied if {
	testing.denied(replication.deny, "architecture") with input as testing.with_values({"architecture": "standalone"})
}

test_external_master_is_denied if {
	testing.denied(replication.deny, "replica.externalMaster.enabled") with input as testing.with_values({"replica": {"externalMaster": {"enabled": true}}})
}

test_missing_replica_workload_is_denied if {
	bad := testing.patched([{"op": "remove", "path": "/manifests/8"}])
	testing.denied(replication.deny, "a replica workload") with input as bad
}

test_replica_in_master_mode_is_denied if {
	bad := testing.patched([
		{"op": "replace", "path": "/manifests/8/spec/template/spec/containers/0/env/0/value", "value": "master"},
		{"op": "replace", "path": "/manifests/8/spec/template/spec/containers/0/env/1/value", "value": "elsewhere"},
	])
	denials := replication.deny with input as bad
	testing.denied(denials, "REDIS_REPLICATION_MODE")
	testing.denied(denials, "REDIS_MASTER_HOST")
}
