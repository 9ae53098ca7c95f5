package redis.persistence_test

import data.lib.testing
import data.redis.persistence

test_good_input_passes if {
	count(persistence.deny) == 0 with input as testing.good
}

test_disabled_persistence_is_denied if {
	testing.denied(persistence.deny, "replica.persistence.enabled is false") with input as testing.with_values({"replica": {"persistence": {"enabled": false}}})
}

test_other_storage_class_is_denied if {
	testing.denied(persistence.deny, `master.persistence.storageClass is "nfs"`) with input as testing.with_values({"master": {"persistence": {"storageClass": "nfs"}}})
}

test_global_default_storage_class_is_used if {
	bad := json.remove(testing.with_values({"global": {"defaultStorageClass": "local-path"}}), ["values/master/persistence/storageClass"])
	count(persistence.deny) == 0 with input as bad
}

test_kind_layering_accepts_its_standard_class if {
	overlay := object.union(testing.with_values({"master": {"persistence": {"storageClass": "standard"}}}), {"layering": "kind"})
	count([v | some v in persistence.deny; v.object == "values"]) == 0 with input as overlay
	testing.denied(persistence.deny, "storageClass") with input as testing.with_values({"master": {"persistence": {"storageClass": "standard"}}})
}

test_missing_size_is_denied if {
	testing.denied(persistence.deny, `master.persistence.size is "lots"`) with input as testing.with_values({"master": {"persistence": {"size": "lots"}}})
}

test_rendered_claim_of_other_class_or_without_size_is_denied if {
	bad := testing.patched([
		{"op": "replace", "path": "/manifests/7/spec/volumeClaimTemplates/0/spec/storageClassName", "value": "nfs"},
		{"op": "remove", "path": "/manifests/8/spec/volumeClaimTemplates/0/spec/resources"},
	])
	denials := persistence.deny with input as bad
	testing.denied(denials, "StatefulSet redis/redis-shared-master: spec.volumeClaimTemplates[].spec.storageClassName")
	testing.denied(denials, "requests.storage")
}

test_nothing_persisted_is_denied if {
	overlay := {"commonConfiguration": "appendonly no"}
	testing.denied(persistence.deny, "master redis.conf appendonly and save is \"appendonly no, no save point\"") with input as testing.with_values(overlay)
	bad := testing.patched([{"op": "replace", "path": "/manifests/6/data/redis.conf", "value": "appendonly no\nsave \"\""}])
	testing.denied(persistence.deny, "ConfigMap redis/redis-shared-configuration: data replica.conf (with redis.conf) appendonly and save") with input as bad
}

test_aof_off_with_save_points_persists if {
	overlay := {"commonConfiguration": "appendonly no\nsave 60 1"}
	count(persistence.deny) == 0 with input as testing.with_values(overlay)
}

test_evidence_names_claims_and_configuration if {
	found := persistence.evidence with input as testing.good
	"StatefulSet redis/redis-shared-master: PVC redis-data 1Gi, class local-path" in found
	"ConfigMap redis/redis-shared-configuration: replica appendonly yes, save \"\"" in found
}
