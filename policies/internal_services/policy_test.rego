package redis.internal_services_test

import data.lib.testing
import data.redis.internal_services as internal_services

test_good_input_passes if {
	count(internal_services.deny) == 0 with input as testing.good
}

test_master_service_of_type_loadbalancer_is_denied if {
	testing.denied(internal_services.deny, "master.service.type") with input as testing.with_values({"master": {"service": {"type": "LoadBalancer"}}})
}

test_network_policy_shutting_out_namespaces_is_denied if {
	testing.denied(internal_services.deny, "networkPolicy.allowExternal") with input as testing.with_values({"networkPolicy": {"allowExternal": false}})
}

test_extra_ingress_for_every_namespace_is_allowed if {
	overlay := {"networkPolicy": {"allowExternal": false, "extraIngress": "- from:\n    - namespaceSelector: {}\n"}}
	count(internal_services.deny) == 0 with input as testing.with_values(overlay)
}

test_rendered_policy_with_only_pod_selectors_is_denied if {
	bad := testing.patched([{"op": "replace", "path": "/manifests/5/spec/ingress", "value": [{"ports": [{"port": 6379}], "from": [{"podSelector": {"matchLabels": {"a": "b"}}}]}]}])
	testing.denied(internal_services.deny, "NetworkPolicy redis/redis-shared") with input as bad
}

test_rendered_policy_admitting_all_namespaces_passes if {
	rules := [{"ports": [{"port": "redis"}], "from": [{"namespaceSelector": {}}]}, {"from": [{"ipBlock": {"cidr": "192.168.4.0/24"}}]}]
	bad := testing.patched([{"op": "replace", "path": "/manifests/5/spec/ingress", "value": rules}])
	count(internal_services.deny) == 0 with input as bad
}

test_rendered_rule_for_every_port_and_namespace_passes if {
	bad := testing.patched([{"op": "replace", "path": "/manifests/5/spec/ingress", "value": [{"from": [{"namespaceSelector": {}}]}]}])
	count(internal_services.deny) == 0 with input as bad
}

test_cluster_service_port_kubernetes_rejects_is_denied if {
	bad := testing.patched([{"op": "replace", "path": "/manifests/0/spec/ports/0/port", "value": 0}])
	testing.denied(internal_services.deny, "Service redis/redis-shared-master: spec.ports[0].port is 0") with input as bad
}

test_evidence_names_the_cluster_services_and_the_network_policy if {
	internal_services.evidence == {
		"NetworkPolicy redis/redis-shared: ingress admits the Redis port from every namespace",
		"Service redis/redis-shared-master: type ClusterIP, ports 6379",
		"Service redis/redis-shared-replicas: type ClusterIP, ports 6379",
	} with input as testing.good
}

test_rule_without_peers_admits_every_namespace if {
	open := testing.patched([{"op": "remove", "path": "/manifests/5/spec/ingress/0/from"}])
	count(internal_services.deny) == 0 with input as open
}

test_rendered_policy_admitting_only_namespace_redis_is_denied if {
	redis_only := [{"ports": [{"port": 6379}], "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "redis"}}}]}]
	bad := testing.patched([{"op": "replace", "path": "/manifests/5/spec/ingress", "value": redis_only}])
	testing.denied(internal_services.deny, "NetworkPolicy redis/redis-shared") with input as bad
}
