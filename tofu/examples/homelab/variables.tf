variable "kubeconfig_path" {
  type        = string
  description = "Path of the kubeconfig for the homelab cluster."
  default     = "~/.kube/config"

  validation {
    condition     = length(trimspace(var.kubeconfig_path)) > 0
    error_message = "kubeconfig_path must not be empty."
  }
}

variable "kubeconfig_context" {
  type        = string
  description = "Context in the kubeconfig to use; null uses the current context."
  default     = null

  validation {
    condition     = var.kubeconfig_context == null ? true : length(trimspace(var.kubeconfig_context)) > 0
    error_message = "kubeconfig_context must be null or a non-empty context name."
  }
}

variable "lan_load_balancer_ip" {
  type        = string
  description = "MetalLB address for the LAN Service; null keeps lanService.loadBalancerIP from helm-values."
  default     = null

  validation {
    condition     = var.lan_load_balancer_ip == null ? true : can(regex("^192\\.168\\.4\\.(20[0-9]|210)$", var.lan_load_balancer_ip))
    error_message = "lan_load_balancer_ip must be an address of the MetalLB pool, 192.168.4.200 to 192.168.4.210."
  }
}
