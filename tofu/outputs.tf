output "release_name" {
  description = "Name of the Helm release."
  value       = helm_release.redis_shared.name
}

output "namespace" {
  description = "Namespace of the release."
  value       = helm_release.redis_shared.namespace
}

output "master_service_dns" {
  description = "Cluster DNS name of the master (read-write) Service (FR-017)."
  value       = "${local.release_name}-master.${var.namespace}.svc.${var.cluster_domain}"
}

output "replicas_service_dns" {
  description = "Cluster DNS name of the replicas (read-only) Service."
  value       = "${local.release_name}-replicas.${var.namespace}.svc.${var.cluster_domain}"
}

output "lan_service" {
  description = "The LAN LoadBalancer Service from lanService in the values (FR-004), or null when it is disabled."
  value = local.lan_enabled ? {
    name             = local.lan_service_name
    namespace        = var.namespace
    load_balancer_ip = local.lan_ip
  } : null
}

output "lan_load_balancer_ip" {
  description = "MetalLB address of the LAN Service, or null when it is disabled."
  value       = local.lan_enabled ? local.lan_ip : null
}

output "auth_secrets" {
  description = "The auth Secret copies by role (redis, beersystem): name, namespace and password key. The password itself is only in the Secrets."
  value = {
    for role, secret in kubernetes_secret_v1.auth : role => {
      name      = secret.metadata[0].name
      namespace = secret.metadata[0].namespace
      key       = var.auth_secret_key
    }
  }
}

output "dashboard_config_map" {
  description = "Name and namespace of the Grafana dashboard ConfigMap, or null when disabled."
  value = var.dashboard_enabled ? {
    name      = kubernetes_config_map_v1.dashboard[0].metadata[0].name
    namespace = kubernetes_config_map_v1.dashboard[0].metadata[0].namespace
  } : null
}

output "values_files" {
  description = "Values files handed to the release, in merge order."
  value       = local.values_files
}
