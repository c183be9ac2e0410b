variable "kubeconfig_path" {
  type        = string
  description = "Path to the kubeconfig of the target cluster."
  default     = "~/.kube/config"
}

variable "kube_context" {
  type        = string
  description = "kubeconfig context to use; empty for the current one."
  default     = null
}

variable "namespace" {
  type    = string
  default = "emporium"
}

variable "image_repository" {
  type    = string
  default = "ghcr.io/emporium/emporium"
}

variable "image_tag" {
  type        = string
  description = "Image tag to deploy, e.g. the git commit built by CI. Never 'latest'."
}

variable "database_url" {
  type        = string
  description = "postgres://user:password@host:5432/emporium"
  sensitive   = true
}

variable "redis_url" {
  type      = string
  default   = ""
  sensitive = true
}

variable "amqp_url" {
  type      = string
  default   = ""
  sensitive = true
}

variable "payments_provider" {
  type        = string
  description = "The payment provider (PAYMENTS_PROVIDER): sandbox or stripe; production refuses to start without one. Stripe's keys go in the Secret."
  default     = "sandbox"
  validation {
    condition     = contains(["sandbox", "stripe"], var.payments_provider)
    error_message = "payments_provider must be sandbox or stripe."
  }
}

variable "payments_url" {
  type        = string
  description = "Base URL of the payment provider (or the sandbox)."
  default     = ""
}

variable "admin_email" {
  type    = string
  default = ""
}

variable "admin_password" {
  type      = string
  default   = ""
  sensitive = true
}

variable "log_level" {
  type    = string
  default = "info"
  validation {
    condition     = contains(["fatal", "error", "warn", "info", "debug", "trace", "silent"], var.log_level)
    error_message = "log_level must be one of fatal, error, warn, info, debug, trace, silent."
  }
}

variable "cors_origins" {
  type    = list(string)
  default = []
}

variable "api_min_replicas" {
  type    = number
  default = 2
  validation {
    condition     = var.api_min_replicas >= 2
    error_message = "Run at least two API replicas: one is a single point of failure."
  }
}

variable "api_max_replicas" {
  type    = number
  default = 10
}

variable "worker_replicas" {
  type    = number
  default = 1
}

variable "host" {
  type        = string
  description = "Public host name for the Ingress; empty for no Ingress."
  default     = ""
}

variable "ingress_class" {
  type    = string
  default = "nginx"
}

variable "tls_secret_name" {
  type    = string
  default = ""
}
