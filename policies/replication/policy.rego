# METADATA
# title: Primary-replica replication
# description: >-
#   The replica replicates from this release's master: replication architecture, no
#   external master, and the rendered replica runs in replica mode with a master host.
# custom:
#   requirements: [FR-006]
#   severity: critical
#   inputs: [values, manifests]
package redis.replication

import data.lib.k8s
import data.lib.util
import data.lib.values

deny contains v if {
	found := values.get(["architecture"], "replication")
	found != "replication"
	v := util.violation("values", "architecture", found, `"replication"`)
}

deny contains v if {
	found := values.get(["replica", "externalMaster", "enabled"], false)
	found != false
	v := util.violation("values", "replica.externalMaster.enabled", found, "false (replicate from this release's master)")
}

replica_containers := [[o, c] | some [o, c] in k8s.redis_containers; o.metadata.name == "redis-shared-replicas"]

env(c, name) := [object.get(e, "value", null) | some e in object.get(c, "env", []); e.name == name]

deny contains v if {
	k8s.has_manifests
	count(replica_containers) == 0
	v := util.violation("manifests", "StatefulSet redis-shared-replicas", null, "a replica workload with a redis container")
}

deny contains v if {
	some [o, c] in replica_containers
	found := env(c, "REDIS_REPLICATION_MODE")
	found != ["replica"]
	v := util.violation(k8s.id(o), "env REDIS_REPLICATION_MODE", found, `["replica"]`)
}

deny contains v if {
	some [o, c] in replica_containers
	found := env(c, "REDIS_MASTER_HOST")
	not startswith(util.at(found, 0, ""), "redis-shared-master")
	v := util.violation(k8s.id(o), "env REDIS_MASTER_HOST", found, "the redis-shared master")
}
