package redis.cross_namespace_dns_test

import data.lib.testing
import data.redis.cross_namespace_dns as dns

test_good_input_passes if {
	count(dns.deny) == 0 with input as testing.good
}

test_other_cluster_domain_is_denied if {
	testing.denied(dns.deny, "clusterDomain") with input as testing.with_values({"clusterDomain": "home.arpa"})
}

test_headless_master_service_is_denied if {
	testing.denied(dns.deny, "master.service.clusterIP") with input as testing.with_values({"master": {"service": {"clusterIP": "None"}}})
}

test_master_service_outside_redis_is_denied if {
	bad := testing.patched([{"op": "replace", "path": "/manifests/0/metadata/namespace", "value": "default"}])
	testing.denied(dns.deny, "Service redis/redis-shared-master") with input as bad
}

test_network_policy_admitting_only_namespace_redis_shuts_out_beersystem if {
	redis_only := [{"ports": [{"port": 6379}], "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "redis"}}}]}]
	bad := testing.patched([{"op": "replace", "path": "/manifests/5/spec/ingress", "value": redis_only}])
	testing.denied(dns.deny, "NetworkPolicy redis/redis-shared") with input as bad
}

test_network_policy_admitting_only_labelled_clients_shuts_out_beersystem if {
	labelled := [{"ports": [{"port": 6379}], "from": [{"podSelector": {"matchLabels": {"redis-shared-client": "true"}}}]}]
	bad := testing.patched([{"op": "replace", "path": "/manifests/5/spec/ingress", "value": labelled}])
	testing.denied(dns.deny, "NetworkPolicy redis/redis-shared") with input as bad
}

test_network_policy_naming_beersystem_admits_it if {
	named := [{"ports": [{"port": "redis"}], "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "beersystem"}}}]}]
	ok := testing.patched([{"op": "replace", "path": "/manifests/5/spec/ingress", "value": named}])
	count(dns.deny) == 0 with input as ok
}

test_beersystem_admitted_only_on_the_metrics_port_is_denied if {
	metrics_only := [{"ports": [{"port": 9121}], "from": [{"namespaceSelector": {}}]}]
	bad := testing.patched([{"op": "replace", "path": "/manifests/5/spec/ingress", "value": metrics_only}])
	testing.denied(dns.deny, "NetworkPolicy redis/redis-shared") with input as bad
}
