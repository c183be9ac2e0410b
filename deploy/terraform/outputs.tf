output "namespace" {
  value = kubernetes_namespace.emporium.metadata[0].name
}

output "release" {
  value = {
    name     = helm_release.emporium.name
    revision = helm_release.emporium.metadata[0].revision
    version  = helm_release.emporium.metadata[0].app_version
  }
}

output "url" {
  value = var.host == "" ? null : "${var.tls_secret_name == "" ? "http" : "https"}://${var.host}"
}
