# METADATA
# title: IPv4 helpers for pool and LAN checks
# description: Pool bounds and the LAN CIDR come from the catalog (FR-004, FR-005).
package lib.net

import data.lib.util

ipv4_pattern := `^(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}$`

is_ipv4(ip) if {
	is_string(ip)
	regex.match(ipv4_pattern, ip)
}

# ip_number is an IPv4 address as one integer, for range comparisons.
ip_number(ip) := n if {
	is_ipv4(ip)
	octets := [to_number(o) | some o in split(ip, ".")]
	n := (((octets[0] * 16777216) + (octets[1] * 65536)) + (octets[2] * 256)) + octets[3]
}

# in_pool holds for an address inside the MetalLB pool of the catalog (FR-004).
in_pool(ip) if {
	n := ip_number(ip)
	n >= ip_number(util.bound("FR-004", "pool_first"))
	n <= ip_number(util.bound("FR-004", "pool_last"))
}

pool_text := sprintf("an address in %s-%s", [util.bound("FR-004", "pool_first"), util.bound("FR-004", "pool_last")])

lan_cidr := util.bound("FR-005", "lan_cidr")

# within_lan holds for a valid CIDR wholly inside the LAN (FR-005). A bare address is
# not a range: Kubernetes rejects it in loadBalancerSourceRanges (CIDR notation only).
within_lan(range) if {
	is_string(range)
	contains(range, "/")
	net.cidr_is_valid(range)
	net.cidr_contains(lan_cidr, range)
}
