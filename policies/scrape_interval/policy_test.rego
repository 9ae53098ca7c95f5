package redis.scrape_interval_test

import data.lib.testing
import data.redis.scrape_interval

test_good_input_passes if {
	count(scrape_interval.deny) == 0 with input as testing.good
}

test_chart_default_interval_is_denied if {
	bad := json.remove(testing.good, ["values/metrics/serviceMonitor/interval"])
	testing.denied(scrape_interval.deny, `metrics.serviceMonitor.interval is "30s"`) with input as bad
}

test_bound_comes_from_the_catalog if {
	catalog := {"requirements": {"SC-005": {"threshold": {"value": 5}}}}
	testing.denied(scrape_interval.deny, "at most 5s") with input as testing.good with data.catalog as catalog
}

test_timeout_longer_than_interval_is_denied if {
	testing.denied(scrape_interval.deny, "scrapeTimeout") with input as testing.with_values({"metrics": {"serviceMonitor": {"scrapeTimeout": "20s"}}})
}

test_rendered_monitor_interval_is_checked if {
	bad := testing.patched([{"op": "replace", "path": "/manifests/9/spec/endpoints/0/interval", "value": "1m"}])
	testing.denied(scrape_interval.deny, "spec.endpoints[].interval") with input as bad
}

test_slow_dashboard_refresh_is_denied if {
	bad := testing.patched([{"op": "replace", "path": "/tofu/resources/4/instances/0/attributes/data/redis-shared.json", "value": "{\"refresh\": \"1m\"}"}])
	testing.denied(scrape_interval.deny, "data[redis-shared.json].refresh") with input as bad
}

test_slow_instance_down_alert_is_denied if {
	rules := [{"alert": "RedisInstanceDown", "expr": "redis_up == 0", "for": "5m"}]
	testing.denied(scrape_interval.deny, "rules[RedisInstanceDown].for") with input as testing.with_values({"metrics": {"prometheusRule": {"rules": rules}}})
}
