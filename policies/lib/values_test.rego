package lib.values_test

import data.lib.values

test_missing_key_falls_back_to_the_chart_default if {
	values.get(["replica", "replicaCount"], 3) == 3 with input as {"values": {}}
	values.get(["replica", "replicaCount"], 3) == 1 with input as {"values": {"replica": {"replicaCount": 1}}}
}

test_role_configuration_overrides_common_configuration if {
	doc := {"values": {
		"commonConfiguration": "appendonly yes\n# comment\n\nappendfsync everysec",
		"replica": {"configuration": "appendfsync always"},
	}}
	values.directive("replica", "appendfsync") == "always" with input as doc
	values.directive("master", "appendfsync") == "everysec" with input as doc
}

test_chart_default_configuration_has_appendonly_and_no_save if {
	values.directive("master", "appendonly") == "yes" with input as {"values": {}}
	values.directive("master", "save") == "" with input as {"values": {}}
}

test_repeated_directives_are_all_listed if {
	lines := values.role_lines("master") with input as {"values": {"commonConfiguration": "rename-command SET \"\"\nrename-command GET x"}}
	lines == [["rename-command", `SET ""`], ["rename-command", "GET x"]]
}
