{{/* Names, labels and the pieces every workload shares. */}}

{{- define "calories.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "calories.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else if contains (include "calories.name" .) .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "calories.name" .) | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* A workload's DNS name from its code name: orders_saga -> <fullname>-orders-saga */}}
{{- define "calories.component" -}}
{{- printf "%s-%s" (include "calories.fullname" .root) (.name | replace "_" "-") -}}
{{- end -}}

{{- define "calories.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "calories.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: calories
{{- end -}}

{{/* Selector labels of one workload: (dict "root" $ "name" "orders_saga") */}}
{{- define "calories.selectorLabels" -}}
app.kubernetes.io/name: {{ include "calories.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name | replace "_" "-" }}
{{- end -}}

{{- define "calories.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "calories.kafkaBootstrap" -}}
{{- printf "%s-kafka-bootstrap:9092" (include "calories.fullname" .) -}}
{{- end -}}

{{- define "calories.registryUrl" -}}
{{- printf "http://%s-registry:8080/apis/ccompat/v7" (include "calories.fullname" .) -}}
{{- end -}}

{{/* Database settings of one service: (dict "root" $ "database" "orders") */}}
{{- define "calories.databaseEnv" -}}
{{- $fullname := include "calories.fullname" .root -}}
{{- $upper := upper .database -}}
- name: CALORIES_{{ $upper }}_DB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $fullname }}-db-{{ .database }}
      key: password
- name: CALORIES_PG_HOST
  value: {{ $fullname }}-pg-{{ .database }}-rw
- name: CALORIES_PG_PORT
  value: "5432"
- name: CALORIES_{{ $upper }}_DATABASE_URL
  value: postgresql+psycopg://{{ .database }}:$(CALORIES_{{ $upper }}_DB_PASSWORD)@{{ $fullname }}-pg-{{ .database }}-rw:5432/{{ .database }}
{{- end -}}

{{/* An init container that waits until a service's database is at its Alembic head. */}}
{{- define "calories.waitForMigrations" -}}
- name: wait-for-migrations
  image: {{ include "calories.image" .root }}
  imagePullPolicy: {{ .root.Values.image.pullPolicy }}
  command: ["python", "/opt/calories/scripts/wait.py", "migrated", {{ .database | quote }}]
  env:
    {{- include "calories.commonEnv" .root | nindent 4 }}
    {{- include "calories.databaseEnv" . | nindent 4 }}
  resources:
    requests: {cpu: 10m, memory: 96Mi}
    limits: {cpu: 200m, memory: 192Mi}
  securityContext:
    {{- toYaml .root.Values.securityContext | nindent 4 }}
  volumeMounts:
    - {name: tmp, mountPath: /tmp}
{{- end -}}

{{/* Spread over nodes and zones when asked (production). */}}
{{- define "calories.spread" -}}
{{- if .root.Values.spread.enabled }}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: topology.kubernetes.io/zone
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "calories.selectorLabels" . | nindent 8 }}
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "calories.selectorLabels" . | nindent 8 }}
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              {{- include "calories.selectorLabels" . | nindent 14 }}
{{- end }}
{{- end -}}

{{/* Hook annotations of the migration and schema Jobs (values.yaml, migrations). */}}
{{- define "calories.migrationHook" -}}
{{- if or .Release.IsUpgrade .Values.migrations.hookOnInstall }}
helm.sh/hook: pre-install,pre-upgrade
helm.sh/hook-weight: "0"
helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
{{- end }}
{{- end -}}

{{/* The databases: one per API, plus the registry's storage. */}}
{{- define "calories.databases" -}}
{{- $dbs := keys .Values.apis | sortAlpha -}}
{{- toJson (append $dbs "registry") -}}
{{- end -}}

{{/* The settings every process reads (chassis/settings.py, chassis/service.py); no secret here.
     Inline rather than a ConfigMap, so that hook Jobs need nothing the release has not created yet. */}}
{{- define "calories.commonEnv" -}}
{{- $fullname := include "calories.fullname" . -}}
- {name: CALORIES_ENVIRONMENT, value: {{ .Values.environment | quote }}}
- {name: CALORIES_TOPIC_PREFIX, value: {{ .Values.topicPrefix | quote }}}
- {name: CALORIES_KAFKA_BOOTSTRAP, value: {{ include "calories.kafkaBootstrap" . | quote }}}
- {name: CALORIES_REGISTRY_URL, value: {{ include "calories.registryUrl" . | quote }}}
- {name: CALORIES_CONNECT_URL, value: {{ printf "http://%s-connect-api:8083" $fullname | quote }}}
- {name: CALORIES_AUTH_JWKS_URL, value: {{ printf "http://%s-auth/auth/.well-known/jwks.json" $fullname | quote }}}
- {name: CALORIES_FAUST_DATA_DIR, value: /var/lib/calories/faust}
{{- end -}}
