# METADATA
# title: Reachable from the LAN only
# description: >-
#   Every LoadBalancer Service of Redis admits only source ranges inside the LAN CIDR of
#   the catalog (FR-005 lan_cidr), allocates no NodePorts (NodePorts bypass the source
#   ranges) and keeps client addresses (externalTrafficPolicy Local); no Service is a
#   NodePort or has externalIPs, the replicas are not exposed, and no pod uses host
#   networking or host ports.
# custom:
#   requirements: [FR-005, SC-004]
#   severity: critical
#   inputs: [values, manifests]
package redis.lan_only

import data.lib.k8s
import data.lib.net
import data.lib.util

lan_text := sprintf("a non-empty list of ranges inside %s", [net.lan_cidr])

deny contains v if {
	some s in k8s.load_balancers
	not is_array(s.source_ranges)
	v := util.violation(s.object, s.fields.source_ranges, s.source_ranges, lan_text)
}

deny contains v if {
	some s in k8s.load_balancers
	s.source_ranges == []
	v := util.violation(s.object, s.fields.source_ranges, s.source_ranges, lan_text)
}

deny contains v if {
	some s in k8s.load_balancers
	is_array(s.source_ranges)
	some r in s.source_ranges
	not net.within_lan(r)
	v := util.violation(s.object, s.fields.source_ranges, r, lan_text)
}

deny contains v if {
	some s in k8s.load_balancers
	s.allocate_node_ports != false
	v := util.violation(s.object, s.fields.allocate_node_ports, s.allocate_node_ports, "false (NodePorts bypass loadBalancerSourceRanges)")
}

deny contains v if {
	some s in k8s.load_balancers
	s.external_traffic_policy != "Local"
	v := util.violation(s.object, s.fields.external_traffic_policy, s.external_traffic_policy, `"Local" (keep the client address the source ranges check)`)
}

deny contains v if {
	some s in k8s.services
	s.type == "NodePort"
	v := util.violation(s.object, s.fields.type, s.type, "not NodePort")
}

deny contains v if {
	some s in k8s.services
	s.external_ips != []
	v := util.violation(s.object, s.fields.external_ips, s.external_ips, "no externalIPs")
}

deny contains v if {
	some s in k8s.services
	is_string(s.name)
	endswith(s.name, "-replicas")
	s.type != "ClusterIP"
	v := util.violation(s.object, s.fields.type, s.type, `"ClusterIP" (the replicas are not exposed)`)
}

deny contains v if {
	some o in k8s.workloads
	object.get(k8s.pod_spec(o), "hostNetwork", false) == true
	v := util.violation(k8s.id(o), "hostNetwork", true, "false")
}

deny contains v if {
	some [o, c, _] in k8s.containers
	some p in object.get(c, "ports", [])
	p.hostPort
	v := util.violation(k8s.id(o), sprintf("container %s hostPort", [c.name]), p.hostPort, "no host ports")
}

# The pods are reachable at their own addresses too: without a rendered NetworkPolicy
# nothing limits who connects to them (the source ranges guard only the LoadBalancer).
deny contains v if {
	k8s.has_manifests
	count(network_policies) == 0
	v := util.violation("manifests", "NetworkPolicy", null, "the chart's NetworkPolicy (networkPolicy.enabled true) admitting only the cluster and the LAN")
}

network_policies := [np | some np in k8s.objects; np.kind == "NetworkPolicy"]

# An ingress rule to the Redis port without peers admits every source
# (networkPolicy.allowExternal true renders one); an ipBlock must lie inside the LAN.
# The exporter's port is FR-008's business, not this rule's.
deny contains v if {
	some np in network_policies
	some i, rule in object.get(np, ["spec", "ingress"], [])
	redis_port_rule(rule)
	count(object.get(rule, "from", [])) == 0
	v := util.violation(k8s.id(np), sprintf("spec.ingress[%d].from", [i]), "every source", lan_text)
}

deny contains v if {
	some np in network_policies
	some i, rule in object.get(np, ["spec", "ingress"], [])
	redis_port_rule(rule)
	some peer in object.get(rule, "from", [])
	block := object.get(peer, "ipBlock", null)
	block != null
	not net.within_lan(object.get(block, "cidr", null))
	v := util.violation(k8s.id(np), sprintf("spec.ingress[%d].from[].ipBlock.cidr", [i]), object.get(block, "cidr", null), lan_text)
}

# redis_port_rule holds for an ingress rule that covers the Redis port (a rule without
# ports covers every port).
redis_port_rule(rule) if count(object.get(rule, "ports", [])) == 0

redis_port_rule(rule) if {
	some p in rule.ports
	p.port in {6379, "redis", "tcp-redis"}
}

evidence contains sprintf("%s: ingress from the cluster and %s only", [k8s.id(np), concat(",", sort(ip_blocks(np)))]) if {
	some np in network_policies
}

ip_blocks(np) := {peer.ipBlock.cidr |
	some rule in object.get(np, ["spec", "ingress"], [])
	some peer in object.get(rule, "from", [])
	peer.ipBlock.cidr
}

# Every rendered Service is judged, whatever template made it (extraDeploy included).
evidence contains k8s.service_text(o) if some o in k8s.services_rendered
