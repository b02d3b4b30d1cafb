{{/*
Names, labels, images and the paths every container must agree on.
*/}}

{{- define "gateway-csi.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's base name; resources append -controller, -node, … (kept short enough for that). */}}
{{- define "gateway-csi.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 48 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 48 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "gateway-csi.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "gateway-csi.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: gateway-csi
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "controller"). */}}
{{- define "gateway-csi.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gateway-csi.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* An image reference: (dict "root" $ "image" .Values.x.image "defaultTag" "…"). */}}
{{- define "gateway-csi.image" -}}
{{- $registry := .root.Values.imageRegistry | default .image.registry -}}
{{- $ref := .image.repository -}}
{{- if $registry -}}{{- $ref = printf "%s/%s" (trimSuffix "/" $registry) $ref -}}{{- end -}}
{{- if .image.digest -}}
{{- printf "%s@%s" $ref .image.digest -}}
{{- else -}}
{{- printf "%s:%s" $ref (.image.tag | default .defaultTag | required "an image tag is required") -}}
{{- end -}}
{{- end -}}

{{- define "gateway-csi.driverImage" -}}
{{- include "gateway-csi.image" (dict "root" . "image" .Values.image "defaultTag" .Chart.AppVersion) -}}
{{- end -}}

{{- define "gateway-csi.controllerServiceAccount" -}}
{{- printf "%s-controller" (include "gateway-csi.fullname" .) -}}
{{- end -}}

{{- define "gateway-csi.nodeServiceAccount" -}}
{{- printf "%s-node" (include "gateway-csi.fullname" .) -}}
{{- end -}}

{{/* --events of the controller and the node plugin: auto (on inside a cluster) or off. */}}
{{- define "gateway-csi.eventsFlag" -}}
--events={{ ternary "auto" "off" .Values.events.enabled }}
{{- end -}}

{{/* POD_NAME from the downward API: the controller names itself so in its events (source.host). */}}
{{- define "gateway-csi.podNameEnv" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
{{- end -}}

{{/*
Where the node plugin finds its service account token, as the kubelet would mount it with
automountServiceAccountToken (the path the in-cluster configuration of every Kubernetes client reads).
*/}}
{{- define "gateway-csi.tokenMount" -}}/var/run/secrets/kubernetes.io/serviceaccount{{- end -}}

{{/*
Sockets and paths. The controller's containers share /csi (an emptyDir); the node plugin and the registrar
share /csi too, there a hostPath: <kubeletDir>/plugins/<driverName>, so kubelet finds the node plugin at
<kubeletDir>/plugins/<driverName>/csi.sock. The node plugin and the mount helper share /run/gateway-csi (an
emptyDir of the node pod) for the helper's socket.
*/}}
{{- define "gateway-csi.csiSocketDir" -}}/csi{{- end -}}
{{- define "gateway-csi.csiSocket" -}}/csi/csi.sock{{- end -}}
{{- define "gateway-csi.pluginDir" -}}
{{- printf "%s/plugins/%s" .Values.kubeletDir .Values.driverName -}}
{{- end -}}
{{/* The node plugin's record of its staging mounts: on the host (per driver name), at the binary's default
path in the container. */}}
{{- define "gateway-csi.nodeStateDir" -}}
{{- printf "%s/node-state" (include "gateway-csi.pluginDir" .) -}}
{{- end -}}
{{- define "gateway-csi.nodeStateMount" -}}/var/lib/gateway-csi/node{{- end -}}
{{- define "gateway-csi.helperSocketDir" -}}/run/gateway-csi{{- end -}}
{{- define "gateway-csi.helperSocket" -}}/run/gateway-csi/mount-helper.sock{{- end -}}
{{/* Where kubelet puts staging paths of every CSI volume (…/kubernetes.io/csi/<driver>/<hash>/globalmount
since Kubernetes 1.24, …/kubernetes.io/csi/pv/<pv>/globalmount before). */}}
{{- define "gateway-csi.stagingDir" -}}
{{- printf "%s/plugins/kubernetes.io/csi" .Values.kubeletDir -}}
{{- end -}}

{{/* JVM settings of one role's container: (dict "heap" … "javaOptions" …). */}}
{{- define "gateway-csi.jvmEnv" -}}
- name: GATEWAY_CSI_HEAP
  value: {{ .heap | quote }}
{{- if .javaOptions }}
- name: GATEWAY_CSI_JAVA_OPTS
  value: {{ .javaOptions | quote }}
{{- end }}
{{- end -}}

{{/* Security context of sidecars: no privileges at all (they talk to a unix socket and the API server). */}}
{{- define "gateway-csi.restrictedContainer" -}}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}

{{/* timeoutSeconds of the liveness probes: the driver's own /healthz calls Probe with an 8 s deadline (room
for a busy node); the livenessprobe sidecar answers within its own 1 s default. */}}
{{- define "gateway-csi.livenessTimeout" -}}
timeoutSeconds: {{ eq .Values.livenessProbe.servedBy "driver" | ternary 10 3 }}
{{- end -}}

{{/* Checks of value combinations the schema cannot express. */}}
{{- define "gateway-csi.validate" -}}
{{- $metrics := .Values.metrics -}}
{{- if and $metrics.serviceMonitor.enabled (not $metrics.enabled) -}}
{{- fail "metrics.serviceMonitor.enabled needs metrics.enabled: without --metrics-address there is nothing to scrape" -}}
{{- end -}}
{{- if and $metrics.dashboard.enabled (not $metrics.enabled) -}}
{{- fail "metrics.dashboard.enabled needs metrics.enabled: without --metrics-address the dashboard stays empty" -}}
{{- end -}}
{{- if $metrics.enabled -}}
{{- /* The node pod uses the host network: its ports share the node's port space. */ -}}
{{- $hostPorts := dict (toString .Values.node.healthPort) "node.healthPort" -}}
{{- $named := list (list "metrics.ports.node" $metrics.ports.node) -}}
{{- if .Values.mountHelper.enabled -}}{{- $named = append $named (list "metrics.ports.mountHelper" $metrics.ports.mountHelper) -}}{{- end -}}
{{- range $named -}}
{{- $port := toString (index . 1) -}}
{{- if hasKey $hostPorts $port -}}
{{- fail (printf "%s (%s) is also %s: the node pod uses the host network, its ports must differ" (index . 0) $port (get $hostPorts $port)) -}}
{{- end -}}
{{- $_ := set $hostPorts $port (index . 0) -}}
{{- end -}}
{{- if eq (int $metrics.ports.controller) (int .Values.controller.healthPort) -}}
{{- fail (printf "metrics.ports.controller (%d) is also controller.healthPort: the ports must differ" (int $metrics.ports.controller)) -}}
{{- end -}}
{{- end -}}
{{- if and (gt (int .Values.controller.replicas) 1) (not .Values.controller.leaderElection.enabled) -}}
{{- fail "controller.replicas > 1 needs controller.leaderElection.enabled: several active sidecars would act on the same volumes" -}}
{{- end -}}
{{- range .Values.storageClasses -}}
{{- if and (not $.Values.mountHelper.enabled) (eq (.parameters.mountBackend | default "") "sidecar") -}}
{{- fail (printf "storageClasses %s: mountBackend sidecar needs mountHelper.enabled" .name) -}}
{{- end -}}
{{- if and .allowVolumeExpansion (not $.Values.resizer.enabled) -}}
{{- fail (printf "storageClasses %s: allowVolumeExpansion needs resizer.enabled" .name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
