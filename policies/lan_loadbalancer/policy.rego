# METADATA
# title: LAN LoadBalancer with an address from the MetalLB pool
# description: >-
#   Some LoadBalancer Service (values lanService rendered by extraDeploy, a rendered
#   manifest, or tofu) exposes Redis, and every address it asks MetalLB for lies in the
#   pool bounds of the catalog (FR-004 pool_first..pool_last).
# custom:
#   requirements: [FR-004]
#   severity: high
#   inputs: [values]
package redis.lan_loadbalancer

import data.lib.k8s
import data.lib.net
import data.lib.util

deny contains v if {
	count(k8s.load_balancers) == 0
	v := util.violation("values", "lanService.enabled", null, "a LoadBalancer Service for the LAN (lanService, manifests or tofu)")
}

deny contains v if {
	k8s.lan_enabled
	count(k8s.lan_templates) == 0
	v := util.violation("values", "extraDeploy", null, "a LoadBalancer Service template that renders lanService")
}

deny contains v if {
	k8s.lan_enabled
	count(k8s.lan_templates) > 0
	not regex.match(`metallb\.io/loadBalancerIPs:`, k8s.lan_template)
	v := util.violation("values", "extraDeploy (LoadBalancer template) annotations", null, "metallb.io/loadBalancerIPs from lanService.loadBalancerIP")
}

deny contains v if {
	k8s.has_manifests
	k8s.lan_enabled
	count([s | some s in k8s.manifest_services; s.type == "LoadBalancer"]) == 0
	v := util.violation("manifests", "Service type LoadBalancer", null, "the LAN Service that lanService enables, rendered")
}

# addresses are [service, field, address] for every address a LoadBalancer asks for.
addresses contains [s, s.fields.ip, s.ip] if {
	some s in k8s.load_balancers
	s.ip != null
}

addresses contains [s, s.fields.annotation_ips, trim_space(ip)] if {
	some s in k8s.load_balancers
	is_string(s.annotation_ips)
	some ip in split(s.annotation_ips, ",")
}

deny contains v if {
	some s in k8s.load_balancers
	count([a | some a in addresses; a[0] == s]) == 0
	v := util.violation(s.object, s.fields.ip, null, net.pool_text)
}

deny contains v if {
	some [s, field, ip] in addresses
	not net.in_pool(ip)
	v := util.violation(s.object, field, ip, net.pool_text)
}

deny contains v if {
	some s in k8s.load_balancers
	is_string(s.ip)
	is_string(s.annotation_ips)
	s.ip != s.annotation_ips
	v := util.violation(s.object, s.fields.annotation_ips, s.annotation_ips, sprintf("the same address as %s (%s)", [s.fields.ip, s.ip]))
}
