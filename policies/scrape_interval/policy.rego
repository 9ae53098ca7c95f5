# METADATA
# title: Metrics no older than the SC-005 bound
# description: >-
#   Prometheus scrapes at least every metric_age seconds (catalog threshold of SC-005),
#   the scrape timeout fits in the interval, the Grafana dashboard refreshes as often, and
#   an instance-down alert (expr on redis_up) can fire within the alert_fire_within bound:
#   one scrape interval plus its `for` duration.
# custom:
#   requirements: [SC-005]
#   severity: high
#   inputs: [values, manifests]
package redis.scrape_interval

import data.lib.k8s
import data.lib.tofu
import data.lib.util
import data.lib.values

limit := util.threshold("SC-005")

limit_text := sprintf("a duration of at most %vs (SC-005 metric_age)", [limit])

within(d) if util.duration_seconds(d) <= limit

deny contains v if {
	found := values.get(["metrics", "serviceMonitor", "interval"], "30s")
	not within(found)
	v := util.violation("values", "metrics.serviceMonitor.interval", found, limit_text)
}

deny contains v if {
	interval := values.get(["metrics", "serviceMonitor", "interval"], "30s")
	found := values.get(["metrics", "serviceMonitor", "scrapeTimeout"], "")
	found != ""
	not util.duration_seconds(found) <= util.duration_seconds(interval)
	v := util.violation("values", "metrics.serviceMonitor.scrapeTimeout", found, sprintf("at most the interval %s", [interval]))
}

deny contains v if {
	some o in k8s.objects
	o.kind in {"ServiceMonitor", "PodMonitor"}
	some field in ["endpoints", "podMetricsEndpoints"]
	some e in object.get(o, ["spec", field], [])
	found := object.get(e, "interval", null)
	not within(found)
	v := util.violation(k8s.id(o), sprintf("spec.%s[].interval", [field]), found, limit_text)
}

# Dashboards whose JSON tofu can read statically must refresh within the bound too.
deny contains v if {
	some c in tofu.instances({"kubernetes_config_map", "kubernetes_config_map_v1"})
	object.get(tofu.attr(tofu.block(c, "metadata"), "labels", {}), "grafana_dashboard", null) != null
	some file, text in tofu.attr(c, "data", {})
	is_string(text)
	json.is_valid(text)
	found := object.get(json.unmarshal(text), "refresh", null)
	not within(found)
	v := util.violation(sprintf("tofu %s", [c.address]), sprintf("data[%s].refresh", [file]), found, limit_text)
}

alert_bound := util.bound("SC-005", "alert_fire_within")

deny contains v if {
	interval := values.get(["metrics", "serviceMonitor", "interval"], "30s")
	some r in values.get(["metrics", "prometheusRule", "rules"], [])
	contains(sprintf("%v", [object.get(r, "expr", "")]), "redis_up")
	wait := object.get(r, "for", "0s")
	not util.duration_seconds(interval) + util.duration_seconds(wait) <= alert_bound
	v := util.violation("values", sprintf("metrics.prometheusRule.rules[%s].for", [object.get(r, "alert", "?")]), wait, sprintf("a duration that, with the %s scrape interval, fires within %vs (SC-005 alert_fire_within)", [interval, alert_bound]))
}
