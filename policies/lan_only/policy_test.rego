package redis.lan_only_test

import data.lib.testing
import data.redis.lan_only

test_good_input_passes if {
	count(lan_only.deny) == 0 with input as testing.good
}

test_wider_range_than_lan_is_denied if {
	denials := lan_only.deny with input as testing.with_values({"lanService": {"sourceRanges": ["192.168.0.0/16"]}})
	testing.denied(denials, `lanService.sourceRanges is "192.168.0.0/16"`)
}

test_open_to_the_internet_is_denied if {
	bad := testing.patched([{"op": "replace", "path": "/manifests/4/spec/loadBalancerSourceRanges", "value": ["0.0.0.0/0"]}])
	testing.denied(lan_only.deny, `spec.loadBalancerSourceRanges is "0.0.0.0/0"`) with input as bad
}

test_missing_or_empty_source_ranges_are_denied if {
	testing.denied(lan_only.deny, "lanService.sourceRanges is []") with input as testing.with_values({"lanService": {"sourceRanges": []}})
	testing.denied(lan_only.deny, "lanService.sourceRanges is not set") with input as json.remove(testing.good, ["values/lanService/sourceRanges"])
}

test_node_ports_on_a_load_balancer_are_denied if {
	bad := testing.patched([{"op": "remove", "path": "/manifests/4/spec/allocateLoadBalancerNodePorts"}])
	testing.denied(lan_only.deny, "spec.allocateLoadBalancerNodePorts is not set") with input as bad
}

test_cluster_traffic_policy_is_denied if {
	bad := testing.patched([{"op": "replace", "path": "/manifests/4/spec/externalTrafficPolicy", "value": "Cluster"}])
	testing.denied(lan_only.deny, "spec.externalTrafficPolicy") with input as bad
}

test_node_port_service_is_denied if {
	testing.denied(lan_only.deny, `master.service.type is "NodePort"`) with input as testing.with_values({"master": {"service": {"type": "NodePort"}}})
}

test_external_ips_are_denied if {
	testing.denied(lan_only.deny, "master.service.externalIPs") with input as testing.with_values({"master": {"service": {"externalIPs": ["192.168.4.9"]}}})
}

test_exposed_replicas_are_denied if {
	testing.denied(lan_only.deny, "the replicas are not exposed") with input as testing.with_values({"replica": {"service": {"type": "LoadBalancer"}}})
}

test_host_network_and_host_ports_are_denied if {
	bad := testing.patched([
		{"op": "add", "path": "/manifests/7/spec/template/spec/hostNetwork", "value": true},
		{"op": "add", "path": "/manifests/7/spec/template/spec/containers/0/ports", "value": [{"containerPort": 6379, "hostPort": 6379}]},
	])
	denials := lan_only.deny with input as bad
	testing.denied(denials, "hostNetwork")
	testing.denied(denials, "hostPort")
}

test_load_balancer_in_tofu_is_checked_too if {
	svc := {"type": "kubernetes_service_v1", "name": "lan", "instances": [{"key": null, "attributes": {}, "blocks": {
		"metadata": [{"attributes": {"name": "redis-lan"}, "blocks": {}}],
		"spec": [{"attributes": {"type": "LoadBalancer", "load_balancer_source_ranges": ["0.0.0.0/0"]}, "blocks": {}}],
	}}]}
	bad := testing.patched([{"op": "add", "path": "/tofu/resources/-", "value": svc}])
	testing.denied(lan_only.deny, `tofu kubernetes_service_v1.lan: spec.load_balancer_source_ranges is "0.0.0.0/0"`) with input as bad
}

test_load_balancer_as_tofu_manifest_is_checked_too if {
	manifest := {"kind": "Service", "metadata": {"name": "redis-lan"}, "spec": {"type": "LoadBalancer", "externalTrafficPolicy": "Local", "allocateLoadBalancerNodePorts": false}}
	res := {"type": "kubernetes_manifest", "name": "lan", "instances": [{"key": null, "attributes": {"manifest": manifest}, "blocks": {}}]}
	bad := testing.patched([{"op": "add", "path": "/tofu/resources/-", "value": res}])
	testing.denied(lan_only.deny, "tofu kubernetes_manifest.lan: spec.loadBalancerSourceRanges is not set") with input as bad
}

test_rendering_without_network_policy_is_denied if {
	bad := testing.patched([{"op": "remove", "path": "/manifests/5"}])
	testing.denied(lan_only.deny, "manifests: NetworkPolicy is not set") with input as bad
}

test_network_policy_rule_for_every_source_is_denied if {
	bad := testing.patched([{"op": "remove", "path": "/manifests/5/spec/ingress/0/from"}])
	testing.denied(lan_only.deny, `spec.ingress[0].from is "every source"`) with input as bad
}

test_network_policy_ip_block_outside_the_lan_is_denied if {
	bad := testing.patched([{"op": "replace", "path": "/manifests/5/spec/ingress/0/from/1/ipBlock/cidr", "value": "0.0.0.0/0"}])
	testing.denied(lan_only.deny, `ipBlock.cidr is "0.0.0.0/0"`) with input as bad
}

test_bare_address_as_source_range_is_denied if {
	bad := testing.patched([{"op": "replace", "path": "/manifests/4/spec/loadBalancerSourceRanges", "value": ["192.168.4.10"]}])
	testing.denied(lan_only.deny, `spec.loadBalancerSourceRanges is "192.168.4.10"`) with input as bad
}

test_evidence_names_every_rendered_service_and_the_network_policy if {
	found := lan_only.evidence with input as testing.good
	"NetworkPolicy redis/redis-shared: ingress from the cluster and 192.168.4.0/24 only" in found
	"Service redis/redis-shared-lan: type LoadBalancer, address 192.168.4.201, no NodePorts, sources 192.168.4.0/24, ports 6379" in found
	count(found) == 6
}

test_open_rule_for_another_port_is_not_this_rules_business if {
	metrics_open := testing.patched([{"op": "add", "path": "/manifests/5/spec/ingress/-", "value": {"ports": [{"port": 9121}]}}])
	count(lan_only.deny) == 0 with input as metrics_open
	all_ports_open := testing.patched([{"op": "add", "path": "/manifests/5/spec/ingress/-", "value": {}}])
	testing.denied(lan_only.deny, `spec.ingress[1].from is "every source"`) with input as all_ports_open
}
