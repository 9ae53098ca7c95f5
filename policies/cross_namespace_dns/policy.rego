# METADATA
# title: Beersystem reaches redis-shared-master.redis.svc.cluster.local
# description: >-
#   The master Service is rendered in namespace redis and keeps a cluster IP under the
#   cluster.local domain. (The Secret beersystem reads is FR-012a's rule.)
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
