package redis.failover_reads_test

import data.lib.testing
import data.redis.failover_reads

test_good_input_passes if {
	count(failover_reads.deny) == 0 with input as testing.good
}

test_no_replica_is_denied if {
	testing.denied(failover_reads.deny, "replica.replicaCount is 0") with input as testing.with_values({"replica": {"replicaCount": 0}})
}

test_replica_refusing_stale_reads_is_denied if {
	testing.denied(failover_reads.deny, "replica-serve-stale-data") with input as testing.with_values({"replica": {"configuration": "replica-serve-stale-data no"}})
}

test_master_needing_a_replica_to_write_is_denied if {
	testing.denied(failover_reads.deny, "min-replicas-to-write") with input as testing.with_values({"master": {"configuration": "min-replicas-to-write 1"}})
}

test_instance_without_liveness_probe_is_denied if {
	testing.denied(failover_reads.deny, "replica.livenessProbe.enabled") with input as testing.with_values({"replica": {"livenessProbe": {"enabled": false}}})
}

test_missing_replicas_service_is_denied if {
	bad := testing.patched([{"op": "remove", "path": "/manifests/1"}])
	testing.denied(failover_reads.deny, "Service redis-shared-replicas") with input as bad
}
