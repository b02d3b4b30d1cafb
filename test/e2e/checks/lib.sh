# shellcheck shell=bash
# Shared by the checks of test/e2e/run (run them through it: they need its environment — KUBECONFIG,
# NFS_EXPORT_DIR, RELEASE, NAMESPACE, DRIVER, E2E_RESULTS).
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
set -euo pipefail

BUSYBOX=localhost/gateway-csi-e2e/busybox:latest

kubectl() { "$K8S_BIN/kubectl" --request-timeout=60s "$@"; }
step() { e2e_log "== $*"; }
check() { e2e_log "   ok: $*"; }
fail() { e2e_die "$*"; }

# wait_until SECONDS DESCRIPTION COMMAND...: polls COMMAND every second. Its arguments are expanded once, by
# the caller: a condition on something that changes goes in a function, or in wait_until_true.
wait_until() {
    local seconds=$1 what=$2 i
    shift 2
    for ((i = 0; i < seconds; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 1
    done
    fail "timed out after ${seconds}s waiting for $what"
}

# wait_until_true SECONDS DESCRIPTION CONDITION: polls the shell CONDITION (evaluated anew each second).
wait_until_true() {
    local seconds=$1 what=$2 condition=$3 i
    for ((i = 0; i < seconds; i++)); do
        eval "$condition" >/dev/null 2>&1 && return 0
        sleep 1
    done
    fail "timed out after ${seconds}s waiting for $what"
}

# pod_phase NS POD
pod_phase() { kubectl -n "$1" get pod "$2" -o jsonpath='{.status.phase}' 2>/dev/null; }
phase_is() { [[ $(pod_phase "$1" "$2") == "$3" ]]; }
# wait_pod NS POD PHASE SECONDS: fails early when the pod reaches Failed (unless that is what is awaited).
wait_pod() {
    local ns=$1 pod=$2 phase=$3 seconds=$4 i now
    for ((i = 0; i < seconds; i++)); do
        now=$(pod_phase "$ns" "$pod")
        [[ $now == "$phase" ]] && return 0
        if [[ $now == Failed && $phase != Failed ]]; then
            kubectl -n "$ns" logs "$pod" >&2 || true
            fail "pod $ns/$pod failed (wanted $phase)"
        fi
        sleep 1
    done
    kubectl -n "$ns" describe pod "$pod" >&2 || true
    fail "pod $ns/$pod not $phase within ${seconds}s (it is ${now:-absent})"
}

# pvc NS NAME STORAGECLASS [ACCESS MODE]
pvc() {
    kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: $2, namespace: $1}
spec:
  accessModes: [${4:-ReadWriteMany}]
  storageClassName: "$3"
  resources: {requests: {storage: 1Gi}}
YAML
}

# pod NS NAME CLAIM READONLY SCRIPT: a busybox pod mounting CLAIM at /data, running SCRIPT once.
pod() {
    kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $2, namespace: $1}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
    - name: main
      image: $BUSYBOX
      imagePullPolicy: Never
      command: [/bin/sh, -c, $(printf '%s' "$5" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')]
      volumeMounts: [{name: data, mountPath: /data, readOnly: $4}]
  volumes:
    - name: data
      persistentVolumeClaim: {claimName: $3, readOnly: $4}
YAML
}

bound() { [[ $(kubectl -n "$1" get pvc "$2" -o jsonpath='{.status.phase}') == Bound ]]; }
pv_of() { kubectl -n "$1" get pvc "$2" -o jsonpath='{.spec.volumeName}'; }
gone() { ! kubectl get "$@" >/dev/null 2>&1; }
# Mounts of this driver's volumes on the host: staging (plugins/kubernetes.io/csi/<driver>/…) and publish
# (pods/<uid>/volumes/kubernetes.io~csi/<pv>/mount).
driver_mounts() { grep -E "/plugins/kubernetes.io/csi/$DRIVER/|/volumes/kubernetes.io~csi/" /proc/self/mountinfo || true; }
# no_driver_mounts SECONDS: waits for the driver's mounts to go; fails naming those left.
no_driver_mounts() {
    local i
    for ((i = 0; i < $1; i++)); do
        [[ -z $(driver_mounts) ]] && return 0
        sleep 1
    done
    fail "mounts left after ${1}s: $(driver_mounts | awk '{print $5, $9, $10}')"
}
