package lib.k8s_test

import data.lib.k8s

test_no_manifests_means_no_objects if {
	k8s.objects == [] with input as {"values": {}}
	not k8s.has_manifests with input as {"values": {}}
}

test_pod_specs_of_every_workload_kind if {
	k8s.pod_spec({"kind": "Pod", "spec": {"a": 1}}) == {"a": 1}
	k8s.pod_spec({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {"b": 2}}}}}}) == {"b": 2}
	k8s.pod_spec({"kind": "Deployment", "spec": {"template": {"spec": {"c": 3}}}}) == {"c": 3}
}

test_object_ids_name_kind_namespace_and_name if {
	k8s.id({"kind": "Service", "metadata": {"name": "x", "namespace": "redis"}}) == "Service redis/x"
	k8s.id({"kind": "Namespace", "metadata": {"name": "redis"}}) == "Namespace -/redis"
}

test_lan_template_may_be_an_object if {
	k8s.template_text({"spec": {"type": "LoadBalancer"}}) == "spec:\n  type: LoadBalancer\n"
}

test_lan_enabled_reads_strings_and_numbers_like_the_template if {
	k8s.lan_enabled with input as {"values": {"lanService": {"enabled": "false"}}}
	k8s.lan_enabled with input as {"values": {"lanService": {"enabled": 1}}}
	not k8s.lan_enabled with input as {"values": {"lanService": {"enabled": false}}}
	not k8s.lan_enabled with input as {"values": {}}
}

test_service_text_names_type_address_node_ports_and_sources if {
	lan := {"kind": "Service", "metadata": {"name": "lan", "namespace": "redis", "annotations": {"metallb.io/loadBalancerIPs": "192.168.4.200"}}, "spec": {"type": "LoadBalancer", "allocateLoadBalancerNodePorts": false, "loadBalancerSourceRanges": ["192.168.4.0/24"], "ports": [{"port": 6379}]}}
	k8s.service_text(lan) == "Service redis/lan: type LoadBalancer, address 192.168.4.200, no NodePorts, sources 192.168.4.0/24, ports 6379"
	open := {"kind": "Service", "metadata": {"name": "m", "namespace": "redis"}, "spec": {"type": "LoadBalancer", "ports": [{"port": 6379}]}}
	k8s.service_text(open) == "Service redis/m: type LoadBalancer, with NodePorts, no source ranges, ports 6379"
	plain := {"kind": "Service", "metadata": {"name": "c", "namespace": "redis"}, "spec": {"ports": [{"port": 6379}]}}
	k8s.service_text(plain) == "Service redis/c: type ClusterIP, ports 6379"
}

test_invalid_ports_are_found if {
	svc := {"kind": "Service", "metadata": {"name": "s", "namespace": "redis"}, "spec": {"ports": [
		{"port": 0, "targetPort": "redis"},
		{"port": 6379, "nodePort": 70000, "targetPort": -1},
		{"port": 6379, "nodePort": null, "targetPort": "Not_A_Name"},
		{"port": 6379, "nodePort": 30000, "targetPort": 6379},
	]}}
	found := k8s.invalid_ports with input as {"manifests": [svc]}
	found == {
		["Service redis/s", "spec.ports[0].port", 0],
		["Service redis/s", "spec.ports[1].nodePort", 70000],
		["Service redis/s", "spec.ports[1].targetPort", -1],
		["Service redis/s", "spec.ports[2].targetPort", "Not_A_Name"],
	}
}

test_rendered_config_joins_common_and_role_lines if {
	cm := {"kind": "ConfigMap", "metadata": {"name": "x-configuration", "namespace": "redis"}, "data": {"redis.conf": "appendonly yes\nsave \"\"", "master.conf": "appendonly no"}}
	k8s.rendered_setting("master", "appendonly", "?") == "no" with input as {"manifests": [cm]}
	k8s.rendered_setting("replica", "appendonly", "?") == "yes" with input as {"manifests": [cm]}
	k8s.rendered_setting("replica", "appendfsync", "everysec") == "everysec" with input as {"manifests": [cm]}
	k8s.configuration_object == "ConfigMap redis/x-configuration" with input as {"manifests": [cm]}
}

test_network_policies_are_those_restricting_ingress if {
	ingress := {"kind": "NetworkPolicy", "metadata": {"name": "i"}, "spec": {"policyTypes": ["Ingress", "Egress"]}}
	untyped := {"kind": "NetworkPolicy", "metadata": {"name": "u"}, "spec": {}}
	egress := {"kind": "NetworkPolicy", "metadata": {"name": "e"}, "spec": {"policyTypes": ["Egress"]}}
	k8s.network_policies == [ingress, untyped] with input as {"manifests": [ingress, untyped, egress]}
}

test_ingress_rule_reaches_redis_by_number_name_or_every_port if {
	k8s.ingress_reaches_redis({"ports": [{"port": 6379}]})
	k8s.ingress_reaches_redis({"ports": [{"port": "redis"}]})
	k8s.ingress_reaches_redis({"from": []})
	not k8s.ingress_reaches_redis({"ports": [{"port": 9121}]})
}

test_ingress_rule_admits_a_namespace_by_name_or_every_namespace if {
	k8s.ingress_admits_namespace({}, "beersystem")
	k8s.ingress_admits_namespace({"from": [{"namespaceSelector": {}}]}, "beersystem")
	named := {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "beersystem"}}}
	k8s.ingress_admits_namespace({"from": [named]}, "beersystem")
	not k8s.ingress_admits_namespace({"from": [named]}, "conformance-probe")
}

test_labelled_pods_of_a_namespace_are_not_the_namespace if {
	labelled := {"namespaceSelector": {}, "podSelector": {"matchLabels": {"redis-shared-client": "true"}}}
	not k8s.ingress_admits_namespace({"from": [labelled]}, "beersystem")
	redis_only := {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "redis"}}}
	not k8s.ingress_admits_namespace({"from": [redis_only]}, "beersystem")
	not k8s.ingress_admits_namespace({"from": [{"ipBlock": {"cidr": "192.168.4.0/24"}}]}, "beersystem")
}
