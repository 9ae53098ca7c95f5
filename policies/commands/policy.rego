# METADATA
# title: Standard commands and data structures stay available
# description: >-
#   No rename-command, disableCommands entry or ACL rule of the default user takes away
#   the commands of strings, lists, sets, sorted sets and hashes.
# custom:
#   requirements: [FR-014]
#   severity: high
#   inputs: [values, manifests]
package redis.commands

import data.lib.k8s
import data.lib.util
import data.lib.values

data_commands := {
	"get", "set", "mget", "mset", "incr", "decr", "append", "del", "exists", "expire", "ttl",
	"lpush", "rpush", "lpop", "rpop", "lrange", "llen",
	"sadd", "srem", "smembers", "sismember", "scard",
	"zadd", "zrem", "zrange", "zscore", "zcard",
	"hset", "hget", "hdel", "hgetall", "hmget", "hincrby",
}

data_categories := {"@all", "@string", "@list", "@set", "@sortedset", "@hash", "@read", "@write", "@keyspace"}

deny contains v if {
	some role in values.roles
	some [name, args] in values.role_lines(role)
	name == "rename-command"
	command := lower(split(args, " ")[0])
	command in data_commands
	v := util.violation("values", sprintf("%s redis.conf rename-command", [role]), args, "no data-type command renamed")
}

deny contains v if {
	some role in values.roles
	some command in values.get([role, "disableCommands"], ["FLUSHDB", "FLUSHALL"])
	lower(command) in data_commands
	v := util.violation("values", sprintf("%s.disableCommands", [role]), command, "no data-type command disabled")
}

denied(rules) := [r |
	some r in split(rules, " ")
	startswith(r, "-")
	suffix := lower(substring(r, 1, -1))
	suffix in (data_commands | data_categories)
]

deny contains v if {
	some role in values.roles
	some [name, args] in values.role_lines(role)
	name == "user"
	startswith(args, "default ")
	count(denied(args)) > 0
	v := util.violation("values", sprintf("%s redis.conf user default", [role]), denied(args), "no data-type command denied to the default user")
}

deny contains v if {
	some user in values.get(["auth", "acl", "users"], [])
	object.get(user, "username", "") == "default"
	found := denied(sprintf("%v", [object.get(user, "commands", "")]))
	count(found) > 0
	v := util.violation("values", "auth.acl.users[default].commands", found, "no data-type command denied to the default user")
}

deny contains v if {
	some o in k8s.objects
	o.kind == "ConfigMap"
	some file, text in object.get(o, "data", {})
	some line in split(text, "\n")
	parts := split(trim_space(line), " ")
	lower(parts[0]) == "rename-command"
	lower(util.at(parts, 1, "")) in data_commands
	v := util.violation(k8s.id(o), sprintf("data[%s]", [file]), trim_space(line), "no data-type command renamed")
}
