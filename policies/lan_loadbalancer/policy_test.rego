package redis.lan_loadbalancer_test

import data.lib.testing
import data.redis.lan_loadbalancer as lan

test_good_input_passes if {
	count(lan.deny) == 0 with input as testing.good
}

test_no_load_balancer_anywhere_is_denied if {
	bad := object.union(testing.with_values({"lanService": {"enabled": false}}), {"manifests": [testing.good.manifests[7]]})
	testing.denied(lan.deny, "a LoadBalancer Service for the LAN") with input as bad
}

test_lan_service_without_template_is_denied if {
	testing.denied(lan.deny, "extraDeploy is not set") with input as testing.with_values({"extraDeploy": []})
}

test_template_without_metallb_annotation_is_denied if {
	overlay := {"extraDeploy": [{"kind": "Service", "spec": {"type": "LoadBalancer"}}]}
	testing.denied(lan.deny, "metallb.io/loadBalancerIPs") with input as testing.with_values(overlay)
}

test_address_outside_the_pool_is_denied if {
	testing.denied(lan.deny, `lanService.loadBalancerIP is "192.168.4.250"`) with input as testing.with_values({"lanService": {"loadBalancerIP": "192.168.4.250"}})
}

test_load_balancer_without_address_is_denied if {
	bad := testing.patched([{"op": "remove", "path": "/manifests/4/metadata/annotations"}])
	testing.denied(lan.deny, "Service redis/redis-shared-lan: spec.loadBalancerIP is not set") with input as bad
}

test_conflicting_addresses_are_denied if {
	bad := testing.patched([{"op": "add", "path": "/manifests/4/spec/loadBalancerIP", "value": "192.168.4.202"}])
	testing.denied(lan.deny, "the same address as spec.loadBalancerIP") with input as bad
}

test_load_balancer_kept_in_tofu_is_found if {
	svc := {"type": "kubernetes_service_v1", "name": "lan", "instances": [{"key": null, "attributes": {}, "blocks": {
		"metadata": [{"attributes": {"name": "redis-lan", "annotations": {"metallb.io/loadBalancerIPs": "192.168.4.203"}}, "blocks": {}}],
		"spec": [{"attributes": {"type": "LoadBalancer"}, "blocks": {}}],
	}}]}
	without_values_lan := object.union(testing.with_values({"lanService": {"enabled": false}}), {"manifests": [testing.good.manifests[7]]})
	moved := json.patch(json.remove(without_values_lan, ["manifests"]), [{"op": "add", "path": "/tofu/resources/-", "value": svc}])
	count(lan.deny) == 0 with input as moved
	outside := json.patch(moved, [{"op": "replace", "path": "/tofu/resources/5/instances/0/blocks/metadata/0/attributes/annotations/metallb.io~1loadBalancerIPs", "value": "10.0.0.1"}])
	testing.denied(lan.deny, `tofu kubernetes_service_v1.lan: metadata.annotations[metallb.io/loadBalancerIPs] is "10.0.0.1"`) with input as outside
}

test_rendering_without_the_lan_service_is_denied if {
	bad := testing.patched([{"op": "remove", "path": "/manifests/4"}])
	testing.denied(lan.deny, "the LAN Service (lanService rendered through extraDeploy)") with input as bad
}

test_lan_service_switched_off_is_denied_by_the_rendering if {
	bad := json.patch(testing.with_values({"lanService": {"enabled": false}}), [{"op": "remove", "path": "/manifests/4"}])
	testing.denied(lan.deny, "manifests: Service type LoadBalancer is not set") with input as bad
}

test_load_balancer_port_kubernetes_rejects_is_denied if {
	every port in [0, 70000, -1] {
		bad := testing.patched([{"op": "replace", "path": "/manifests/4/spec/ports/0/port", "value": port}])
		testing.denied(lan.deny, sprintf("Service redis/redis-shared-lan: spec.ports[0].port is %v", [port])) with input as bad
	}
}

test_evidence_names_the_rendered_load_balancer if {
	lan.evidence == {"Service redis/redis-shared-lan: type LoadBalancer, address 192.168.4.201, no NodePorts, sources 192.168.4.0/24, ports 6379"} with input as testing.good
}
