# METADATA
# title: Helpers over the merged Helm values (input.values)
# description: >-
#   Reads values with the Bitnami redis chart's defaults where the project leaves a key
#   out, and the redis.conf text the chart hands to each role.
package lib.values

# get is the value at a path (array of keys) or the given chart default.
get(path, default_value) := object.get(input.values, path, default_value)

# The chart's own commonConfiguration when the project does not set one.
chart_common_configuration := "appendonly yes\nsave \"\""

# config_lines is redis.conf text as [directive, arguments] pairs in order; comments and
# blank lines dropped, the directive lower-cased, quotes around the arguments removed.
config_lines(text) := [[lower(parts[0]), unquote(trim_space(concat(" ", array.slice(parts, 1, count(parts)))))] |
	some raw in split(text, "\n")
	line := trim_space(raw)
	line != ""
	not startswith(line, "#")
	parts := split(line, " ")
]

unquote(s) := substring(s, 1, count(s) - 2) if {
	count(s) >= 2
	startswith(s, `"`)
	endswith(s, `"`)
} else := s

# role_lines is what one role's redis-server reads: the common configuration, then the
# role's own (role is "master" or "replica").
role_lines(role) := array.concat(
	config_lines(get(["commonConfiguration"], chart_common_configuration)),
	config_lines(get([role, "configuration"], "")),
)

# directive is the effective argument of a directive for a role: the last line wins.
directive(role, name) := args if {
	lines := role_lines(role)
	some i, line in lines
	line[0] == name
	not later_line(lines, i, name)
	args := line[1]
}

# setting is a directive's effective argument, or default_value when no line sets it.
setting(role, name, default_value) := args if {
	args := directive(role, name)
} else := default_value

later_line(lines, i, name) if {
	some j, line in lines
	j > i
	line[0] == name
}

roles := ["master", "replica"]

# auth_secret is [name, key] of the Secret the chart reads the password from.
auth_secret := [get(["auth", "existingSecret"], ""), get(["auth", "existingSecretPasswordKey"], "")]
