package redis.prometheus_integration_test

import data.lib.testing
import data.redis.prometheus_integration as integration

test_good_input_passes if {
	count(integration.deny) == 0 with input as testing.good
}

test_no_service_monitor_is_denied if {
	testing.denied(integration.deny, "metrics.serviceMonitor.enabled") with input as testing.with_values({"metrics": {"serviceMonitor": {"enabled": false}}})
}

test_no_prometheus_rule_is_denied if {
	testing.denied(integration.deny, "metrics.prometheusRule.enabled") with input as testing.with_values({"metrics": {"prometheusRule": {"enabled": false}}})
}

test_missing_replication_alert_is_denied if {
	overlay := {"metrics": {"prometheusRule": {"rules": [{"alert": "Down", "expr": "redis_up == 0"}]}}}
	testing.denied(integration.deny, "an alert for replication broken") with input as testing.with_values(overlay)
}

test_misfiring_rdb_alert_is_denied if {
	rules := array.concat(testing.good.values.metrics.prometheusRule.rules, [{"alert": "RdbOld", "expr": "time() - redis_rdb_last_save_timestamp_seconds > 3600"}])
	testing.denied(integration.deny, "rules[RdbOld].expr") with input as testing.with_values({"metrics": {"prometheusRule": {"rules": rules}}})
}

test_unrendered_monitoring_objects_are_denied if {
	bad := testing.patched([{"op": "remove", "path": "/manifests/10"}, {"op": "remove", "path": "/manifests/9"}])
	testing.denied(integration.deny, "a rendered ServiceMonitor") with input as bad
}

test_missing_dashboard_is_denied if {
	bad := testing.patched([{"op": "remove", "path": "/tofu/resources/4"}])
	testing.denied(integration.deny, "a Grafana dashboard ConfigMap") with input as bad
}
