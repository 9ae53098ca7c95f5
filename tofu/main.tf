locals {
  # FR-017a: the release name gives the services their required names
  # (redis-shared-master, redis-shared-replicas), so it is not a variable.
  release_name = "redis-shared"

  helm_values_dir = coalesce(var.helm_values_dir, "${path.module}/../helm-values")

  # Same order as `helm -f base.yaml -f <layering>.yaml -f extra...`: later files win.
  values_files = concat(
    [
      "${local.helm_values_dir}/base.yaml",
      "${local.helm_values_dir}/${var.values_layering}.yaml",
    ],
    var.extra_values_files,
  )

  # The module's own layer goes last and holds only what a variable overrides.
  module_values = var.lan_load_balancer_ip == null ? [] : [
    yamlencode({ lanService = { loadBalancerIP = var.lan_load_balancer_ip } }),
  ]

  values_documents = concat([for f in local.values_files : file(f)], local.module_values)

  # Decoded layers (a tuple: each layer has its own shape; an empty file is null), read
  # last-wins for the few facts the module must agree with. Broken YAML fails the plan.
  values_layers = [for doc in local.values_documents : yamldecode(doc)]

  values_auth_secret = [for layer in local.values_layers : try(layer.auth.existingSecret, null) if try(layer.auth.existingSecret, null) != null]
  values_auth_key    = [for layer in local.values_layers : try(layer.auth.existingSecretPasswordKey, null) if try(layer.auth.existingSecretPasswordKey, null) != null]
  values_lan_enabled = [for layer in local.values_layers : try(layer.lanService.enabled, null) if try(layer.lanService.enabled, null) != null]
  values_lan_name    = [for layer in local.values_layers : try(layer.lanService.name, null) if try(layer.lanService.name, null) != null]
  values_lan_ip      = [for layer in local.values_layers : try(layer.lanService.loadBalancerIP, null) if try(layer.lanService.loadBalancerIP, null) != null]

  chart_auth_secret = length(local.values_auth_secret) > 0 ? local.values_auth_secret[length(local.values_auth_secret) - 1] : null
  chart_auth_key    = length(local.values_auth_key) > 0 ? local.values_auth_key[length(local.values_auth_key) - 1] : null
  lan_enabled       = length(local.values_lan_enabled) > 0 ? local.values_lan_enabled[length(local.values_lan_enabled) - 1] : false
  lan_service_name  = length(local.values_lan_name) > 0 ? local.values_lan_name[length(local.values_lan_name) - 1] : "${local.release_name}-lan"
  lan_ip            = length(local.values_lan_ip) > 0 ? local.values_lan_ip[length(local.values_lan_ip) - 1] : null

  # FR-012 and FR-012a: one Secret per namespace, same name, same key, same password.
  secret_namespaces = {
    redis      = var.namespace
    beersystem = var.beersystem_namespace
  }

  common_labels = {
    "app.kubernetes.io/part-of"    = local.release_name
    "app.kubernetes.io/managed-by" = "opentofu"
  }
}

resource "kubernetes_namespace_v1" "redis" {
  metadata {
    name   = var.namespace
    labels = local.common_labels
  }
}

resource "kubernetes_namespace_v1" "beersystem" {
  count = var.create_beersystem_namespace ? 1 : 0

  metadata {
    name   = var.beersystem_namespace
    labels = local.common_labels
  }
}

resource "random_password" "redis" {
  length = var.password_length
  # Letters and digits only: the password goes into redis:// URLs and env vars unescaped.
  special     = false
  min_upper   = 4
  min_lower   = 4
  min_numeric = 4
}

resource "kubernetes_secret_v1" "auth" {
  for_each = local.secret_namespaces

  metadata {
    name      = var.auth_secret_name
    namespace = each.value
    labels    = local.common_labels
  }

  type = "Opaque"
  data = {
    (var.auth_secret_key) = random_password.redis.result
  }

  depends_on = [kubernetes_namespace_v1.redis, kubernetes_namespace_v1.beersystem]

  lifecycle {
    precondition {
      condition     = var.namespace != var.beersystem_namespace
      error_message = "beersystem_namespace must differ from namespace: the auth Secret is copied into a second namespace."
    }
  }
}

resource "helm_release" "redis_shared" {
  name      = local.release_name
  namespace = kubernetes_namespace_v1.redis.metadata[0].name

  repository = var.chart_path == null ? var.chart_repository : null
  chart      = var.chart_path == null ? "redis" : var.chart_path
  version    = var.chart_path == null ? var.chart_version : null

  values = local.values_documents

  wait        = true
  timeout     = var.helm_timeout_seconds
  max_history = 10

  # The chart reads the password from the Secret at pod start.
  depends_on = [kubernetes_secret_v1.auth]

  lifecycle {
    precondition {
      condition     = local.chart_auth_secret == var.auth_secret_name
      error_message = "The Helm values must set auth.existingSecret to the Secret this module writes (auth_secret_name)."
    }
    precondition {
      condition     = local.chart_auth_key == var.auth_secret_key
      error_message = "The Helm values must set auth.existingSecretPasswordKey to the key this module writes (auth_secret_key)."
    }
  }
}

resource "kubernetes_config_map_v1" "dashboard" {
  count = var.dashboard_enabled ? 1 : 0

  metadata {
    name      = "${local.release_name}-dashboard"
    namespace = var.dashboard_namespace
    # The Grafana sidecar loads every ConfigMap carrying this label.
    labels = merge(local.common_labels, { grafana_dashboard = "1" })
  }

  data = {
    "redis-shared.json" = file("${local.helm_values_dir}/dashboards/redis-shared.json")
  }
}
