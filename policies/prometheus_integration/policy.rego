# METADATA
# title: Prometheus scrapes and alerts, Grafana shows the dashboard
# description: >-
#   A ServiceMonitor (or PodMonitor) and a PrometheusRule with alerts for an instance
#   down and for broken replication, none of the alerts that misfire on this chart (RDB
#   age while RDB is off, system memory without include-system-metrics), and a Grafana
#   dashboard ConfigMap from tofu.
# custom:
#   requirements: [FR-009]
#   severity: medium
#   inputs: [values, manifests, tofu]
package redis.prometheus_integration

import data.lib.k8s
import data.lib.tofu
import data.lib.util
import data.lib.values

deny contains v if {
	values.get(["metrics", "serviceMonitor", "enabled"], false) != true
	values.get(["metrics", "podMonitor", "enabled"], false) != true
	v := util.violation("values", "metrics.serviceMonitor.enabled", values.get(["metrics", "serviceMonitor", "enabled"], false), "true (or metrics.podMonitor.enabled)")
}

deny contains v if {
	found := values.get(["metrics", "prometheusRule", "enabled"], false)
	found != true
	v := util.violation("values", "metrics.prometheusRule.enabled", found, "true")
}

rules := values.get(["metrics", "prometheusRule", "rules"], [])

# required alerts: a metric any of whose names must appear in some alert expression.
required_alerts := {
	"instance down": ["redis_up"],
	"replication broken": ["redis_master_link_up", "redis_connected_slaves"],
}

deny contains v if {
	some what, metrics in required_alerts
	not alert_on(metrics)
	v := util.violation("values", "metrics.prometheusRule.rules", [r.alert | some r in rules], sprintf("an alert for %s (expr using %s)", [what, concat(" or ", metrics)]))
}

alert_on(metrics) if {
	some r in rules
	some m in metrics
	contains(sprintf("%v", [object.get(r, "expr", "")]), m)
}

misfiring := ["redis_rdb_", "redis_total_system_memory_bytes"]

deny contains v if {
	some r in rules
	some m in misfiring
	contains(sprintf("%v", [object.get(r, "expr", "")]), m)
	v := util.violation("values", sprintf("metrics.prometheusRule.rules[%s].expr", [object.get(r, "alert", "?")]), m, "no alert on a metric that misfires on this chart")
}

deny contains v if {
	k8s.has_manifests
	some kind in ["ServiceMonitor", "PrometheusRule"]
	count([o | some o in k8s.objects; o.kind == kind]) == 0
	v := util.violation("manifests", kind, null, sprintf("a rendered %s", [kind]))
}

dashboards := [c |
	some c in tofu.instances({"kubernetes_config_map", "kubernetes_config_map_v1"})
	object.get(tofu.attr(tofu.block(c, "metadata"), "labels", {}), "grafana_dashboard", null) != null
]

deny contains v if {
	count(dashboards) == 0
	v := util.violation("tofu", "kubernetes_config_map_v1.metadata.labels.grafana_dashboard", null, "a Grafana dashboard ConfigMap")
}
