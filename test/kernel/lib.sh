# shellcheck shell=bash
# Shared by test/kernel/{image,up,exec,down,run}: settings, names, logging. Sourced, never run.
# Every log line goes to stderr; stdout is reserved for up's KEY=VALUE lines and exec's command output.

KV_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KV_REPO=$(cd "$KV_DIR/../.." && pwd)
readonly KV_DIR KV_REPO

kv_log() { printf '%s kernel[%s]: %s\n' "$(date +%H:%M:%S)" "${GATEWAY_NAME:-?}" "$*" >&2; }
kv_die() { kv_log "error: $*"; exit 1; }

kv_now_ms() {
    local s ns
    read -r s ns < <(date '+%s %N')
    printf '%d\n' $((s * 1000 + 10#$ns / 1000000))
}

# Names and paths of one VM, keyed by the gateway it is networked to (one VM per gateway).
# shellcheck disable=SC2034 # used by the scripts that source this file
kv_init() {
    GATEWAY_NAME=${GATEWAY_NAME:-gwcsi}
    [[ $GATEWAY_NAME =~ ^[A-Za-z0-9][A-Za-z0-9_-]{0,12}$ ]] ||
        kv_die "GATEWAY_NAME '$GATEWAY_NAME' must be 1-13 characters of [A-Za-z0-9_-]"
    KERNEL_CACHE_DIR=${KERNEL_CACHE_DIR:-/var/cache/gateway-csi/kernel}
    KERNEL_STATE_DIR=${KERNEL_STATE_DIR:-/var/tmp/gateway-csi-kernel/$GATEWAY_NAME}
    # The guest's second NIC and its peer (a tap whose host end lives in the gateway's namespace): an
    # address pair that exists only in that namespace and in the guest, never on the host.
    KERNEL_LINK_SUBNET=${KERNEL_LINK_SUBNET:-172.31.213.0/30}
    KERNEL_MEMORY=${KERNEL_MEMORY:-2560}
    KV_TAP=${GATEWAY_NAME}-t
    KV_PIDFILE=$KERNEL_STATE_DIR/qemu.pid
    KV_ENV_FILE=$KERNEL_STATE_DIR/kernel.env
    KV_CONSOLE=$KERNEL_STATE_DIR/console.log
    KV_SSH_CONTROL=$KERNEL_STATE_DIR/ssh.control
    KV_GW_NETNS=${GATEWAY_NAME}-ns
    KV_SLIRP_MAC=52:54:00:6b:00:01
    KV_TAP_MAC=52:54:00:6b:00:02
}

# Reads KEY from a KEY=VALUE file (empty when missing).
kv_kv() { [[ -f $1 ]] && sed -n "s/^$2=//p" "$1" | tail -n 1 || true; }

# Is PID a live qemu started by us (its command line names our pidfile)?
kv_is_our_qemu() {
    local pid=$1
    [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 1
    tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qxF "$KV_PIDFILE"
}

# The ssh command line for the running VM (needs KV_ENV_FILE).
kv_ssh_args() {
    local port key
    port=$(kv_kv "$KV_ENV_FILE" KERNEL_SSH_PORT)
    key=$(kv_kv "$KV_ENV_FILE" KERNEL_SSH_KEY)
    [[ -n $port && -n $key ]] || kv_die "no VM is up for gateway $GATEWAY_NAME (no $KV_ENV_FILE; run test/kernel/up)"
    # One ssh connection shared by every call (test/kernel/up starts it): a new key exchange costs seconds
    # under emulation. Without the master, ssh connects on its own.
    KV_SSH=(ssh -q -i "$key" -p "$port" -o BatchMode=yes -o StrictHostKeyChecking=no
        -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10
        -o ServerAliveInterval=15 -o ServerAliveCountMax=8 -o ControlMaster=no -o "ControlPath=$KV_SSH_CONTROL"
        root@127.0.0.1)
}

# Starts the shared ssh connection (a background ssh -M, its stdio closed) unless it is running.
kv_ssh_master() {
    kv_ssh_args
    ssh -O check "${KV_SSH[@]:1}" >/dev/null 2>&1 && return 0
    rm -f "$KV_SSH_CONTROL"
    # ssh takes the first value given for an option: ControlMaster=yes overrides KV_SSH's =no.
    ssh -o ControlMaster=yes -o ControlPersist=yes -f -N "${KV_SSH[@]:1}" </dev/null >/dev/null 2>&1
}

# Stops the shared ssh connection.
kv_ssh_master_stop() {
    [[ -S $KV_SSH_CONTROL ]] || return 0
    ssh -q -o "ControlPath=$KV_SSH_CONTROL" -O exit root@127.0.0.1 >/dev/null 2>&1 || true
    rm -f "$KV_SSH_CONTROL"
}
