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
