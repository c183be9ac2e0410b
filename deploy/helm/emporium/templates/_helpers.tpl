{{/* The chart name, overridable. */}}
{{- define "emporium.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-qualified name used for every object; 63 characters at most (DNS label). */}}
{{- define "emporium.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "emporium.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "emporium.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels that select the release's pods; a component label (api, worker) narrows them. */}}
{{- define "emporium.selectorLabels" -}}
app.kubernetes.io/name: {{ include "emporium.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "emporium.image" -}}
{{ printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "emporium.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "emporium.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret holding DATABASE_URL and the other credentials. */}}
{{- define "emporium.secretName" -}}
{{- default (include "emporium.fullname" .) .Values.secret.existingSecret }}
{{- end }}

{{/* Settings from the ConfigMap, credentials from the Secret: the same in every Emporium pod. */}}
{{- define "emporium.envFrom" -}}
- configMapRef:
    name: {{ include "emporium.fullname" . }}
- secretRef:
    name: {{ include "emporium.secretName" . }}
{{- end }}

{{/* Pods roll when their configuration changes, not only when the image does. */}}
{{- define "emporium.configChecksum" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
checksum/secret: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}

{{/* A configured provider's URL, else the chart's sandbox Service, else nothing. */}}
{{- define "emporium.paymentsUrl" -}}
{{- if .Values.config.PAYMENTS_URL }}
{{- .Values.config.PAYMENTS_URL }}
{{- else if .Values.paymentsSandbox.enabled }}
{{- printf "http://%s-payments:4000" (include "emporium.fullname" .) }}
{{- end }}
{{- end }}
