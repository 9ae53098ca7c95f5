# The nightly kind + MetalLB CI deployment: the kind layering, and a beersystem namespace
# created here because a fresh kind cluster has none.

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

  values_layering             = "kind"
  chart_path                  = var.chart_path
  create_beersystem_namespace = true
  dashboard_enabled           = var.dashboard_enabled
}
