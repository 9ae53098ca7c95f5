# METADATA
# title: Beersystem reaches redis-shared-master.redis.svc.cluster.local
# description: >-
#   The master Service is rendered in namespace redis and keeps a cluster IP under the
#   cluster.local domain, and every NetworkPolicy over the Redis pods admits the Redis
#   port from namespace beersystem's pods without a client label. (The Secret
#   beersystem reads is FR-012a's rule.)
# custom:
#   requirements: [FR-017]
#   severity: high
#   inputs: [values, manifests]
package redis.cross_namespace_dns

import data.lib.k8s
import data.lib.util
import data.lib.values

deny contains v if {
	found := values.get(["clusterDomain"], "cluster.local")
	found != "cluster.local"
	v := util.violation("values", "clusterDomain", found, `"cluster.local" (redis-shared-master.redis.svc.cluster.local)`)
}

deny contains v if {
	found := values.get(["master", "service", "clusterIP"], "")
	found == "None"
	v := util.violation("values", "master.service.clusterIP", found, "a cluster IP (not headless)")
}

deny contains v if {
	k8s.has_manifests
	not master_service_in_redis
	v := util.violation("manifests", "Service redis/redis-shared-master", null, "the Service redis-shared-master in namespace redis")
}

master_service_in_redis if {
	some o in k8s.objects
	o.kind == "Service"
	o.metadata.name == "redis-shared-master"
	object.get(o, ["metadata", "namespace"], "") == "redis"
}

# A NetworkPolicy that admits only some namespaces, or only labelled client pods,
# shuts beersystem's unlabelled application pods out of the DNS name they dial.
deny contains v if {
	some np in k8s.network_policies
	not admits_beersystem(np)
	v := util.violation(k8s.id(np), "spec.ingress", object.get(np, ["spec", "ingress"], []), "a rule admitting the Redis port from namespace beersystem")
}

admits_beersystem(np) if {
	some rule in object.get(np, ["spec", "ingress"], [])
	k8s.ingress_reaches_redis(rule)
	k8s.ingress_admits_namespace(rule, "beersystem")
}
