# METADATA
# title: Data on persistent volumes from local-path-provisioner
# description: >-
#   Master and replica keep /data on a PersistentVolumeClaim of the local-path
#   provisioner's StorageClass ("local-path"; kind names the same provisioner's class
#   "standard", so the kind layering may use that) with an explicit size, and Redis
#   writes its data there: AOF on, or RDB save points (with neither, nothing survives
#   a restart).
# custom:
#   requirements: [FR-007]
#   severity: high
#   inputs: [values, manifests]
package redis.persistence

import data.lib.k8s
import data.lib.util
import data.lib.values

storage_classes := {"local-path", "standard"} if input.layering == "kind"

storage_classes := {"local-path"} if object.get(input, "layering", "homelab") != "kind"

classes_text := sprintf("one of %v", [sort(storage_classes)])

deny contains v if {
	some role in values.roles
	found := values.get([role, "persistence", "enabled"], true)
	found != true
	v := util.violation("values", sprintf("%s.persistence.enabled", [role]), found, "true")
}

# The chart falls back to global.defaultStorageClass, then global.storageClass.
storage_class(role) := c if {
	candidates := [x |
		some path in [[role, "persistence", "storageClass"], ["global", "defaultStorageClass"], ["global", "storageClass"]]
		x := values.get(path, "")
		x != ""
	]
	c := util.at(candidates, 0, null)
}

deny contains v if {
	some role in values.roles
	found := storage_class(role)
	not found in storage_classes
	v := util.violation("values", sprintf("%s.persistence.storageClass", [role]), found, classes_text)
}

deny contains v if {
	some role in values.roles
	found := values.get([role, "persistence", "size"], "")
	not regex.match(`^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$`, sprintf("%v", [found]))
	v := util.violation("values", sprintf("%s.persistence.size", [role]), found, "a size such as 2Gi")
}

deny contains v if {
	some [o, _] in k8s.redis_containers
	claims := object.get(o, ["spec", "volumeClaimTemplates"], [])
	found := [object.get(c, ["spec", "storageClassName"], null) | some c in claims]
	not all_allowed(found)
	v := util.violation(k8s.id(o), "spec.volumeClaimTemplates[].spec.storageClassName", found, classes_text)
}

all_allowed(classes) if {
	count(classes) > 0
	every c in classes {
		c in storage_classes
	}
}

deny contains v if {
	some [o, _] in k8s.redis_containers
	some claim in object.get(o, ["spec", "volumeClaimTemplates"], [])
	not claim.spec.resources.requests.storage
	v := util.violation(k8s.id(o), "spec.volumeClaimTemplates[].spec.resources.requests.storage", null, "a size")
}

# Nothing is written to /data when AOF is off and no RDB save point is set (an empty
# or missing save line), in the values and in the configuration the chart rendered.
no_snapshots(save) if trim_space(save) == ""

deny contains v if {
	some role in values.roles
	appendonly := values.setting(role, "appendonly", "no")
	lower(appendonly) != "yes"
	no_snapshots(values.setting(role, "save", ""))
	v := util.violation("values", sprintf("%s redis.conf appendonly and save", [role]), sprintf("appendonly %s, no save point", [appendonly]), "appendonly yes or RDB save points (nothing is persisted otherwise)")
}

deny contains v if {
	some role in values.roles
	k8s.rendered_config(role)
	appendonly := k8s.rendered_setting(role, "appendonly", "no")
	lower(appendonly) != "yes"
	no_snapshots(k8s.rendered_setting(role, "save", ""))
	v := util.violation(k8s.configuration_object, sprintf("data %s.conf (with redis.conf) appendonly and save", [role]), sprintf("appendonly %s, no save point", [appendonly]), "appendonly yes or RDB save points (nothing is persisted otherwise)")
}

evidence contains sprintf("%s: PVC %s %s, class %s", [k8s.id(o), claim.metadata.name, object.get(claim, ["spec", "resources", "requests", "storage"], "?"), object.get(claim, ["spec", "storageClassName"], "default")]) if {
	some [o, _] in k8s.redis_containers
	some claim in object.get(o, ["spec", "volumeClaimTemplates"], [])
}

evidence contains sprintf("%s: %s appendonly %s, save %q", [k8s.configuration_object, role, k8s.rendered_setting(role, "appendonly", "no"), k8s.rendered_setting(role, "save", "")]) if {
	some role in values.roles
	k8s.rendered_config(role)
}
