package redis.auth_test

import data.lib.testing
import data.redis.auth

test_good_input_passes if {
	count(auth.deny) == 0 with input as testing.good
}

test_auth_off_is_denied if {
	testing.denied(auth.deny, "auth.enabled is false") with input as testing.with_values({"auth": {"enabled": false}})
}

test_password_without_existing_secret_is_denied if {
	denials := auth.deny with input as testing.with_values({"auth": {"existingSecret": "", "password": "hunter2"}})
	testing.denied(denials, "auth.existingSecret is")
	testing.denied(denials, "values: auth.password")
}

test_password_in_redis_conf_is_denied if {
	overlay := {"master": {"configuration": "requirepass hunter2\nuser default on nopass ~* +@all"}}
	denials := auth.deny with input as testing.with_values(overlay)
	testing.denied(denials, "master redis.conf requirepass")
	testing.denied(denials, "no ACL user without a password")
}

test_plaintext_env_and_empty_password_are_denied if {
	env := [{"name": "REDIS_PASSWORD", "value": "hunter2"}, {"name": "ALLOW_EMPTY_PASSWORD", "value": "yes"}]
	bad := testing.patched([{"op": "replace", "path": "/manifests/7/spec/template/spec/containers/0/env", "value": env}])
	denials := auth.deny with input as bad
	testing.denied(denials, "env REDIS_PASSWORD")
	testing.denied(denials, "ALLOW_EMPTY_PASSWORD")
}

test_rendered_password_secret_is_denied if {
	secret := {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "redis-shared", "namespace": "redis"}, "data": {"redis-password": "aHVudGVyMg=="}}
	bad := testing.patched([{"op": "add", "path": "/manifests/-", "value": secret}])
	testing.denied(auth.deny, "Secret redis/redis-shared: data[redis-password]") with input as bad
}

test_literal_password_in_tofu_is_denied if {
	bad := testing.patched([{"op": "replace", "path": "/tofu/resources/2/instances/0/attributes/data/redis-password", "value": "hunter2"}])
	testing.denied(auth.deny, "a generated value") with input as bad
}

test_password_handed_to_the_chart_by_tofu_is_denied if {
	set := {"attributes": {"name": "auth.password", "value": {"$expr": "random_password.redis.result"}}, "blocks": {}}
	bad := testing.patched([{"op": "add", "path": "/tofu/resources/3/instances/0/blocks", "value": {"set_sensitive": [set]}}])
	testing.denied(auth.deny, "set_sensitive auth.password") with input as bad
}

test_default_password_variable_is_denied if {
	bad := testing.patched([{"op": "add", "path": "/tofu/variables/redis_password", "value": {"default": "hunter2"}}])
	testing.denied(auth.deny, "tofu variable redis_password") with input as bad
}

test_evidence_says_where_each_redis_container_reads_the_password if {
	found := auth.evidence with input as testing.good
	"StatefulSet redis/redis-shared-master: container redis reads the password from the file /opt/bitnami/redis/secrets/redis-password" in found
	"StatefulSet redis/redis-shared-replicas: container redis reads the password from nowhere the gate can see" in found
	from_secret := testing.patched([{"op": "add", "path": "/manifests/8/spec/template/spec/containers/0/env/-", "value": {"name": "REDIS_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "redis-shared-auth", "key": "redis-password"}}}}])
	"StatefulSet redis/redis-shared-replicas: container redis reads the password from a Secret" in auth.evidence with input as from_secret
}

test_literal_password_in_extra_env_vars_is_denied_by_the_rendering if {
	bad := testing.patched([{"op": "add", "path": "/manifests/7/spec/template/spec/containers/0/env/-", "value": {"name": "REDIS_PASSWORD", "value": "hunter2"}}])
	testing.denied(auth.deny, "container redis env REDIS_PASSWORD is \"(a plaintext password)\"") with input as bad
}
