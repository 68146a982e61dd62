{{/* Names, labels and the values derived from several settings. */}}

{{- define "llm-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "llm-operator.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "llm-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "llm-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "llm-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "llm-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: sagemaker-llm-operator
{{- end -}}

{{- define "llm-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "llm-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "llm-operator.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* Peering runs only with more than one replica; one replica runs standalone. */}}
{{- define "llm-operator.peering" -}}
{{- if gt (int .Values.replicaCount) 1 -}}{{ .Values.peering.name }}{{- end -}}
{{- end -}}

{{- define "llm-operator.clusterWide" -}}
{{- if not .Values.watch.namespaces -}}true{{- end -}}
{{- end -}}

{{/* Rules the operator needs in every namespace it watches. */}}
{{- define "llm-operator.namespacedRules" -}}
- apiGroups: ["llmoperator.io"]
  resources: ["llmendpoints"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["llmoperator.io"]
  resources: ["llmendpoints/status"]
  verbs: ["get", "patch"]
- apiGroups: ["llmoperator.io"]
  resources: ["llmendpointpools"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["llmoperator.io"]
  resources: ["llmendpointpools/status"]
  verbs: ["get", "patch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get"]
{{- end -}}

{{/*
aws.namespaceRoles as the operator reads it: comma-separated namespace=roleArn, sorted.
*/}}
{{- define "llm-operator.namespaceRoles" -}}
{{- $pairs := list }}
{{- range $ns, $role := .Values.aws.namespaceRoles }}
{{- $pairs = append $pairs (printf "%s=%s" $ns $role) }}
{{- end }}
{{- join "," $pairs }}
{{- end }}
