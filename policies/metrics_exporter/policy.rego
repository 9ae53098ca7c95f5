# METADATA
# title: Metrics exporter on both instances
# description: >-
#   redis_exporter runs next to each instance (memory, clients, ops/s and replication
#   metrics) and the metrics Service is rendered.
# custom:
#   requirements: [FR-008]
#   severity: high
#   inputs: [values, manifests]
package redis.metrics_exporter

import data.lib.k8s
import data.lib.util
import data.lib.values

deny contains v if {
	found := values.get(["metrics", "enabled"], false)
	found != true
	v := util.violation("values", "metrics.enabled", found, "true")
}

deny contains v if {
	some [o, _] in k8s.redis_containers
	names := [c.name | some c in k8s.pod_spec(o).containers]
	not "metrics" in names
	v := util.violation(k8s.id(o), "spec.template.spec.containers", names, `a "metrics" exporter container`)
}

deny contains v if {
	k8s.has_manifests
	count([s | some s in k8s.objects; s.kind == "Service"; s.metadata.name == "redis-shared-metrics"]) == 0
	v := util.violation("manifests", "Service redis-shared-metrics", null, "the exporter's metrics Service")
}
