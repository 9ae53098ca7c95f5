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
#   inputs: [values]
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
