output "master_service_dns" {
  description = "Where beersystem and other pods connect (read-write)."
  value       = module.redis_shared.master_service_dns
}

output "replicas_service_dns" {
  description = "Read-only replicas Service."
  value       = module.redis_shared.replicas_service_dns
}

output "lan_load_balancer_ip" {
  description = "Address LAN hosts connect to."
  value       = module.redis_shared.lan_load_balancer_ip
}

output "auth_secrets" {
  description = "Names and namespaces of the auth Secret copies."
  value       = module.redis_shared.auth_secrets
}
