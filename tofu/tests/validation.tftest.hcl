# Each variable's validation rejects a bad value with its own message.

mock_provider "kubernetes" {}
mock_provider "helm" {}
mock_provider "random" {}

run "chart_version_outside_23_is_rejected" {
  command = plan
  variables {
    chart_version = "22.3.0"
  }
  expect_failures = [var.chart_version]
}

run "chart_version_range_is_rejected" {
  command = plan
  variables {
    chart_version = "23.x"
  }
  expect_failures = [var.chart_version]
}

run "load_balancer_ip_outside_the_pool_is_rejected" {
  command = plan
  variables {
    lan_load_balancer_ip = "192.168.4.211"
  }
  expect_failures = [var.lan_load_balancer_ip]
}

run "load_balancer_ip_off_the_lan_is_rejected" {
  command = plan
  variables {
    lan_load_balancer_ip = "10.0.0.200"
  }
  expect_failures = [var.lan_load_balancer_ip]
}

run "unknown_layering_is_rejected" {
  command = plan
  variables {
    values_layering = "production"
  }
  expect_failures = [var.values_layering]
}

run "namespace_that_is_no_dns_label_is_rejected" {
  command = plan
  variables {
    namespace = "Redis_Shared"
  }
  expect_failures = [var.namespace]
}

run "beersystem_namespace_that_is_no_dns_label_is_rejected" {
  command = plan
  variables {
    beersystem_namespace = "-beersystem"
  }
  expect_failures = [var.beersystem_namespace]
}

run "short_password_is_rejected" {
  command = plan
  variables {
    password_length = 12
  }
  expect_failures = [var.password_length]
}

run "missing_extra_values_file_is_rejected" {
  command = plan
  variables {
    extra_values_files = ["tests/fixtures/does-not-exist.yaml"]
  }
  expect_failures = [var.extra_values_files]
}

run "plain_http_repository_is_rejected" {
  command = plan
  variables {
    chart_repository = "http://charts.bitnami.com/bitnami"
  }
  expect_failures = [var.chart_repository]
}

run "bad_secret_name_is_rejected" {
  command = plan
  variables {
    auth_secret_name = "Redis Auth"
  }
  expect_failures = [var.auth_secret_name]
}
