# METADATA
# title: Shared helpers for deny messages and catalog look-ups
# description: Not a check (no custom.requirements); every rule builds its violations here.
package lib.util

# violation is what every deny rule returns: the object, the field, and a message that
# names both plus what was found and what is required.
violation(object, field, found, required) := {
	"object": object,
	"field": field,
	"msg": sprintf("%s: %s is %s, required %s", [object, field, show(found), required]),
}

# show renders a found value for a message; null stands for "not set".
show(x) := "not set" if x == null

show(x) := json.marshal(x) if x != null

# bound is a named bound of a requirement in the catalog (data.catalog).
bound(id, name) := data.catalog.requirements[id].bounds[name].value

# threshold is the threshold value of a success criterion in the catalog.
threshold(id) := data.catalog.requirements[id].threshold.value

# duration_seconds parses a Prometheus-style duration ("15s", "1m", "500ms", "1m30s").
duration_seconds(d) := s if {
	is_string(d)
	regex.match(`^([0-9]+(ms|s|m|h))+$`, d)
	parts := regex.find_all_string_submatch_n(`([0-9]+)(ms|s|m|h)`, d, -1)
	s := sum([ms | some p in parts; ms := to_number(p[1]) * unit_milliseconds[p[2]]]) / 1000
}

unit_milliseconds := {"ms": 1, "s": 1000, "m": 60000, "h": 3600000}

# at is arr[i], or default_value when the list is shorter.
at(arr, i, _) := arr[i] if count(arr) > i

at(arr, i, default_value) := default_value if count(arr) <= i

# truthy is how a Go template's `if` (the chart's templates) reads a value: false, 0,
# "", null and empty lists and maps are false, everything else is true. So
# `enabled: "false"` is on, as the chart renders it.
truthy(x) if x == true

truthy(x) if {
	is_number(x)
	x != 0
}

truthy(x) if {
	is_string(x)
	x != ""
}

truthy(x) if {
	is_array(x)
	count(x) > 0
}

truthy(x) if {
	is_object(x)
	count(x) > 0
}

# valid_port is a Kubernetes port number: an integer from 1 to 65535.
valid_port(p) if {
	is_number(p)
	p == floor(p)
	p >= 1
	p <= 65535
}
