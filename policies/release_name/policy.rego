# METADATA
# title: Helm release "redis-shared" with the required Service names
# description: >-
#   The release is named redis-shared (in tofu, and in the plan when given) and no name
#   override changes the chart's fullname, so the Services are redis-shared-master and redis-shared-replicas.
# custom:
#   requirements: [FR-017a]
#   severity: high
#   inputs: [values, manifests, tofu]
package redis.release_name

import data.lib.k8s
import data.lib.tofu
import data.lib.util
import data.lib.values

release := "redis-shared"

required_services := {"redis-shared-master", "redis-shared-replicas"}

releases := tofu.instances({"helm_release"})

deny contains v if {
	count(releases) == 0
	v := util.violation("tofu", "helm_release", null, `a helm_release named "redis-shared"`)
}

deny contains v if {
	some r in releases
	found := tofu.attr(r, "name", null)
	found != release
	v := util.violation(sprintf("tofu %s", [r.address]), "name", found, `"redis-shared"`)
}

deny contains v if {
	found := values.get(["fullnameOverride"], "")
	not found in {"", release}
	v := util.violation("values", "fullnameOverride", found, `unset or "redis-shared"`)
}

deny contains v if {
	found := values.get(["nameOverride"], "")
	not found in {"", "redis"}
	v := util.violation("values", "nameOverride", found, `unset or "redis" (it renames every Service)`)
}

deny contains v if {
	k8s.has_manifests
	found := {s.metadata.name | some s in k8s.objects; s.kind == "Service"}
	some name in required_services
	not name in found
	v := util.violation("manifests", "Service names", sort(found), sprintf("a Service %q", [name]))
}

deny contains v if {
	some r in tofu.planned_releases
	found := object.get(r.values, "name", null)
	found != release
	v := util.violation(sprintf("plan %s", [r.address]), "name", found, `"redis-shared"`)
}
