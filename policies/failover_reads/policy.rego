# METADATA
# title: Reads survive one instance down, and both instances come back
# description: >-
#   With one master and at least one replica behind the replicas Service, the replica
#   keeps serving reads while the master is down (replica-serve-stale-data not off),
#   the master keeps taking writes while the replica is down (no min-replicas-to-write),
#   and both roles have liveness probes so the kubelet restarts a failed instance.
# custom:
#   requirements: [SC-002]
#   severity: high
#   inputs: [values, manifests]
package redis.failover_reads

import data.lib.k8s
import data.lib.util
import data.lib.values

deny contains v if {
	found := values.get(["replica", "replicaCount"], 3)
	not found >= 1
	v := util.violation("values", "replica.replicaCount", found, "at least 1 (a replica to read from)")
}

deny contains v if {
	found := values.directive("replica", "replica-serve-stale-data")
	lower(found) == "no"
	v := util.violation("values", "replica redis.conf replica-serve-stale-data", found, `"yes" (serve reads while the master is down)`)
}

deny contains v if {
	found := values.directive("master", "min-replicas-to-write")
	to_number(found) > 0
	v := util.violation("values", "master redis.conf min-replicas-to-write", found, "0 (take writes while the replica is down)")
}

deny contains v if {
	some role in values.roles
	found := values.get([role, "livenessProbe", "enabled"], true)
	found != true
	v := util.violation("values", sprintf("%s.livenessProbe.enabled", [role]), found, "true (restart a failed instance)")
}

deny contains v if {
	k8s.has_manifests
	count([s | some s in k8s.objects; s.kind == "Service"; s.metadata.name == "redis-shared-replicas"]) == 0
	v := util.violation("manifests", "Service redis-shared-replicas", null, "a Service for reads from the replica")
}
