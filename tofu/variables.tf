variable "namespace" {
  type        = string
  description = "Namespace the module creates for redis-shared (FR-001 names it \"redis\")."
  default     = "redis"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.namespace))
    error_message = "namespace must be a DNS-1123 label: lower-case letters, digits and '-', at most 63 characters."
  }
}

variable "beersystem_namespace" {
  type        = string
  description = "Namespace of the beersystem application that receives a copy of the auth Secret (FR-012a)."
  default     = "beersystem"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.beersystem_namespace))
    error_message = "beersystem_namespace must be a DNS-1123 label: lower-case letters, digits and '-', at most 63 characters."
  }
}

variable "create_beersystem_namespace" {
  type        = bool
  description = "Create the beersystem namespace. In the homelab it already exists and belongs to the application, so the default is false."
  default     = false

  validation {
    condition     = var.create_beersystem_namespace != null
    error_message = "create_beersystem_namespace must be true or false."
  }
}

variable "auth_secret_name" {
  type        = string
  description = "Name of the Secret holding the Redis password, written to both namespaces. The Helm values must name the same Secret in auth.existingSecret."
  default     = "redis-shared-auth"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", var.auth_secret_name))
    error_message = "auth_secret_name must be a DNS-1123 subdomain: lower-case letters, digits, '-' and '.', at most 253 characters."
  }
}

variable "auth_secret_key" {
  type        = string
  description = "Key of the password inside the auth Secret. The Helm values must name the same key in auth.existingSecretPasswordKey."
  default     = "redis-password"

  validation {
    condition     = can(regex("^[-._a-zA-Z0-9]{1,253}$", var.auth_secret_key))
    error_message = "auth_secret_key must be a valid Secret key: letters, digits, '-', '_' and '.', at most 253 characters."
  }
}

variable "password_length" {
  type        = number
  description = "Length of the generated Redis password (letters and digits only, so it needs no escaping in a redis:// URL)."
  default     = 32

  validation {
    condition     = var.password_length >= 24 && var.password_length <= 128 && floor(var.password_length) == var.password_length
    error_message = "password_length must be a whole number from 24 to 128."
  }
}

variable "chart_repository" {
  type        = string
  description = "Repository of the Bitnami redis chart: an oci:// registry path or an https:// Helm repository. Ignored when chart_path is set."
  default     = "oci://registry-1.docker.io/bitnamicharts"

  validation {
    condition     = can(regex("^(oci|https)://[^\\s]+$", var.chart_repository))
    error_message = "chart_repository must start with oci:// or https://."
  }
}

variable "chart_version" {
  type        = string
  description = "Pinned version of the Bitnami redis chart (the values are written for the 23.x line). Ignored when chart_path is set."
  default     = "23.1.1"

  validation {
    condition     = can(regex("^23\\.[0-9]+\\.[0-9]+$", var.chart_version))
    error_message = "chart_version must be an exact 23.x.y version of the Bitnami redis chart, such as 23.1.1."
  }
}

variable "chart_path" {
  type        = string
  description = "Local chart directory or .tgz to install instead of the repository chart (kind CI and tests). Relative paths are taken from the directory tofu runs in. Null uses chart_repository and chart_version."
  default     = null

  validation {
    condition     = var.chart_path == null ? true : length(trimspace(var.chart_path)) > 0
    error_message = "chart_path must be null or a non-empty path to a chart directory or .tgz."
  }
}

variable "helm_values_dir" {
  type        = string
  description = "Directory with the project's Helm values (base.yaml, homelab.yaml, kind.yaml, dashboards/). Null means the helm-values folder next to this module."
  default     = null

  validation {
    condition     = var.helm_values_dir == null ? true : fileexists("${var.helm_values_dir}/base.yaml")
    error_message = "helm_values_dir must contain base.yaml."
  }
}

variable "values_layering" {
  type        = string
  description = "Values overlay applied on top of base.yaml: homelab (MetalLB on the LAN) or kind (CI)."
  default     = "homelab"

  validation {
    condition     = contains(["homelab", "kind"], var.values_layering)
    error_message = "values_layering must be \"homelab\" or \"kind\"."
  }
}

variable "extra_values_files" {
  type        = list(string)
  description = "Further values files applied after the layering, in order (later files win)."
  default     = []

  validation {
    condition     = alltrue([for f in var.extra_values_files : fileexists(f)])
    error_message = "Every entry of extra_values_files must name an existing file."
  }
}

variable "lan_load_balancer_ip" {
  type        = string
  description = "Override of lanService.loadBalancerIP from the values files: the MetalLB address of the LAN Service. Null keeps the values files' choice."
  default     = null

  validation {
    condition     = var.lan_load_balancer_ip == null ? true : can(regex("^192\\.168\\.4\\.(20[0-9]|210)$", var.lan_load_balancer_ip))
    error_message = "lan_load_balancer_ip must be an address of the MetalLB pool, 192.168.4.200 to 192.168.4.210."
  }
}

variable "dashboard_enabled" {
  type        = bool
  description = "Ship the Grafana dashboard as a ConfigMap with the grafana_dashboard sidecar label."
  default     = true

  validation {
    condition     = var.dashboard_enabled != null
    error_message = "dashboard_enabled must be true or false."
  }
}

variable "dashboard_namespace" {
  type        = string
  description = "Namespace of the dashboard ConfigMap: where the Grafana sidecar looks for dashboards. It must exist already."
  default     = "monitoring"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.dashboard_namespace))
    error_message = "dashboard_namespace must be a DNS-1123 label: lower-case letters, digits and '-', at most 63 characters."
  }
}

variable "helm_timeout_seconds" {
  type        = number
  description = "How long helm waits for the release's pods to become ready."
  default     = 600

  validation {
    condition     = var.helm_timeout_seconds >= 60 && var.helm_timeout_seconds <= 3600
    error_message = "helm_timeout_seconds must be from 60 to 3600."
  }
}

variable "cluster_domain" {
  type        = string
  description = "Cluster DNS domain used to build the service DNS names in the outputs."
  default     = "cluster.local"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", var.cluster_domain))
    error_message = "cluster_domain must be a DNS domain such as cluster.local."
  }
}
