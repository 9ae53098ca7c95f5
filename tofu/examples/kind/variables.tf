variable "kubeconfig_path" {
  type        = string
  description = "Path of the kubeconfig for the kind cluster."
  default     = "~/.kube/config"

  validation {
    condition     = length(trimspace(var.kubeconfig_path)) > 0
    error_message = "kubeconfig_path must not be empty."
  }
}

variable "kubeconfig_context" {
  type        = string
  description = "Context of the kind cluster in the kubeconfig."
  default     = "kind-redis-shared"

  validation {
    condition     = var.kubeconfig_context == null ? true : length(trimspace(var.kubeconfig_context)) > 0
    error_message = "kubeconfig_context must be null or a non-empty context name."
  }
}

variable "chart_path" {
  type        = string
  description = "Local copy of the Bitnami redis chart (directory or .tgz); null pulls the pinned chart from the registry."
  default     = null

  validation {
    condition     = var.chart_path == null ? true : length(trimspace(var.chart_path)) > 0
    error_message = "chart_path must be null or a non-empty path to a chart directory or .tgz."
  }
}

variable "dashboard_enabled" {
  type        = bool
  description = "Ship the Grafana dashboard ConfigMap (needs the monitoring namespace)."
  default     = true

  validation {
    condition     = var.dashboard_enabled != null
    error_message = "dashboard_enabled must be true or false."
  }
}
