# METADATA
# title: AOF with an fsync policy that loses no acknowledged write
# description: >-
#   Both roles run appendonly yes with appendfsync always: with everysec Redis may
#   acknowledge a write before it is on disk (lost on kill -9 or power loss), which the
#   SC-007 threshold of zero lost acknowledged writes does not allow.
# custom:
#   requirements: [SC-007]
#   severity: critical
#   inputs: [values, manifests]
package redis.durability

import data.lib.k8s
import data.lib.util
import data.lib.values

# Redis's own defaults when no line sets a directive.
redis_defaults := {"appendonly": "no", "appendfsync": "everysec"}

required := {"appendonly": "yes", "appendfsync": "always"}

deny contains v if {
	some role in values.roles
	some name, wanted in required
	found := values.setting(role, name, redis_defaults[name])
	lower(found) != wanted
	v := util.violation("values", sprintf("%s redis.conf %s", [role, name]), found, sprintf("%q (SC-007: %v lost acknowledged writes)", [wanted, util.threshold("SC-007")]))
}

# The same over the configuration the chart rendered (what redis-server reads).
deny contains v if {
	some role in values.roles
	k8s.rendered_config(role)
	some name, wanted in required
	found := k8s.rendered_setting(role, name, redis_defaults[name])
	lower(found) != wanted
	v := util.violation(k8s.configuration_object, sprintf("data %s.conf (with redis.conf) %s", [role, name]), found, sprintf("%q (SC-007: %v lost acknowledged writes)", [wanted, util.threshold("SC-007")]))
}

evidence contains sprintf("%s: %s appendonly %s, appendfsync %s", [k8s.configuration_object, role, k8s.rendered_setting(role, "appendonly", "no"), k8s.rendered_setting(role, "appendfsync", "everysec")]) if {
	some role in values.roles
	k8s.rendered_config(role)
}
