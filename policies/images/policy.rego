# METADATA
# title: Images pinned and pullable
# description: >-
#   Every image the chart renders is pinned to a tag (never latest) or a digest, from a
#   repository that still serves it: docker.io/bitnami/* stopped serving in 2025, the
#   same tags live on as bitnamilegacy/*, which the chart accepts only with
#   global.security.allowInsecureImages. An image that does not pull means no instance.
# custom:
#   requirements: [FR-002]
#   severity: critical
#   inputs: [values, manifests]
package redis.images

import data.lib.k8s
import data.lib.util
import data.lib.values

# image values the chart renders, and when.
image_paths contains ["image"]

image_paths contains ["metrics", "image"] if values.get(["metrics", "enabled"], false) == true

image_paths contains [c, "image"] if {
	some c in ["volumePermissions", "sysctl"]
	values.get([c, "enabled"], false) == true
}

image_paths contains [c, "image"] if {
	some c in ["sentinel", "kubectl"]
	values.get(["sentinel", "enabled"], false) == true
}

chart_repositories := {
	"image": "bitnami/redis", "metrics": "bitnami/redis-exporter", "sentinel": "bitnami/redis-sentinel",
	"kubectl": "bitnami/kubectl", "volumePermissions": "bitnami/os-shell", "sysctl": "bitnami/os-shell",
}

registry(path) := r if {
	r := values.get(["global", "imageRegistry"], "")
	r != ""
} else := values.get(array.concat(path, ["registry"]), "docker.io")

repository(path) := values.get(array.concat(path, ["repository"]), chart_repositories[path[0]])

deny contains v if {
	some path in image_paths
	registry(path) in {"docker.io", "registry-1.docker.io", "index.docker.io"}
	startswith(repository(path), "bitnami/")
	v := util.violation("values", concat(".", array.concat(path, ["repository"])), repository(path), "a repository that still serves the image, e.g. bitnamilegacy/*")
}

deny contains v if {
	some path in image_paths
	values.get(array.concat(path, ["digest"]), "") == ""
	found := values.get(array.concat(path, ["tag"]), null)
	not pinned_tag(found)
	v := util.violation("values", concat(".", array.concat(path, ["tag"])), found, "a fixed tag (not latest) or a digest")
}

pinned_tag(tag) if {
	is_string(tag)
	not tag in {"", "latest"}
}

deny contains v if {
	some path in image_paths
	repository(path) != chart_repositories[path[0]]
	found := values.get(["global", "security", "allowInsecureImages"], false)
	found != true
	v := util.violation("values", "global.security.allowInsecureImages", found, sprintf("true (the chart refuses the substituted %s otherwise)", [repository(path)]))
}

deny contains v if {
	some [o, c, field] in k8s.containers
	not pinned_reference(c.image)
	v := util.violation(k8s.id(o), sprintf("%s %s image", [field, c.name]), c.image, "a tag other than latest, or a digest")
}

pinned_reference(image) if contains(image, "@sha256:")

pinned_reference(image) if {
	not contains(image, "@")
	parts := split(image, "/")
	name := parts[count(parts) - 1]
	contains(name, ":")
	not endswith(name, ":latest")
}

deny contains v if {
	some [o, c, field] in k8s.containers
	regex.match(`^((docker\.io|registry-1\.docker\.io|index\.docker\.io)/)?bitnami/`, c.image)
	v := util.violation(k8s.id(o), sprintf("%s %s image", [field, c.name]), c.image, "a repository that still serves the image, e.g. bitnamilegacy/*")
}
