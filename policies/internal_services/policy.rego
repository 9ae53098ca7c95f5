# METADATA
# title: Cluster-internal Services reachable from every namespace
# description: >-
#   The master and replicas Services are ClusterIP, and the NetworkPolicy admits the
#   Redis port from pods of all namespaces (allowExternal, or an ingress rule with an
#   empty namespaceSelector).
# custom:
#   requirements: [FR-003]
#   severity: high
#   inputs: [values, manifests]
package redis.internal_services

import data.lib.k8s
import data.lib.util
import data.lib.values

cluster_services := {"redis-shared-master", "redis-shared-replicas"}

deny contains v if {
	some s in k8s.services
	s.name in cluster_services
	s.type != "ClusterIP"
	v := util.violation(s.object, s.fields.type, s.type, `"ClusterIP"`)
}

# Values: an enabled NetworkPolicy must not shut out other namespaces.
deny contains v if {
	values.get(["networkPolicy", "enabled"], true) == true
	values.get(["networkPolicy", "allowExternal"], true) != true
	not all_namespaces_rule_in_values
	v := util.violation("values", "networkPolicy.allowExternal/extraIngress", values.get(["networkPolicy", "allowExternal"], true), "allowExternal true, or an extraIngress rule with namespaceSelector: {}")
}

all_namespaces_rule_in_values if {
	extra := values.get(["networkPolicy", "extraIngress"], [])
	regex.match(`namespaceSelector:\s*\{\s*\}`, k8s.template_text(extra))
}

# Manifests: every NetworkPolicy with ingress rules has one that admits all namespaces
# on the Redis port.
deny contains v if {
	some np in k8s.network_policies
	not admits_all_namespaces(np)
	v := util.violation(k8s.id(np), "spec.ingress", object.get(np, ["spec", "ingress"], []), "a rule admitting the Redis port from every namespace")
}

admits_all_namespaces(np) if {
	some rule in object.get(np, ["spec", "ingress"], [])
	k8s.ingress_reaches_redis(rule)
	all_namespaces_peer(rule)
}

all_namespaces_peer(rule) if count(object.get(rule, "from", [])) == 0

all_namespaces_peer(rule) if {
	some peer in rule.from
	peer.namespaceSelector == {}
	object.get(peer, "podSelector", {}) == {}
}

# A cluster Service Kubernetes would reject is not reachable at all.
deny contains v if {
	some [object_id, field, found] in k8s.invalid_ports
	some o in k8s.services_rendered
	k8s.id(o) == object_id
	object.get(o, ["spec", "type"], "ClusterIP") != "LoadBalancer"
	v := util.violation(object_id, field, found, "a port Kubernetes accepts (1-65535, or a port name for targetPort)")
}

evidence contains k8s.service_text(o) if {
	some o in k8s.services_rendered
	o.metadata.name in cluster_services
}

evidence contains sprintf("%s: ingress admits the Redis port from every namespace", [k8s.id(np)]) if {
	some np in k8s.network_policies
	admits_all_namespaces(np)
}
