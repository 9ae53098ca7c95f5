# METADATA
# title: Dedicated "redis" namespace
# description: >-
#   tofu creates the namespace "redis" and installs the release into it (and so does the
#   plan, when given); the values do not move the chart elsewhere and no rendered object
#   lives in another namespace.
# custom:
#   requirements: [FR-001]
#   severity: high
#   inputs: [values, manifests, tofu]
package redis.namespace

import data.lib.k8s
import data.lib.tofu
import data.lib.util
import data.lib.values

required := "redis"

namespaces := [tofu.attr(tofu.block(n, "metadata"), "name", null) | some n in tofu.instances({"kubernetes_namespace", "kubernetes_namespace_v1"})]

deny contains v if {
	not required in namespaces
	v := util.violation("tofu", "kubernetes_namespace_v1.metadata.name", namespaces, `a namespace "redis"`)
}

deny contains v if {
	some release in tofu.instances({"helm_release"})
	found := tofu.attr(release, "namespace", null)
	found != required
	v := util.violation(sprintf("tofu %s", [release.address]), "namespace", found, `"redis"`)
}

deny contains v if {
	found := values.get(["namespaceOverride"], "")
	not found in {"", required}
	v := util.violation("values", "namespaceOverride", found, `unset or "redis"`)
}

# Monitoring objects may live in Prometheus's namespace.
monitoring_kinds := {"ServiceMonitor", "PodMonitor", "PrometheusRule"}

deny contains v if {
	some o in k8s.objects
	not o.kind in monitoring_kinds
	found := object.get(o, ["metadata", "namespace"], required)
	found != required
	v := util.violation(k8s.id(o), "metadata.namespace", found, `"redis"`)
}

deny contains v if {
	some r in tofu.planned_releases
	found := object.get(r.values, "namespace", null)
	found != required
	v := util.violation(sprintf("plan %s", [r.address]), "namespace", found, `"redis"`)
}
