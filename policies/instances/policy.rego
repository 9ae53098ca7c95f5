# METADATA
# title: Exactly one master and one replica, no Sentinel
# description: >-
#   Replication architecture with one master and one replica (two instances), Sentinel
#   and replica autoscaling off; the rendered StatefulSets agree.
# custom:
#   requirements: [FR-002]
#   severity: critical
#   inputs: [values, manifests]
package redis.instances

import data.lib.k8s
import data.lib.util
import data.lib.values

# path, chart default, required value, required text
settings := [
	[["architecture"], "replication", "replication", `"replication"`],
	[["master", "count"], 1, 1, "1"],
	[["replica", "replicaCount"], 3, 1, "1"],
	[["sentinel", "enabled"], false, false, "false"],
	[["replica", "autoscaling", "enabled"], false, false, "false"],
]

deny contains v if {
	some [path, chart_default, wanted, text] in settings
	found := values.get(path, chart_default)
	found != wanted
	v := util.violation("values", concat(".", path), found, text)
}

workload_names := ["redis-shared-master", "redis-shared-replicas"]

deny contains v if {
	k8s.has_manifests
	some name in workload_names
	found := [object.get(o, ["spec", "replicas"], 1) | some o in k8s.workloads; o.metadata.name == name]
	found != [1]
	v := util.violation("manifests", sprintf("%s spec.replicas", [name]), found, "one workload with 1 replica")
}

deny contains v if {
	some [o, _] in k8s.redis_containers
	o.kind != "StatefulSet"
	v := util.violation(k8s.id(o), "kind", o.kind, "Redis only in the redis-shared StatefulSets")
}

deny contains v if {
	some v in k8s.missing_redis_workloads
}
