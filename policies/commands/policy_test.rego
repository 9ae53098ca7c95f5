package redis.commands_test

import data.lib.testing
import data.redis.commands

test_good_input_passes if {
	count(commands.deny) == 0 with input as testing.good
}

test_renamed_data_command_is_denied if {
	testing.denied(commands.deny, "master redis.conf rename-command") with input as testing.with_values({"master": {"configuration": "rename-command HSET \"\""}})
}

test_renaming_admin_commands_is_allowed if {
	count(commands.deny) == 0 with input as testing.with_values({"master": {"configuration": "rename-command CONFIG \"\""}})
}

test_disabled_data_command_is_denied if {
	testing.denied(commands.deny, "replica.disableCommands") with input as testing.with_values({"replica": {"disableCommands": ["FLUSHALL", "ZADD"]}})
}

test_default_user_denied_a_data_category_is_denied if {
	overlay := {"commonConfiguration": "appendonly yes\nappendfsync always\nuser default on >x ~* +@all -@hash"}
	testing.denied(commands.deny, "redis.conf user default") with input as testing.with_values(overlay)
	users := [{"username": "default", "commands": "+@all -set"}]
	testing.denied(commands.deny, "auth.acl.users[default].commands") with input as testing.with_values({"auth": {"acl": {"users": users}}})
}

test_rendered_config_renaming_a_data_command_is_denied if {
	bad := testing.patched([{"op": "replace", "path": "/manifests/6/data/redis.conf", "value": "rename-command GET nope"}])
	testing.denied(commands.deny, "ConfigMap redis/redis-shared-configuration") with input as bad
}
