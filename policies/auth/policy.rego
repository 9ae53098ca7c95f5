# METADATA
# title: Password authentication from an existing Secret, no plaintext password
# description: >-
#   auth is on and the password comes only from an existing Secret; no password is
#   written in the values, the redis.conf text, the rendered manifests or the tofu
#   configuration, and no ACL user may log in without one.
# custom:
#   requirements: [FR-011, SC-008]
#   severity: critical
#   inputs: [values, manifests, tofu]
package redis.auth

import data.lib.k8s
import data.lib.tofu
import data.lib.util
import data.lib.values

deny contains v if {
	found := values.get(["auth", "enabled"], true)
	found != true
	v := util.violation("values", "auth.enabled", found, "true")
}

deny contains v if {
	some key in ["existingSecret", "existingSecretPasswordKey"]
	found := values.get(["auth", key], "")
	not non_empty_string(found)
	v := util.violation("values", sprintf("auth.%s", [key]), found, "the name of the Secret tofu writes (and its key)")
}

non_empty_string(s) if {
	is_string(s)
	s != ""
}

# Any values key that names a password and holds text is a plaintext password.
deny contains v if {
	walk(input.values, [path, value])
	count(path) > 0
	regex.match(`(?i)pass(word)?$`, sprintf("%v", [path[count(path) - 1]]))
	non_empty_string(value)
	v := util.violation("values", concat(".", [sprintf("%v", [p]) | some p in path]), "(a plaintext password)", "no password in values: auth.existingSecret only")
}

deny contains v if {
	some role in values.roles
	some [name, args] in values.role_lines(role)
	name in {"requirepass", "masterauth"}
	v := util.violation("values", sprintf("%s redis.conf %s", [role, name]), "(a plaintext password)", "no password in the configuration")
}

deny contains v if {
	some role in values.roles
	some [name, args] in values.role_lines(role)
	name == "user"
	regex.match(`(^|\s)nopass(\s|$)`, args)
	v := util.violation("values", sprintf("%s redis.conf user %s", [role, split(args, " ")[0]]), "nopass", "no ACL user without a password")
}

deny contains v if {
	some [o, c, _] in k8s.containers
	some e in object.get(c, "env", [])
	regex.match(`(?i)PASSWORD$`, e.name)
	e.name != "ALLOW_EMPTY_PASSWORD"
	non_empty_string(object.get(e, "value", ""))
	v := util.violation(k8s.id(o), sprintf("container %s env %s", [c.name, e.name]), "(a plaintext password)", "valueFrom.secretKeyRef or a mounted Secret file")
}

deny contains v if {
	some [o, c, _] in k8s.containers
	some e in object.get(c, "env", [])
	e.name == "ALLOW_EMPTY_PASSWORD"
	lower(object.get(e, "value", "no")) == "yes"
	v := util.violation(k8s.id(o), sprintf("container %s env ALLOW_EMPTY_PASSWORD", [c.name]), e.value, `"no"`)
}

# A rendered Secret carrying a password means the chart made its own password.
deny contains v if {
	some o in k8s.objects
	o.kind == "Secret"
	some field in ["data", "stringData"]
	some key, _ in object.get(o, field, {})
	regex.match(`(?i)password`, key)
	v := util.violation(k8s.id(o), sprintf("%s[%s]", [field, key]), "(a password rendered by the chart)", "auth.existingSecret (the Secret comes from tofu)")
}

deny contains v if {
	some s in tofu.instances({"kubernetes_secret", "kubernetes_secret_v1"})
	some field in ["data", "binary_data"]
	some key, value in tofu.attr(s, field, {})
	is_string(value)
	v := util.violation(sprintf("tofu %s", [s.address]), sprintf("%s[%s]", [field, key]), "(a literal in the configuration)", "a generated value such as random_password.*.result")
}

deny contains v if {
	some r in tofu.instances({"helm_release"})
	some kind in ["set", "set_sensitive"]
	some item in object.get(r, ["blocks", kind], [])
	name := tofu.attr(item, "name", "")
	regex.match(`(?i)password`, name)
	not endswith(lower(name), "key")
	v := util.violation(sprintf("tofu %s", [r.address]), sprintf("%s %s", [kind, name]), "(a password handed to the chart)", "auth.existingSecret only")
}

deny contains v if {
	some name, variable in object.get(input.tofu, "variables", {})
	regex.match(`(?i)password`, name)
	non_empty_string(object.get(variable, "default", null))
	v := util.violation(sprintf("tofu variable %s", [name]), "default", "(a plaintext password)", "no default password")
}

# Each rendered redis container and where it gets its password.
evidence contains sprintf("%s: container %s reads the password %s", [k8s.id(o), c.name, password_source(c)]) if {
	some [o, c] in k8s.redis_containers
}

password_source(c) := sprintf("from the file %s", [e.value]) if {
	some e in object.get(c, "env", [])
	e.name == "REDIS_PASSWORD_FILE"
} else := "from a Secret" if {
	some e in object.get(c, "env", [])
	e.name == "REDIS_PASSWORD"
	e.valueFrom.secretKeyRef
} else := "from nowhere the gate can see"
