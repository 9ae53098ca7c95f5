# METADATA
# title: Helpers over rendered manifests and a normalized view of every Redis Service
# description: >-
#   services lists each Service of the deployment wherever the project keeps it: the
#   rendered manifests, the chart values (master/replica service and the project's
#   lanService rendered by extraDeploy) and the tofu configuration.
package lib.k8s

import data.lib.tofu
import data.lib.util
import data.lib.values

has_manifests if is_array(input.manifests)

objects := input.manifests if has_manifests

objects := [] if not has_manifests

id(obj) := sprintf("%s %s/%s", [obj.kind, object.get(obj, ["metadata", "namespace"], "-"), obj.metadata.name])

workload_kinds := {"StatefulSet", "Deployment", "DaemonSet", "ReplicaSet", "Pod", "Job", "CronJob"}

workloads := [o | some o in objects; o.kind in workload_kinds]

pod_spec(o) := o.spec if o.kind == "Pod"

pod_spec(o) := o.spec.jobTemplate.spec.template.spec if o.kind == "CronJob"

pod_spec(o) := o.spec.template.spec if not o.kind in {"Pod", "CronJob"}

# containers are [workload, container, field] for init and regular containers.
containers := [[o, c, field] |
	some o in workloads
	some field in ["initContainers", "containers"]
	some c in object.get(pod_spec(o), field, [])
]

# redis_containers are the redis-server containers (the chart names them "redis").
redis_containers := [[o, c] | some [o, c, "containers"] in containers; c.name == "redis"]

# missing_redis_workloads is a violation when manifests are given but hold no Redis
# container, so manifest rules cannot pass on an empty or foreign rendering.
missing_redis_workloads contains v if {
	has_manifests
	count(redis_containers) == 0
	v := {"object": "manifests", "field": "containers", "msg": "manifests: no workload with a container named \"redis\" was found, required the rendered redis-shared StatefulSets"}
}

# services is one normalized record per Service, from every place it can live.
services := array.concat(array.concat(manifest_services, tofu_services), values_services)

manifest_services := [normalized_manifest(id(o), o) | some o in objects; o.kind == "Service"]

normalized_manifest(object_id, o) := {
	"object": object_id,
	"name": o.metadata.name,
	"type": object.get(o, ["spec", "type"], "ClusterIP"),
	"ip": object.get(o, ["spec", "loadBalancerIP"], null),
	"annotation_ips": object.get(o, ["metadata", "annotations", "metallb.io/loadBalancerIPs"], null),
	"source_ranges": object.get(o, ["spec", "loadBalancerSourceRanges"], null),
	"allocate_node_ports": object.get(o, ["spec", "allocateLoadBalancerNodePorts"], null),
	"external_traffic_policy": object.get(o, ["spec", "externalTrafficPolicy"], "Cluster"),
	"external_ips": object.get(o, ["spec", "externalIPs"], []),
	"fields": {
		"type": "spec.type", "ip": "spec.loadBalancerIP",
		"annotation_ips": "metadata.annotations[metallb.io/loadBalancerIPs]",
		"source_ranges": "spec.loadBalancerSourceRanges",
		"allocate_node_ports": "spec.allocateLoadBalancerNodePorts",
		"external_traffic_policy": "spec.externalTrafficPolicy", "external_ips": "spec.externalIPs",
	},
}

tofu_services := array.concat(
	[normalized_manifest(sprintf("tofu %s", [m.address]), tofu.attr(m, "manifest", {})) |
		some m in tofu.instances({"kubernetes_manifest"})
		tofu.attr(m, "manifest", {}).kind == "Service"
	],
	[tofu_service(s) | some s in tofu.instances({"kubernetes_service", "kubernetes_service_v1"})],
)

tofu_service(s) := {
	"object": sprintf("tofu %s", [s.address]),
	"name": tofu.attr(meta, "name", null),
	"type": tofu.attr(spec, "type", "ClusterIP"),
	"ip": tofu.attr(spec, "load_balancer_ip", null),
	"annotation_ips": object.get(tofu.attr(meta, "annotations", {}), "metallb.io/loadBalancerIPs", null),
	"source_ranges": tofu.attr(spec, "load_balancer_source_ranges", null),
	"allocate_node_ports": tofu.attr(spec, "allocate_load_balancer_node_ports", null),
	"external_traffic_policy": tofu.attr(spec, "external_traffic_policy", "Cluster"),
	"external_ips": tofu.attr(spec, "external_ips", []),
	"fields": {
		"type": "spec.type", "ip": "spec.load_balancer_ip",
		"annotation_ips": "metadata.annotations[metallb.io/loadBalancerIPs]",
		"source_ranges": "spec.load_balancer_source_ranges",
		"allocate_node_ports": "spec.allocate_load_balancer_node_ports",
		"external_traffic_policy": "spec.external_traffic_policy", "external_ips": "spec.external_ips",
	},
} if {
	meta := tofu.block(s, "metadata")
	spec := tofu.block(s, "spec")
}

