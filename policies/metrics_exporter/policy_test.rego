package redis.metrics_exporter_test

import data.lib.testing
import data.redis.metrics_exporter

test_good_input_passes if {
	count(metrics_exporter.deny) == 0 with input as testing.good
}

test_metrics_off_is_denied if {
	testing.denied(metrics_exporter.deny, "metrics.enabled is false") with input as testing.with_values({"metrics": {"enabled": false}})
}

test_instance_without_exporter_is_denied if {
	bad := testing.patched([{"op": "remove", "path": "/manifests/8/spec/template/spec/containers/1"}])
	testing.denied(metrics_exporter.deny, `a "metrics" exporter container`) with input as bad
}

test_missing_metrics_service_is_denied if {
	bad := testing.patched([{"op": "remove", "path": "/manifests/3"}])
	testing.denied(metrics_exporter.deny, "Service redis-shared-metrics") with input as bad
}
