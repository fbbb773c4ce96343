{{/* Name of the workload and prefix of everything else: the release name. */}}
{{- define "toolgate.fullname" -}}
{{- .Release.Name | trunc 48 | trimSuffix "-" -}}
{{- end -}}

{{- define "toolgate.selectorLabels" -}}
app.kubernetes.io/name: {{ .Values.agent.name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "toolgate.labels" -}}
{{ include "toolgate.selectorLabels" . }}
app.kubernetes.io/part-of: toolgate
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "toolgate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "toolgate.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "toolgate.image" -}}
{{- printf "%s:%s" .image.repository (default .chart.AppVersion .image.tag) -}}
{{- end -}}

{{/* The sidecar's PEM files: written by spiffe-helper, or the keys of a Secret. */}}
{{- define "toolgate.identityFiles" -}}
{{- $dir := .Values.identity.certDir -}}
{{- if eq .Values.identity.source "spiffe-helper" -}}
certificate: {{ printf "%s/svid.pem" $dir }}
key: {{ printf "%s/svid.key" $dir }}
bundle: {{ printf "%s/bundle.pem" $dir }}
{{- else if eq .Values.identity.source "secret" -}}
certificate: {{ printf "%s/%s" $dir .Values.identity.secret.certificateKey }}
key: {{ printf "%s/%s" $dir .Values.identity.secret.keyKey }}
bundle: {{ printf "%s/%s" $dir .Values.identity.secret.bundleKey }}
{{- else -}}
{{- fail (printf "identity.source: %q (expected: spiffe-helper or secret)" .Values.identity.source) -}}
{{- end -}}
{{- end -}}

{{/* toolgate.yaml (config/schema/sidecar.schema.json) as the sidecar reads it in the pod. */}}
{{- define "toolgate.config" -}}
# Rendered by the toolgate Helm chart. Mounted at /etc/toolgate/config/toolgate.yaml.
listener:
  address: {{ .Values.listener.address | quote }}
  port: {{ .Values.ports.agent | int }}
identity:
  source: files
{{ include "toolgate.identityFiles" . | indent 2 }}
{{- with .Values.limits }}
limits:
{{ toYaml . | indent 2 }}
{{- end }}
{{- with .Values.timeouts }}
timeouts:
{{ toYaml . | indent 2 }}
{{- end }}
{{- with .Values.access }}
access:
{{ toYaml . | indent 2 }}
{{- end }}
audit:
  file: {{ .Values.audit.file | quote }}
  queue: {{ .Values.audit.queue | int64 }}
  maxWait: {{ .Values.audit.maxWait | quote }}
  maxFileBytes: {{ .Values.audit.maxFileBytes | int64 }}
  maxFiles: {{ .Values.audit.maxFiles | int64 }}
  maxTotalBytes: {{ .Values.audit.maxTotalBytes | int64 }}
  stdout: {{ .Values.audit.stdout }}
tasks:
  journal: {{ .Values.tasks.journal | quote }}
routes:
  - ../routes/
policies:
  - ../policies/   # deny by default: only a README until policies: has documents
{{- end -}}

{{- define "toolgate.spiffeHelperConfig" -}}
# spiffe-helper: the sidecar's X.509-SVID from SPIRE's Workload API, renewed before it expires.
agent_address = {{ printf "%s/%s" .Values.identity.spiffeHelper.socketDir .Values.identity.spiffeHelper.socketName | quote }}
cert_dir = {{ .Values.identity.certDir | quote }}
svid_file_name = "svid.pem"
svid_key_file_name = "svid.key"
svid_bundle_file_name = "bundle.pem"
hint = {{ .Values.identity.spiffeHelper.hint | quote }}
daemon_mode = true
{{- end -}}