values_services := array.concat([chart_service(role, name) | some [role, name] in [["master", "redis-shared-master"], ["replica", "redis-shared-replicas"]]], lan_service)

# chart_service is the chart's master or replica Service as the values describe it;
# the chart has no value for allocateLoadBalancerNodePorts, so it is never false.
chart_service(role, name) := {
	"object": "values",
	"name": name,
	"type": values.get([role, "service", "type"], "ClusterIP"),
	"ip": values.get([role, "service", "loadBalancerIP"], null),
	"annotation_ips": values.get([role, "service", "annotations", "metallb.io/loadBalancerIPs"], null),
	"source_ranges": values.get([role, "service", "loadBalancerSourceRanges"], null),
	"allocate_node_ports": null,
	"external_traffic_policy": values.get([role, "service", "externalTrafficPolicy"], "Cluster"),
	"external_ips": values.get([role, "service", "externalIPs"], []),
	"fields": {
		"type": sprintf("%s.service.type", [role]), "ip": sprintf("%s.service.loadBalancerIP", [role]),
		"annotation_ips": sprintf("%s.service.annotations[metallb.io/loadBalancerIPs]", [role]),
		"source_ranges": sprintf("%s.service.loadBalancerSourceRanges", [role]),
		"allocate_node_ports": sprintf("%s.service (the chart has no allocateLoadBalancerNodePorts)", [role]),
		"external_traffic_policy": sprintf("%s.service.externalTrafficPolicy", [role]),
		"external_ips": sprintf("%s.service.externalIPs", [role]),
	},
}

# lan_enabled reads lanService.enabled the way the extraDeploy template's `if` does.
lan_enabled if util.truthy(values.get(["lanService", "enabled"], false))

# lan_templates are the extraDeploy entries that render a LoadBalancer; templates may be
# strings or objects, so both are read as YAML text.
lan_templates := [t |
	some e in values.get(["extraDeploy"], [])
	t := template_text(e)
	regex.match(`type:\s*["']?LoadBalancer`, t)
]

template_text(e) := e if is_string(e)

template_text(e) := yaml.marshal(e) if not is_string(e)

lan_template := concat("\n", lan_templates)

template_allocate_node_ports := false if regex.match(`allocateLoadBalancerNodePorts:\s*["']?false`, lan_template)

template_allocate_node_ports := null if not regex.match(`allocateLoadBalancerNodePorts:\s*["']?false`, lan_template)

template_traffic_policy := m[0][1] if {
	m := regex.find_all_string_submatch_n(`externalTrafficPolicy:\s*["']?([A-Za-z]+)`, lan_template, 1)
	count(m) == 1
} else := "Cluster"

lan_service := [{
	"object": "values",
	"name": values.get(["lanService", "name"], null),
	"type": "LoadBalancer",
	"ip": values.get(["lanService", "loadBalancerIP"], null),
	"annotation_ips": null,
	"source_ranges": values.get(["lanService", "sourceRanges"], null),
	"allocate_node_ports": template_allocate_node_ports,
	"external_traffic_policy": template_traffic_policy,
	"external_ips": [],
	"fields": {
		"type": "lanService", "ip": "lanService.loadBalancerIP",
		"annotation_ips": "lanService",
		"source_ranges": "lanService.sourceRanges",
		"allocate_node_ports": "extraDeploy (LoadBalancer template) allocateLoadBalancerNodePorts",
		"external_traffic_policy": "extraDeploy (LoadBalancer template) externalTrafficPolicy",
		"external_ips": "lanService",
	},
} |
	lan_enabled
]

load_balancers := [s | some s in services; s.type == "LoadBalancer"]

# service_text is one line of evidence for a rendered Service.
service_text(o) := sprintf("%s: type %s%s%s%s, ports %s", [
	id(o),
	object.get(o, ["spec", "type"], "ClusterIP"),
	address_text(o),
	node_ports_text(o),
	sources_text(o),
	concat(",", [sprintf("%v", [p.port]) | some p in object.get(o, ["spec", "ports"], [])]),
])

