{{/*
The chart's name, or nameOverride: the app.kubernetes.io/name label.
*/}}
{{- define "sluice.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The prefix of every object's name: the release name, or release-chart when
the release name does not hold the chart's; fullnameOverride replaces it.
Kept to 52 characters, so the Services' names (<fullname>-metrics,
<fullname>-webhook) fit the 63 of a DNS label.
*/}}
{{- define "sluice.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "sluice.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels every object carries.
*/}}
{{- define "sluice.labels" -}}
helm.sh/chart: {{ include "sluice.chart" . }}
{{ include "sluice.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Labels that select the manager's pods; they never change on upgrade.
*/}}
{{- define "sluice.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sluice.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The manager Deployments: "" for the main one, then one key per shard
(sharding.shards), as Flux's chart shards its controllers.
*/}}
{{- define "sluice.shardKeys" -}}
{{- toJson (prepend (default (list) .Values.sharding.shards) "") }}
{{- end }}

{{/*
The name of one manager Deployment and what belongs to it alone (its
metrics Service, its PodDisruptionBudget), from a dict of root and shard
(a key, or "" for the main Deployment). Kept to 52 characters as fullname.
*/}}
{{- define "sluice.shardFullname" -}}
{{- if .shard }}
{{- printf "%s-shard-%s" (include "sluice.fullname" .root) .shard | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- include "sluice.fullname" .root }}
{{- end }}
{{- end }}

{{/*
Labels that select one manager Deployment's pods, from a dict of root and
shard. The main Deployment's are selectorLabels, unchanged since before
shards; a shard's differ in app.kubernetes.io/name, so no Deployment's
selector takes another's pods.
*/}}
{{- define "sluice.podSelectorLabels" -}}
{{- if .shard }}
app.kubernetes.io/name: {{ include "sluice.name" .root | trunc 57 | trimSuffix "-" }}-shard
app.kubernetes.io/instance: {{ .root.Release.Name }}
sluice.dev/shard: {{ .shard | quote }}
{{- else }}
{{- include "sluice.selectorLabels" .root }}
{{- end }}
{{- end }}

{{/*
The manager's service account. One the chart does not create must be
named: binding the manager's roles to the namespace's "default" account
would hand them to every pod there.
*/}}
{{- define "sluice.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "sluice.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name: name the service account to use when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The manager's image: the tag defaults to the chart's appVersion.
*/}}
{{- define "sluice.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
The enabled controllers, comma-separated, in a fixed order: the value of
--controllers.
*/}}
{{- define "sluice.controllers" -}}
{{- $enabled := list }}
{{- range $name := list "rollout" "experiment" "analysisrun" "application" }}
{{- if index $.Values.controllers $name }}
{{- $enabled = append $enabled $name }}
{{- end }}
{{- end }}
{{- join "," $enabled }}
{{- end }}

{{/*
The metrics port: HTTPS with authentication when metrics.secure, else HTTP.
*/}}
{{- define "sluice.metricsPort" -}}
{{- if .Values.metrics.secure }}8443{{ else }}8080{{ end }}
{{- end }}

{{- define "sluice.metricsPortName" -}}
{{- if .Values.metrics.secure }}https{{ else }}http{{ end }}
{{- end }}

{{/*
The rules of one role that `make manifests` copied into files/rbac: the
document of the given kind in the given file. The chart never types a rule
itself, so what it grants is what config/rbac grants.
Takes (dict "root" $ "file" "rollout_role.yaml" "kind" "ClusterRole").
*/}}
{{- define "sluice.rulesFrom" -}}
{{- $path := printf "files/rbac/%s" .file }}
{{- $content := .root.Files.Get $path }}
{{- if not $content }}
{{- fail (printf "%s is missing: run make manifests" $path) }}
{{- end }}
{{- $rules := "" }}
{{- range $doc := regexSplit "(?m)^---[ \t]*$" $content -1 }}
{{- $obj := fromYaml $doc }}
{{- if and $obj (eq (get $obj "kind") $.kind) }}
{{- $rules = toYaml $obj.rules }}
{{- end }}
{{- end }}
{{- if not $rules }}
{{- fail (printf "%s holds no %s" $path .kind) }}
{{- end }}
{{- $rules }}
{{- end }}

{{/*
A role and its binding to the manager's service account: a ClusterRole and
ClusterRoleBinding, or with "namespaced" a Role and RoleBinding in the
release namespace.
Takes (dict "root" $ "suffix" "rollout" "file" "rollout_role.yaml"
"kind" "ClusterRole" "namespaced" true).
*/}}
{{- define "sluice.boundRole" -}}
{{- $root := .root }}
{{- $name := printf "%s-%s" (include "sluice.fullname" $root) .suffix }}
{{- $kind := ternary "Role" "ClusterRole" .namespaced }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: {{ $kind }}
metadata:
  name: {{ $name }}
  {{- if .namespaced }}
  namespace: {{ $root.Release.Namespace }}
  {{- end }}
  labels:
    {{- include "sluice.labels" $root | nindent 4 }}
rules:
{{ include "sluice.rulesFrom" (dict "root" $root "file" .file "kind" .kind) }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: {{ $kind }}Binding
metadata:
  name: {{ $name }}
  {{- if .namespaced }}
  namespace: {{ $root.Release.Namespace }}
  {{- end }}
  labels:
    {{- include "sluice.labels" $root | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: {{ $kind }}
  name: {{ $name }}
subjects:
- kind: ServiceAccount
  name: {{ include "sluice.serviceAccountName" $root }}
  namespace: {{ $root.Release.Namespace }}
{{- end }}

{{/*
flux.serve as --flux takes it: YAML reads an unquoted on or off as a
boolean, so true and false count as on and off.
*/}}
{{- define "sluice.fluxServe" -}}
{{- $serve := toString .Values.flux.serve }}
{{- if eq $serve "true" }}on{{ else if eq $serve "false" }}off{{ else }}{{ $serve }}{{ end }}
{{- end }}
