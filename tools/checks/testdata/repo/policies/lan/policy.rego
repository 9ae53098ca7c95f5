# METADATA
# title: LAN source ranges
# custom:
#   requirements: [FR-005, SC-004]
package redis.lan

deny contains msg if {
	false
	msg := "never"
}
