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
