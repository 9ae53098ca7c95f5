# Helpers for the rules' tests: the good input (data.fixtures.good, loaded by the Go
# runner from fixtures/policy/good) and ways to break one thing in it.
package lib.testing

good := data.fixtures.good

# with_values deep-merges a values overlay into the good input, like `helm -f`.
with_values(overlay) := object.union(good, {"values": overlay})

# patched applies JSON patch operations to the good input (manifests, tofu).
patched(ops) := json.patch(good, ops)

# denied holds when some violation's message contains text.
denied(violations, text) if {
	some v in violations
	contains(v.msg, text)
}
