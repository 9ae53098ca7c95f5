package redis.probes_test

import data.lib.testing
import data.redis.probes

test_good_input_passes if {
	count(probes.deny) == 0 with input as testing.good
}

test_disabled_readiness_probe_is_denied if {
	testing.denied(probes.deny, "master.readinessProbe.enabled") with input as testing.with_values({"master": {"readinessProbe": {"enabled": false}}})
}

test_slow_liveness_detection_is_denied if {
	overlay := {"replica": {"livenessProbe": {"periodSeconds": 30, "failureThreshold": 5}}}
	testing.denied(probes.deny, "replica.livenessProbe.periodSeconds x failureThreshold is 150") with input as testing.with_values(overlay)
}

test_rendered_container_without_probe_is_denied if {
	bad := testing.patched([{"op": "remove", "path": "/manifests/7/spec/template/spec/containers/0/livenessProbe"}])
	testing.denied(probes.deny, "container redis livenessProbe") with input as bad
}

test_restart_policy_never_is_denied if {
	bad := testing.patched([{"op": "add", "path": "/manifests/7/spec/template/spec/restartPolicy", "value": "Never"}])
	testing.denied(probes.deny, "restartPolicy") with input as bad
}
