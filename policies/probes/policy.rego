# METADATA
# title: Liveness and readiness probes restart failed instances in time
# description: >-
#   Both roles have liveness and readiness probes, and a hung instance is detected
#   (periodSeconds x failureThreshold) within the FR-010 restart_within bound of the catalog.
# custom:
#   requirements: [FR-010]
#   severity: high
#   inputs: [values, manifests]
package redis.probes

import data.lib.k8s
import data.lib.util
import data.lib.values

restart_within := util.bound("FR-010", "restart_within")

deny contains v if {
	some role in values.roles
	some probe in ["livenessProbe", "readinessProbe"]
	found := values.get([role, probe, "enabled"], true)
	found != true
	v := util.violation("values", sprintf("%s.%s.enabled", [role, probe]), found, "true")
}

# The chart's probe defaults: every 5 s, 5 failures.
detection_seconds(role) := values.get([role, "livenessProbe", "periodSeconds"], 5) * values.get([role, "livenessProbe", "failureThreshold"], 5)

deny contains v if {
	some role in values.roles
	found := detection_seconds(role)
	found > restart_within
	v := util.violation("values", sprintf("%s.livenessProbe.periodSeconds x failureThreshold", [role]), found, sprintf("at most %v s (FR-010 restart_within)", [restart_within]))
}

deny contains v if {
	some [o, c] in k8s.redis_containers
	some probe in ["livenessProbe", "readinessProbe"]
	not c[probe]
	v := util.violation(k8s.id(o), sprintf("container redis %s", [probe]), null, "a probe")
}

deny contains v if {
	some [o, _] in k8s.redis_containers
	found := object.get(k8s.pod_spec(o), "restartPolicy", "Always")
	found != "Always"
	v := util.violation(k8s.id(o), "restartPolicy", found, `"Always"`)
}