address_text(o) := sprintf(", address %s", [o.metadata.annotations["metallb.io/loadBalancerIPs"]]) if {
	o.metadata.annotations["metallb.io/loadBalancerIPs"]
} else := ""

node_ports_text(o) := ", no NodePorts" if {
	o.spec.type == "LoadBalancer"
	o.spec.allocateLoadBalancerNodePorts == false
} else := ", with NodePorts" if {
	object.get(o, ["spec", "type"], "ClusterIP") in {"LoadBalancer", "NodePort"}
} else := ""

sources_text(o) := sprintf(", sources %s", [concat(",", o.spec.loadBalancerSourceRanges)]) if {
	o.spec.type == "LoadBalancer"
	is_array(o.spec.loadBalancerSourceRanges)
} else := ", no source ranges" if {
	o.spec.type == "LoadBalancer"
} else := ""

services_rendered := [o | some o in objects; o.kind == "Service"]

# invalid_ports are [object, field, value] for Service ports Kubernetes would reject:
# port and nodePort (when set) outside 1-65535 or not whole numbers, targetPort
# neither such a number nor a port name.
invalid_ports contains [id(o), sprintf("spec.ports[%d].port", [i]), p.port] if {
	some o in services_rendered
	some i, p in object.get(o, ["spec", "ports"], [])
	not util.valid_port(object.get(p, "port", null))
}

invalid_ports contains [id(o), sprintf("spec.ports[%d].nodePort", [i]), p.nodePort] if {
	some o in services_rendered
	some i, p in object.get(o, ["spec", "ports"], [])
	p.nodePort != null
	not util.valid_port(p.nodePort)
}

invalid_ports contains [id(o), sprintf("spec.ports[%d].targetPort", [i]), p.targetPort] if {
	some o in services_rendered
	some i, p in object.get(o, ["spec", "ports"], [])
	not valid_target_port(p.targetPort)
}

valid_target_port(t) if util.valid_port(t)

valid_target_port(t) if {
	is_string(t)
	regex.match(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`, t)
	count(t) <= 15
}

# rendered_config is the redis.conf text one role's redis-server gets from the rendered
# configuration ConfigMap: redis.conf, then <role>.conf (the chart's start scripts copy
# both). Undefined when no such ConfigMap was rendered.
rendered_config(role) := concat("\n", [object.get(cm, ["data", "redis.conf"], ""), object.get(cm, ["data", sprintf("%s.conf", [role])], "")]) if {
	some cm in objects
	cm.kind == "ConfigMap"
	endswith(cm.metadata.name, "-configuration")
}

# rendered_setting is a directive's effective argument in the rendered configuration.
rendered_setting(role, name, default_value) := args if {
	lines := values.config_lines(rendered_config(role))
	some i, line in lines
	line[0] == name
	not values.later_line(lines, i, name)
	args := line[1]
} else := default_value

configuration_object := id(cm) if {
	some cm in objects
	cm.kind == "ConfigMap"
	endswith(cm.metadata.name, "-configuration")
}

# network_policies are the rendered NetworkPolicies that restrict ingress.
network_policies := [np |
	some np in objects
	np.kind == "NetworkPolicy"
	"Ingress" in object.get(np, ["spec", "policyTypes"], ["Ingress"])
]

# ingress_reaches_redis holds for an ingress rule that covers the Redis port (a rule
# without ports covers every port).
ingress_reaches_redis(rule) if count(object.get(rule, "ports", [])) == 0

ingress_reaches_redis(rule) if {
	some p in rule.ports
	p.port in {6379, "redis", "tcp-redis"}
}

# ingress_admits_namespace holds when a rule admits every pod of namespace ns: a rule
# without peers, a peer for every namespace, or one naming ns by its
# kubernetes.io/metadata.name label; a pod selector with labels narrows it to labelled
# pods, which an application's pods are not.
ingress_admits_namespace(rule, _) if count(object.get(rule, "from", [])) == 0

ingress_admits_namespace(rule, ns) if {
	some peer in rule.from
	object.get(peer, "podSelector", {}) == {}
	namespace_selector_selects(peer, ns)
}

namespace_selector_selects(peer, _) if peer.namespaceSelector == {}

namespace_selector_selects(peer, ns) if {
	peer.namespaceSelector == {"matchLabels": {"kubernetes.io/metadata.name": ns}}
}
