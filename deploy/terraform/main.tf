# Deploys the Emporium Helm chart (deploy/helm/emporium) into an existing Kubernetes cluster.
# The database, Redis and RabbitMQ are inputs: bring managed services (RDS, Memorystore,
# Amazon MQ, ...) from their own modules and pass their URLs in.
#
#   terraform init
#   terraform plan  -var-file=production.tfvars
#   terraform apply -var-file=production.tfvars

terraform {
  required_version = ">= 1.6"
  required_providers {
    helm = {
      source  = "hashicorp/helm"
      version = "~> 2.15"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 2.33"
    }
  }
}

provider "kubernetes" {
  config_path    = var.kubeconfig_path
  config_context = var.kube_context
}

provider "helm" {
  kubernetes {
    config_path    = var.kubeconfig_path
    config_context = var.kube_context
  }
}

resource "kubernetes_namespace" "emporium" {
  metadata {
    name = var.namespace
  }
}

# Credentials live in a Secret of their own, outside the chart's values and Helm's release
# history; the chart only references it (secret.existingSecret).
resource "kubernetes_secret" "emporium" {
  metadata {
    name      = "emporium-credentials"
    namespace = kubernetes_namespace.emporium.metadata[0].name
  }
  data = {
    DATABASE_URL            = var.database_url
    REDIS_URL               = var.redis_url
    AMQP_URL                = var.amqp_url
    EMPORIUM_ADMIN_EMAIL    = var.admin_email
    EMPORIUM_ADMIN_PASSWORD = var.admin_password
  }
}

resource "helm_release" "emporium" {
  name      = "emporium"
  namespace = kubernetes_namespace.emporium.metadata[0].name
  chart     = "${path.module}/../helm/emporium"
  # Wait for the migrate hook and for every new pod to be ready; roll back if they are not.
  wait            = true
  atomic          = true
  timeout         = 600
  cleanup_on_fail = true

  values = [yamlencode({
    image = {
      repository = var.image_repository
      tag        = var.image_tag
    }
    secret = {
      existingSecret = kubernetes_secret.emporium.metadata[0].name
    }
    config = {
      LOG_LEVEL         = var.log_level
      PAYMENTS_PROVIDER = var.payments_provider
      PAYMENTS_URL      = var.payments_url
      CORS_ORIGINS      = join(",", var.cors_origins)
    }
    api = {
      autoscaling = {
        enabled     = true
        minReplicas = var.api_min_replicas
        maxReplicas = var.api_max_replicas
      }
    }
    worker = {
      replicas = var.worker_replicas
    }
    ingress = {
      enabled   = var.host != ""
      className = var.ingress_class
      hosts     = [{ host = var.host, paths = [{ path = "/", pathType = "Prefix" }] }]
      tls       = var.tls_secret_name == "" ? [] : [{ secretName = var.tls_secret_name, hosts = [var.host] }]
    }
  })]
}
