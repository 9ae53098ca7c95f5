# The homelab deployment: `tofu init && tofu apply` in this folder with a kubeconfig for
# the cluster. It creates the redis namespace, the auth Secret in redis and beersystem,
# the redis-shared release and the Grafana dashboard ConfigMap.

provider "kubernetes" {
  config_path    = pathexpand(var.kubeconfig_path)
  config_context = var.kubeconfig_context
}

provider "helm" {
  # helm provider 3.x: a nested object, not a block.
  kubernetes = {
    config_path    = pathexpand(var.kubeconfig_path)
    config_context = var.kubeconfig_context
  }
}

module "redis_shared" {
  source = "../.."

  values_layering      = "homelab"
  lan_load_balancer_ip = var.lan_load_balancer_ip
}
