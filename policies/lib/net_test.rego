package lib.net_test

import data.lib.net

catalog := {"requirements": {
	"FR-004": {"bounds": {"pool_first": {"value": "192.168.4.200"}, "pool_last": {"value": "192.168.4.210"}}},
	"FR-005": {"bounds": {"lan_cidr": {"value": "192.168.4.0/24"}}},
}}

test_pool_bounds_are_inclusive if {
	net.in_pool("192.168.4.200") with data.catalog as catalog
	net.in_pool("192.168.4.210") with data.catalog as catalog
	not net.in_pool("192.168.4.211") with data.catalog as catalog
	not net.in_pool("192.168.4.199") with data.catalog as catalog
	net.pool_text == "an address in 192.168.4.200-192.168.4.210" with data.catalog as catalog
}

test_malformed_address_is_not_in_the_pool if {
	not net.in_pool("192.168.4.300") with data.catalog as catalog
	not net.in_pool(42) with data.catalog as catalog
}

test_ranges_inside_the_lan_are_within if {
	net.within_lan("192.168.4.0/24") with data.catalog as catalog
	net.within_lan("192.168.4.10/32") with data.catalog as catalog
}

test_wider_or_foreign_ranges_are_not_within if {
	not net.within_lan("0.0.0.0/0") with data.catalog as catalog
	not net.within_lan("192.168.0.0/16") with data.catalog as catalog
	not net.within_lan("10.0.0.0/8") with data.catalog as catalog
	not net.within_lan("not-a-cidr") with data.catalog as catalog
	not net.within_lan("192.168.4.7") with data.catalog as catalog
	not net.within_lan(["192.168.4.0/24"]) with data.catalog as catalog
}
