terraform {
  required_version = ">= 1.8.0"

  # Exact pins for a reproducible deployment; the module itself accepts any 3.x patch.
  required_providers {
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "3.2.1"
    }
    helm = {
      source  = "hashicorp/helm"
      version = "3.1.2"
    }
    random = {
      source  = "hashicorp/random"
      version = "3.9.0"
    }
  }
}
