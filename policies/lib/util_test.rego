package lib.util_test

import data.lib.util

test_violation_names_object_field_found_and_required if {
	v := util.violation("Service redis/x", "spec.type", "NodePort", `"ClusterIP"`)
	v.object == "Service redis/x"
	v.field == "spec.type"
	v.msg == `Service redis/x: spec.type is "NodePort", required "ClusterIP"`
}

test_missing_value_is_shown_as_not_set if {
	util.show(null) == "not set"
}

test_catalog_bounds_and_thresholds_are_read_from_data if {
	util.bound("FR-005", "lan_cidr") == "10.0.0.0/8" with data.catalog as {"requirements": {"FR-005": {"bounds": {"lan_cidr": {"value": "10.0.0.0/8"}}}}}
	util.threshold("SC-005") == 20 with data.catalog as {"requirements": {"SC-005": {"threshold": {"value": 20}}}}
}

test_durations_parse_in_seconds if {
	util.duration_seconds("15s") == 15
	util.duration_seconds("1m30s") == 90
	util.duration_seconds("500ms") == 0.5
}

test_malformed_duration_is_undefined if {
	not util.duration_seconds("soon")
	not util.duration_seconds(15)
}

test_at_falls_back_past_the_end if {
	util.at([1], 0, 9) == 1
	util.at([1], 1, 9) == 9
}

test_truthy_reads_values_like_a_go_template if {
	every x in [true, 1, -1, "false", "0", [0], {"a": null}] {
		util.truthy(x)
	}
	every x in [false, 0, "", null, [], {}] {
		not util.truthy(x)
	}
}

test_valid_ports_are_whole_numbers_from_1_to_65535 if {
	every p in [1, 6379, 65535] {
		util.valid_port(p)
	}
	every p in [0, -1, 70000, 6379.5, "6379", null] {
		not util.valid_port(p)
	}
}
