# METADATA
# title: LAN LoadBalancer with an address from the MetalLB pool
# description: >-
#   Some LoadBalancer Service (values lanService rendered by extraDeploy, a rendered
#   manifest, or tofu) exposes Redis, and every address it asks MetalLB for lies in the
#   pool bounds of the catalog (FR-004 pool_first..pool_last).
# custom:
#   requirements: [FR-004]
#   severity: high
#   inputs: [values, manifests]
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

# What Helm renders decides: with no LoadBalancer in the rendering there is no LAN
# entry point, whatever the values say (lanService.enabled false, a template that
# renders nothing).
deny contains v if {
	k8s.has_manifests
	count(rendered_load_balancers) == 0
	v := util.violation("manifests", "Service type LoadBalancer", null, "the LAN Service (lanService rendered through extraDeploy)")
}

rendered_load_balancers := [o | some o in k8s.services_rendered; o.spec.type == "LoadBalancer"]

# A LoadBalancer Kubernetes would reject (port 0, 70000, -1) is no entry point.
deny contains v if {
	some [object_id, field, found] in k8s.invalid_ports
	some o in rendered_load_balancers
	k8s.id(o) == object_id
	v := util.violation(object_id, field, found, "a port Kubernetes accepts (1-65535, or a port name for targetPort)")
}

evidence contains k8s.service_text(o) if some o in rendered_load_balancers

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
