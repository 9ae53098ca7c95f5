package redis.images_test

import data.lib.testing
import data.redis.images

test_good_input_passes if {
	count(images.deny) == 0 with input as testing.good
}

test_chart_default_repository_is_denied if {
	bad := json.remove(testing.good, ["values/metrics/image/repository"])
	testing.denied(images.deny, `metrics.image.repository is "bitnami/redis-exporter"`) with input as bad
}

test_latest_tag_is_denied if {
	testing.denied(images.deny, `image.tag is "latest"`) with input as testing.with_values({"image": {"tag": "latest"}})
}

test_digest_pins_without_tag if {
	count(images.deny) == 0 with input as testing.with_values({"image": {"tag": "", "digest": "sha256:00"}})
}

test_substituted_image_needs_allow_insecure_images if {
	testing.denied(images.deny, "global.security.allowInsecureImages") with input as testing.with_values({"global": {"security": {"allowInsecureImages": false}}})
}

test_global_registry_and_enabled_extras_are_checked if {
	overlay := {"global": {"imageRegistry": "registry.example"}, "sentinel": {"enabled": true}, "sysctl": {"enabled": true}}
	denials := images.deny with input as testing.with_values(overlay)
	testing.denied(denials, "sentinel.image.tag")
	testing.denied(denials, "sysctl.image.tag")
	not testing.denied(denials, "sentinel.image.repository")
}

test_rendered_unpinned_or_unserved_images_are_denied if {
	bad := testing.patched([
		{"op": "replace", "path": "/manifests/7/spec/template/spec/containers/0/image", "value": "docker.io/bitnami/redis:8.2.1"},
		{"op": "replace", "path": "/manifests/8/spec/template/spec/containers/1/image", "value": "registry:5000/redis-exporter"},
	])
	denials := images.deny with input as bad
	testing.denied(denials, "docker.io/bitnami/redis:8.2.1")
	testing.denied(denials, "containers metrics image")
}

test_digest_references_are_pinned if {
	images.pinned_reference("example/redis@sha256:abc")
	not images.pinned_reference("example/redis:latest")
}
