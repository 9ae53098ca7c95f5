terraform {
  # mock_provider in tofu test needs OpenTofu 1.8 or later.
  required_version = ">= 1.8.0"

  required_providers {
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 3.2"
    }
    # 3.x: the provider's kubernetes settings are a nested object (kubernetes = { ... }).
    helm = {
      source  = "hashicorp/helm"
      version = "~> 3.1"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.9"
    }
  }
}
