# METADATA
# title: CPU and memory requests and limits on every container, maxmemory inside the limit
# description: >-
#   Every container the chart runs (redis, the exporter, enabled init containers) has
#   explicit CPU and memory requests and limits, never the chart's resourcesPreset, and
#   Redis's maxmemory is set below each role's memory limit.
# custom:
#   requirements: [FR-013]
#   severity: high
#   inputs: [values, manifests]
package redis.resources

import data.lib.k8s
import data.lib.util
import data.lib.values

components contains "master"

components contains "replica"

components contains c if {
	some c in ["metrics", "sentinel", "volumePermissions", "sysctl"]
	values.get([c, "enabled"], false) == true
}

quantities := [["requests", "cpu"], ["requests", "memory"], ["limits", "cpu"], ["limits", "memory"]]

deny contains v if {
	some c in components
	some [kind, resource] in quantities
	found := values.get([c, "resources", kind, resource], null)
	found == null
	v := util.violation("values", sprintf("%s.resources.%s.%s", [c, kind, resource]), found, sprintf("an explicit value (resourcesPreset %v is not a limit to rely on)", [values.get([c, "resourcesPreset"], "nano")]))
}

deny contains v if {
	some [o, c, field] in k8s.containers
	some [kind, resource] in quantities
	not c.resources[kind][resource]
	v := util.violation(k8s.id(o), sprintf("%s %s resources.%s.%s", [field, c.name, kind, resource]), null, "an explicit value")
}

# Redis memory units: k/m/g are powers of 1000, kb/mb/gb powers of 1024.
redis_units := {"": 1, "k": 1000, "kb": 1024, "m": 1000000, "mb": 1048576, "g": 1000000000, "gb": 1073741824}

redis_bytes(s) := to_number(m[0][1]) * redis_units[lower(m[0][2])] if {
	is_string(s)
	m := regex.find_all_string_submatch_n(`^([0-9]+)([a-zA-Z]*)$`, s, 1)
	count(m) == 1
}

deny contains v if {
	some role in values.roles
	found := values.setting(role, "maxmemory", null)
	not positive_bytes(found)
	v := util.violation("values", sprintf("%s redis.conf maxmemory", [role]), found, "a limit such as 200mb (0 means none)")
}

positive_bytes(s) if redis_bytes(s) > 0

deny contains v if {
	some role in values.roles
	max := redis_bytes(values.directive(role, "maxmemory"))
	limit := values.get([role, "resources", "limits", "memory"], null)
	is_string(limit)
	not max < units.parse_bytes(limit)
	v := util.violation("values", sprintf("%s redis.conf maxmemory", [role]), values.directive(role, "maxmemory"), sprintf("below %s.resources.limits.memory (%s)", [role, limit]))
}
