# Plan-level facts of the module, against mocked providers: no cluster is contacted.
# Run from tofu/: `tofu init -backend=false && tofu test`.

mock_provider "kubernetes" {}
mock_provider "helm" {}
mock_provider "random" {}

run "auth_secret_is_written_to_redis_and_beersystem" {
  command = apply

  assert {
    condition     = length(kubernetes_secret_v1.auth) == 2
    error_message = "FR-012a: want exactly two copies of the auth Secret."
  }
  assert {
    condition     = kubernetes_secret_v1.auth["redis"].metadata[0].namespace == "redis" && kubernetes_secret_v1.auth["beersystem"].metadata[0].namespace == "beersystem"
    error_message = "FR-012, FR-012a: the auth Secret copies must live in namespaces redis and beersystem."
  }
  assert {
    condition     = kubernetes_secret_v1.auth["redis"].metadata[0].name == "redis-shared-auth" && kubernetes_secret_v1.auth["beersystem"].metadata[0].name == "redis-shared-auth"
    error_message = "Both copies of the auth Secret must be named redis-shared-auth."
  }
  assert {
    condition     = nonsensitive(keys(kubernetes_secret_v1.auth["redis"].data)) == tolist(["redis-password"]) && nonsensitive(keys(kubernetes_secret_v1.auth["beersystem"].data)) == tolist(["redis-password"])
    error_message = "Both copies of the auth Secret must hold exactly the key redis-password."
  }
  assert {
    condition     = nonsensitive(kubernetes_secret_v1.auth["redis"].data["redis-password"] == kubernetes_secret_v1.auth["beersystem"].data["redis-password"])
    error_message = "Both copies of the auth Secret must hold the same password."
  }
  assert {
    condition     = nonsensitive(kubernetes_secret_v1.auth["redis"].data["redis-password"] == random_password.redis.result)
    error_message = "The auth Secret must hold the generated password."
  }
  assert {
    condition     = random_password.redis.special == false && random_password.redis.length >= 24
    error_message = "The password must be long and free of characters that need escaping in a redis:// URL."
  }
  assert {
    condition     = output.auth_secrets == { redis = { name = "redis-shared-auth", namespace = "redis", key = "redis-password" }, beersystem = { name = "redis-shared-auth", namespace = "beersystem", key = "redis-password" } }
    error_message = "The auth_secrets output must name both copies."
  }
}

run "release_is_redis_shared_in_namespace_redis" {
  command = plan

  assert {
    condition     = helm_release.redis_shared.name == "redis-shared"
    error_message = "FR-017a: the Helm release must be named redis-shared."
  }
  assert {
    condition     = helm_release.redis_shared.namespace == "redis" && kubernetes_namespace_v1.redis.metadata[0].name == "redis"
    error_message = "FR-001: the release must go into the namespace redis, which the module creates."
  }
  assert {
    condition     = helm_release.redis_shared.chart == "redis" && helm_release.redis_shared.version == "23.1.1" && helm_release.redis_shared.repository == "oci://registry-1.docker.io/bitnamicharts"
    error_message = "The release must use the pinned Bitnami redis chart 23.1.1."
  }
  assert {
    condition     = length(kubernetes_namespace_v1.beersystem) == 0
    error_message = "The beersystem namespace belongs to the application: not created by default."
  }
  assert {
    condition     = output.master_service_dns == "redis-shared-master.redis.svc.cluster.local" && output.replicas_service_dns == "redis-shared-replicas.redis.svc.cluster.local"
    error_message = "FR-017: the service DNS names must be redis-shared-master/-replicas.redis.svc.cluster.local."
  }
}

run "homelab_values_files_are_wired_in_order" {
  command = plan

  variables {
    extra_values_files = ["tests/fixtures/extra.yaml"]
  }

  assert {
    condition     = helm_release.redis_shared.values == tolist([file("../helm-values/base.yaml"), file("../helm-values/homelab.yaml"), file("tests/fixtures/extra.yaml")])
    error_message = "The release must get base.yaml, homelab.yaml and then the extra files, in that order."
  }
  assert {
    condition     = output.lan_load_balancer_ip == yamldecode(file("../helm-values/base.yaml")).lanService.loadBalancerIP
    error_message = "The lan_load_balancer_ip output must come from lanService in the values."
  }
}

run "kind_layering_with_a_local_chart" {
  command = plan

  variables {
    values_layering             = "kind"
    chart_path                  = "../fixtures/charts/redis-mini"
    create_beersystem_namespace = true
  }

  assert {
    condition     = helm_release.redis_shared.values == tolist([file("../helm-values/base.yaml"), file("../helm-values/kind.yaml")])
    error_message = "The kind layering must hand base.yaml and kind.yaml to the release."
  }
  assert {
    condition     = helm_release.redis_shared.chart == "../fixtures/charts/redis-mini" && helm_release.redis_shared.repository == null
    error_message = "chart_path must replace the repository chart."
  }
  assert {
    condition     = length(kubernetes_namespace_v1.beersystem) == 1 && kubernetes_namespace_v1.beersystem[0].metadata[0].name == "beersystem"
    error_message = "create_beersystem_namespace must create the beersystem namespace."
  }
}

run "load_balancer_ip_override_becomes_the_last_values_layer" {
  command = plan

  variables {
    lan_load_balancer_ip = "192.168.4.205"
  }

  assert {
    condition     = yamldecode(helm_release.redis_shared.values[length(helm_release.redis_shared.values) - 1]).lanService.loadBalancerIP == "192.168.4.205"
    error_message = "The override must reach the chart as the last values layer."
  }
  assert {
    condition     = output.lan_load_balancer_ip == "192.168.4.205" && output.lan_service.name == "redis-shared-lan"
    error_message = "The lan outputs must follow the override."
  }
}

run "dashboard_config_map_carries_the_sidecar_label" {
  command = plan

  assert {
    condition     = kubernetes_config_map_v1.dashboard[0].metadata[0].labels["grafana_dashboard"] == "1" && kubernetes_config_map_v1.dashboard[0].metadata[0].namespace == "monitoring"
    error_message = "The dashboard ConfigMap must carry grafana_dashboard: \"1\" in namespace monitoring."
  }
  assert {
    condition     = kubernetes_config_map_v1.dashboard[0].data["redis-shared.json"] == file("../helm-values/dashboards/redis-shared.json")
    error_message = "The dashboard ConfigMap must ship helm-values/dashboards/redis-shared.json."
  }
}

run "values_naming_another_secret_are_refused" {
  command = plan

  variables {
    extra_values_files = ["tests/fixtures/other-secret.yaml"]
  }

  expect_failures = [helm_release.redis_shared]
}

run "values_naming_another_key_are_refused" {
  command = plan

  variables {
    extra_values_files = ["tests/fixtures/other-key.yaml"]
  }

  expect_failures = [helm_release.redis_shared]
}

run "beersystem_namespace_equal_to_namespace_is_refused" {
  command = plan

  variables {
    beersystem_namespace = "redis"
  }

  expect_failures = [kubernetes_secret_v1.auth]
}
