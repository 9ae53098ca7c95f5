package lib.k8s_test

import data.lib.k8s

test_no_manifests_means_no_objects if {
	k8s.objects == [] with input as {"values": {}}
	not k8s.has_manifests with input as {"values": {}}
}

test_pod_specs_of_every_workload_kind if {
	k8s.pod_spec({"kind": "Pod", "spec": {"a": 1}}) == {"a": 1}
	k8s.pod_spec({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {"b": 2}}}}}}) == {"b": 2}
	k8s.pod_spec({"kind": "Deployment", "spec": {"template": {"spec": {"c": 3}}}}) == {"c": 3}
}

test_object_ids_name_kind_namespace_and_name if {
	k8s.id({"kind": "Service", "metadata": {"name": "x", "namespace": "redis"}}) == "Service redis/x"
	k8s.id({"kind": "Namespace", "metadata": {"name": "redis"}}) == "Namespace -/redis"
}

test_lan_template_may_be_an_object if {
	k8s.template_text({"spec": {"type": "LoadBalancer"}}) == "spec:\n  type: LoadBalancer\n"
}
