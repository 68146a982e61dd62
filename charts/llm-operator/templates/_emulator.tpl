{{/*
emulator.enabled: the SageMaker emulator with moto in a sidecar of the operator's pod
(a native sidecar: an init container that keeps running, started and answering before
the operator starts), on the pod's loopback only.
*/}}

{{/* "true" or empty; a release upgraded with --reuse-values from a chart without
emulator values has no .Values.emulator at all. */}}
{{- define "llm-operator.emulatorEnabled" -}}
{{- if (default dict .Values.emulator).enabled -}}true{{- end -}}
{{- end -}}

{{- define "llm-operator.emulatorUrl" -}}
http://127.0.0.1:{{ .Values.emulator.port }}
{{- end -}}

{{- define "llm-operator.motoUrl" -}}
http://127.0.0.1:{{ .Values.emulator.motoPort }}
{{- end -}}

{{/* The operator's AWS settings with the emulator: its endpoints and dummy credentials. */}}
{{- define "llm-operator.emulatorEnv" -}}
- name: AWS_ENDPOINT_URL_SAGEMAKER
  value: {{ include "llm-operator.emulatorUrl" . | quote }}
- name: AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME
  value: {{ include "llm-operator.emulatorUrl" . | quote }}
- name: AWS_ENDPOINT_URL_STS
  value: {{ include "llm-operator.motoUrl" . | quote }}
- name: AWS_ENDPOINT_URL_APPLICATION_AUTO_SCALING
  value: {{ include "llm-operator.motoUrl" . | quote }}
- name: AWS_ENDPOINT_URL_CLOUDWATCH
  value: {{ include "llm-operator.motoUrl" . | quote }}
# The emulator takes any credentials; these keep boto3 from looking for real ones.
- name: AWS_ACCESS_KEY_ID
  value: "emulator"
- name: AWS_SECRET_ACCESS_KEY
  value: "emulator"
- name: AWS_EC2_METADATA_DISABLED
  value: "true"
{{- end -}}

{{- define "llm-operator.emulatorContainer" -}}
- name: emulator
  image: {{ include "llm-operator.image" . | quote }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  restartPolicy: Always
  command: ["sagemaker-emulator"]
  args:
    - --host
    - 127.0.0.1
    - --port
    - {{ .Values.emulator.port | quote }}
    - --with-moto
    - --moto-port
    - {{ .Values.emulator.motoPort | quote }}
    - --delay
    - {{ .Values.emulator.delaySeconds | quote }}
  env:
    - name: AWS_REGION
      value: {{ .Values.aws.region | quote }}
  ports:
    - name: emulator
      containerPort: {{ .Values.emulator.port }}
      protocol: TCP
  # It listens on loopback only (kubectl port-forward reaches that; other pods do not),
  # where the kubelet's HTTP probes cannot: the probe asks from inside the container.
  startupProbe:
    exec:
      command:
        - python
        - -c
        - import urllib.request; urllib.request.urlopen({{ printf "%s/_emulator/health" (include "llm-operator.emulatorUrl" .) | squote }}, timeout=2)
    periodSeconds: 1
    failureThreshold: 60
  securityContext:
    runAsNonRoot: true
    runAsUser: {{ .Values.runAsUser }}
    runAsGroup: {{ .Values.runAsUser }}
    readOnlyRootFilesystem: true
    allowPrivilegeEscalation: false
    privileged: false
    capabilities:
      drop: ["ALL"]
    seccompProfile:
      type: RuntimeDefault
  resources:
    {{- toYaml .Values.emulator.resources | nindent 4 }}
  volumeMounts:
    - name: tmp
      mountPath: /tmp
{{- end -}}
