{{/* The chart's name. */}}
{{- define "targetsync.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The release's full name, the prefix of every object: the release name when it contains the
chart's name (release targetsync gives targetsync), else release-chart.
*/}}
{{- define "targetsync.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Selector labels: name and instance only, so two releases in one namespace never select each other's pods. */}}
{{- define "targetsync.selectorLabels" -}}
app.kubernetes.io/name: {{ include "targetsync.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "targetsync.labels" -}}
{{ include "targetsync.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/component: controller
app.kubernetes.io/part-of: targetsync
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* The ServiceAccount the RBAC binds: the chart's, or ingress-nginx's in sidecar mode. */}}
{{- define "targetsync.serviceAccountName" -}}
{{- if .Values.sidecar.enabled -}}
{{- required "sidecar.serviceAccountName is required in sidecar mode" .Values.sidecar.serviceAccountName -}}
{{- else if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "targetsync.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{/* The Lease's name. */}}
{{- define "targetsync.leaseName" -}}
{{- .Values.leaderElection.id | default (include "targetsync.fullname" .) -}}
{{- end -}}

{{/* The config ConfigMap's name. */}}
{{- define "targetsync.configName" -}}
{{- printf "%s-config" (include "targetsync.fullname" .) -}}
{{- end -}}

{{/* The image reference: repository, then @digest or :tag. */}}
{{- define "targetsync.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{/*
The --config file, in the format of targetsync.io/v1alpha1 Config: apiVersion and kind, the
cluster name, the other settings of .Values.config, then the bindings.
*/}}
{{- define "targetsync.config" -}}
{{- $reserved := list "apiVersion" "kind" "clusterName" "bindings" "config" "output" -}}
{{- range $k, $_ := .Values.config -}}
{{- if has $k $reserved -}}
{{- fail (printf "config.%s cannot be set there: use the chart's own value for it (clusterName, bindings)" $k) -}}
{{- end -}}
{{- end -}}
apiVersion: targetsync.io/v1alpha1
kind: Config
clusterName: {{ required "clusterName is required: the cluster's name, the value of the tag targetsync.io/cluster on what targetsync may change" .Values.clusterName | quote }}
{{- with .Values.config }}
{{ toYaml . }}
{{- end }}
{{- if .Values.bindings }}
bindings:
{{- toYaml .Values.bindings | nindent 2 }}
{{- else }}
bindings: []
{{- end }}
{{- end -}}

{{/*
A memory quantity (Ki, Mi, Gi, Ti, k, M, G, T or plain bytes) in bytes, as an integer string.
*/}}
{{- define "targetsync.bytes" -}}
{{- $q := toString . -}}
{{- $units := dict "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 "k" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 -}}
{{- $n := 0 -}}
{{- $matched := false -}}
{{- range $suffix, $mult := $units -}}
{{- if and (not $matched) (hasSuffix $suffix $q) (regexMatch "^[0-9]+$" (trimSuffix $suffix $q)) -}}
{{- $n = mul (int64 (trimSuffix $suffix $q)) $mult -}}
{{- $matched = true -}}
{{- end -}}
{{- end -}}
{{- if not $matched -}}
{{- if regexMatch "^[0-9]+$" $q -}}
{{- $n = int64 $q -}}
{{- else -}}
{{- fail (printf "resources.limits.memory %q: use an integer with Ki, Mi, Gi, Ti, k, M, G or T" $q) -}}
{{- end -}}
{{- end -}}
{{- $n -}}
{{- end -}}

{{/*
GOMAXPROCS: the CPU limit in whole cores, rounded down, at least 1 (500m: 1). Go's own default
rounds up and is at least 2: more threads than half a core pays for (BENCHMARKS.md measures
what one saves).
*/}}
{{- define "targetsync.goMaxProcs" -}}
{{- $q := toString . -}}
{{- $n := 0 -}}
{{- if regexMatch "^[0-9]+m$" $q -}}
{{- $n = div (int64 (trimSuffix "m" $q)) 1000 -}}
{{- else if regexMatch "^[0-9]+(\\.[0-9]+)?$" $q -}}
{{- $n = int64 (floor (float64 $q)) -}}
{{- else -}}
{{- fail (printf "resources.limits.cpu %q: use cores (2, 1.5) or millicores (500m)" $q) -}}
{{- end -}}
{{- max $n 1 -}}
{{- end -}}

{{/* GOMEMLIMIT: goMemLimitPercent of the memory limit, in MiB (rounded down). */}}
{{- define "targetsync.goMemLimit" -}}
{{- $bytes := include "targetsync.bytes" .Values.resources.limits.memory | int64 -}}
{{- printf "%dMiB" (div (mul $bytes (int64 .Values.goMemLimitPercent)) (mul 100 1048576)) -}}
{{- end -}}
