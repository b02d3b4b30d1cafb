# shellcheck shell=bash
# Shared helpers for test/gateway/{up,down,link}: settings, address math, process checks, teardown.
# Sourced, never run. Every log line goes to stderr; stdout is reserved for up's KEY=VALUE lines.

GW_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly GW_DIR
readonly GW_MARKER=.gateway-csi-state
readonly GW_GANESHA_COMM=ganesha.nfsd

gw_log() {
    printf '%s gateway[%s]: %s\n' "$(date +%H:%M:%S)" "${GATEWAY_NAME:-?}" "$*" >&2
}

gw_die() {
    gw_log "error: $*"
    exit 1
}

# Milliseconds since the epoch.
gw_now_ms() {
    local s ns
    read -r s ns < <(date '+%s %N')
    printf '%d\n' $((s * 1000 + 10#$ns / 1000000))
}

gw_require() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || gw_die "'$tool' not found (install: $(gw_package_of "$tool"))"
    done
}

gw_package_of() {
    case $1 in
        ganesha.nfsd) echo "nfs-ganesha nfs-ganesha-vfs" ;;
        nfs-ls | nfs-cp) echo "libnfs-utils" ;;
        rpcbind) echo "rpcbind" ;;
        ip) echo "iproute2" ;;
        wireguard-go) echo "wireguard-go" ;;
        wg) echo "wireguard-tools" ;;
        *) echo "util-linux / coreutils" ;;
    esac
}

# Settings that name things: GATEWAY_NAME, GATEWAY_STATE_DIR and the paths derived from them.
# shellcheck disable=SC2034 # the GW_* names are used by the scripts that source this file
gw_init() {
    GATEWAY_NAME=${GATEWAY_NAME:-gwcsi}
    # Interface names are at most 15 bytes; "-h"/"-g" are appended.
    [[ $GATEWAY_NAME =~ ^[A-Za-z0-9][A-Za-z0-9_-]{0,12}$ ]] ||
        gw_die "GATEWAY_NAME '$GATEWAY_NAME' must be 1-13 characters of [A-Za-z0-9_-]"
    GATEWAY_STATE_DIR=${GATEWAY_STATE_DIR:-/tmp/gateway-csi-gateway/$GATEWAY_NAME}
    GATEWAY_STATE_DIR=${GATEWAY_STATE_DIR%/}
    gw_check_path GATEWAY_STATE_DIR "$GATEWAY_STATE_DIR"
    [[ $GATEWAY_STATE_DIR != / ]] || gw_die "GATEWAY_STATE_DIR must not be /"

    GW_NETNS=${GATEWAY_NAME}-ns
    GW_VETH_HOST=${GATEWAY_NAME}-h
    GW_VETH_GW=${GATEWAY_NAME}-g
    GW_CONF=$GATEWAY_STATE_DIR/ganesha.conf
    GW_PIDFILE=$GATEWAY_STATE_DIR/ganesha.pid
    GW_RPCBIND_PIDFILE=$GATEWAY_STATE_DIR/rpcbind.pid
    GW_LOG=$GATEWAY_STATE_DIR/ganesha.log
    GW_CONSOLE=$GATEWAY_STATE_DIR/ganesha.console
    GW_RECOVERY=$GATEWAY_STATE_DIR/recovery
    GW_ENV_FILE=$GATEWAY_STATE_DIR/gateway.env
    GW_INSTANCE_FILE=$GATEWAY_STATE_DIR/instance.env
    GW_DEFAULT_EXPORT=$GATEWAY_STATE_DIR/export
    # WireGuard mode: the tunnel interface inside the namespace, wireguard-go's pid file, the key files.
    GW_WG_IF=${GATEWAY_NAME}-w
    GW_WG_PIDFILE=$GATEWAY_STATE_DIR/wireguard-go.pid
    GW_WG_LOG=$GATEWAY_STATE_DIR/wireguard-go.log
    GW_WG_KEY=$GATEWAY_STATE_DIR/gateway.key
    GW_WG_CLIENT_KEY=$GATEWAY_STATE_DIR/client.key
    GW_WG_PSK=$GATEWAY_STATE_DIR/preshared.key
    GW_WG_CLIENT2_KEY=$GATEWAY_STATE_DIR/client2.key
}

# Absolute, and safe to put inside a double-quoted ganesha config string.
gw_check_path() {
    local what=$1 path=$2
    [[ $path == /* ]] || gw_die "$what '$path' must be an absolute path"
    [[ $path != *[\"$'\n'\\]* ]] || gw_die "$what '$path' must not contain quotes, backslashes or newlines"
}

# Settings that shape the network and the export. Sets GW_NET, GW_PREFIX, GW_HOST_ADDR, GW_ADDR.
# shellcheck disable=SC2034 # the GW_* names are used by the scripts that source this file
gw_init_network() {
    GATEWAY_SUBNET=${GATEWAY_SUBNET:-10.213.7.0/30}
    GATEWAY_SHARE=${GATEWAY_SHARE:-/export}
    GATEWAY_NFS_V3=${GATEWAY_NFS_V3:-0}
    [[ $GATEWAY_NFS_V3 == 0 || $GATEWAY_NFS_V3 == 1 ]] || gw_die "GATEWAY_NFS_V3 must be 0 or 1"
    GATEWAY_LEASE_LIFETIME=${GATEWAY_LEASE_LIFETIME:-60}
    [[ $GATEWAY_LEASE_LIFETIME =~ ^[0-9]{1,3}$ ]] && ((GATEWAY_LEASE_LIFETIME >= 1 && GATEWAY_LEASE_LIFETIME <= 180)) ||
        gw_die "GATEWAY_LEASE_LIFETIME must be 1..180 seconds"
    [[ $GATEWAY_SHARE =~ ^/[A-Za-z0-9._/-]*$ && $GATEWAY_SHARE != *//* ]] ||
        gw_die "GATEWAY_SHARE '$GATEWAY_SHARE' must be an absolute path of [A-Za-z0-9._/-]"
    [[ $GATEWAY_SHARE == / ]] || GATEWAY_SHARE=${GATEWAY_SHARE%/}
    [[ $GATEWAY_SHARE != / ]] || gw_die "GATEWAY_SHARE must not be / (the NFSv4 pseudo root)"

    local addr=${GATEWAY_SUBNET%/*} prefix=${GATEWAY_SUBNET#*/}
    if ! [[ $GATEWAY_SUBNET == */* && $prefix =~ ^[0-9]{1,2}$ ]] || ((prefix < 8 || prefix > 30)); then
        gw_die "GATEWAY_SUBNET '$GATEWAY_SUBNET' must be an IPv4 CIDR with a prefix of /8 to /30"
    fi
    local ip mask net
    ip=$(gw_ip_to_int "$addr") || gw_die "GATEWAY_SUBNET '$GATEWAY_SUBNET': bad IPv4 address"
    mask=$(((0xffffffff << (32 - prefix)) & 0xffffffff))
    net=$((ip & mask))
    GW_PREFIX=$prefix
    GW_NET=$(gw_int_to_ip "$net")
    GW_HOST_ADDR=$(gw_int_to_ip $((net + 1)))
    GW_ADDR=$(gw_int_to_ip $((net + 2)))
    GATEWAY_SUBNET=$GW_NET/$GW_PREFIX

    # WireGuard mode: NFS only inside a tunnel whose gateway end is .1 and client end .2 of the /30.
    GATEWAY_WIREGUARD=${GATEWAY_WIREGUARD:-0}
    [[ $GATEWAY_WIREGUARD == 0 || $GATEWAY_WIREGUARD == 1 ]] || gw_die "GATEWAY_WIREGUARD must be 0 or 1"
    GATEWAY_WIREGUARD_SUBNET=${GATEWAY_WIREGUARD_SUBNET:-10.213.200.0/30}
    GATEWAY_WIREGUARD_PORT=${GATEWAY_WIREGUARD_PORT:-51820}
    GATEWAY_WIREGUARD_PSK=${GATEWAY_WIREGUARD_PSK:-0}
    GATEWAY_WIREGUARD_CLIENTS=${GATEWAY_WIREGUARD_CLIENTS:-1}
    [[ $GATEWAY_WIREGUARD_CLIENTS == 1 || $GATEWAY_WIREGUARD_CLIENTS == 2 ]] || gw_die "GATEWAY_WIREGUARD_CLIENTS must be 1 or 2"
    [[ $GATEWAY_WIREGUARD_PSK == 0 || $GATEWAY_WIREGUARD_PSK == 1 ]] || gw_die "GATEWAY_WIREGUARD_PSK must be 0 or 1"
    [[ $GATEWAY_WIREGUARD_PORT =~ ^[1-9][0-9]{0,4}$ ]] && ((GATEWAY_WIREGUARD_PORT <= 65535)) ||
        gw_die "GATEWAY_WIREGUARD_PORT must be a UDP port 1..65535"
    local wg_addr=${GATEWAY_WIREGUARD_SUBNET%/*} wg_net
    [[ $GATEWAY_WIREGUARD_SUBNET == */30 ]] || gw_die "GATEWAY_WIREGUARD_SUBNET must be an IPv4 /30"
    wg_net=$(gw_ip_to_int "$wg_addr") || gw_die "GATEWAY_WIREGUARD_SUBNET '$GATEWAY_WIREGUARD_SUBNET': bad IPv4 address"
    wg_net=$((wg_net & 0xfffffffc))
    GW_WG_ADDR=$(gw_int_to_ip $((wg_net + 1)))
    GW_WG_CLIENT_ADDR=$(gw_int_to_ip $((wg_net + 2)))
    # A second client (GATEWAY_WIREGUARD_CLIENTS=2, e.g. a controller in a namespace of its own): .3, a /32 on
    # a point-to-point tunnel, where the /30's broadcast address means nothing.
    GW_WG_CLIENT2_ADDR=$(gw_int_to_ip $((wg_net + 3)))
    GATEWAY_WIREGUARD_SUBNET=$(gw_int_to_ip "$wg_net")/30
    # The address NFS clients use: inside the tunnel in WireGuard mode, else the veth end.
    if [[ $GATEWAY_WIREGUARD == 1 ]]; then GW_NFS_ADDR=$GW_WG_ADDR; else GW_NFS_ADDR=$GW_ADDR; fi
}

gw_ip_to_int() {
    local a b c d
    [[ $1 =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] || return 1
    a=$((10#${BASH_REMATCH[1]})) b=$((10#${BASH_REMATCH[2]})) c=$((10#${BASH_REMATCH[3]})) d=$((10#${BASH_REMATCH[4]}))
    ((a < 256 && b < 256 && c < 256 && d < 256)) || return 1
    printf '%d\n' $(((a << 24) | (b << 16) | (c << 8) | d))
}

gw_int_to_ip() {
    printf '%d.%d.%d.%d\n' $((($1 >> 24) & 255)) $((($1 >> 16) & 255)) $((($1 >> 8) & 255)) $(($1 & 255))
}

# Fails if an IPv4 address on any host interface (other than our own veth end) overlaps our subnet.
gw_check_subnet_free() {
    local ours mask_ours line dev cidr ip prefix mask other
    ours=$(gw_ip_to_int "$GW_NET")
    while read -r _ dev _ cidr _; do
        [[ $dev != "$GW_VETH_HOST" ]] || continue
        ip=$(gw_ip_to_int "${cidr%/*}") || continue
        prefix=${cidr#*/}
        ((prefix < GW_PREFIX)) || prefix=$GW_PREFIX
        mask=$(((0xffffffff << (32 - prefix)) & 0xffffffff))
        other=$((ip & mask))
        mask_ours=$((ours & mask))
        if ((other == mask_ours)); then
            line="$dev has $cidr"
            gw_die "GATEWAY_SUBNET $GATEWAY_SUBNET overlaps an existing address ($line); give each gateway its own GATEWAY_SUBNET"
        fi
    done < <(ip -4 -o addr show)
}

# Serializes up/down for every gateway whose state dir shares a parent (flock on that directory).
gw_lock() {
    local parent
    parent=$(dirname "$GATEWAY_STATE_DIR")
    mkdir -p "$parent"
    exec {GW_LOCK_FD}<"$parent"
    flock -w "${GATEWAY_LOCK_TIMEOUT:-120}" "$GW_LOCK_FD" || gw_die "timed out waiting for the lock on $parent"
}

# Reads KEY from a KEY=VALUE file (no sourcing); prints nothing when absent.
gw_kv() {
    local file=$1 key=$2 line
    [[ -r $file ]] || return 0
    while IFS= read -r line; do
        if [[ $line == "$key="* ]]; then
            printf '%s\n' "${line#*=}"
            return 0
        fi
    done <"$file"
}

gw_read_pid() {
    local pid=""
    if [[ -r $1 ]]; then
        read -r pid <"$1" 2>/dev/null || true
    fi
    if [[ $pid =~ ^[1-9][0-9]*$ ]]; then
        printf '%s\n' "$pid"
    fi
}

gw_netns_exists() {
    [[ -e /run/netns/$GW_NETNS ]]
}

gw_link_exists() {
    ip link show dev "$1" >/dev/null 2>&1
}

# True while PID exists and is not a zombie.
gw_alive() {
    local pid=$1 stat
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]]
}

# True if PID is alive, its comm is EXPECTED_COMM, it lives in our network namespace (while that exists)
# and, for ganesha, its command line names our config file.
gw_verify_pid() {
    local pid=$1 expected=$2 comm arg found=0 ns_ours ns_pid
    [[ $pid =~ ^[1-9][0-9]*$ ]] || return 1
    gw_alive "$pid" || return 1
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
    [[ $comm == "$expected" ]] || return 1
    if gw_netns_exists; then
        ns_ours=$(stat -L -c '%d:%i' "/run/netns/$GW_NETNS" 2>/dev/null) || return 1
        ns_pid=$(stat -L -c '%d:%i' "/proc/$pid/ns/net" 2>/dev/null) || return 1
        [[ $ns_ours == "$ns_pid" ]] || return 1
    fi
    if [[ $expected == "$GW_GANESHA_COMM" ]]; then
        while IFS= read -r -d '' arg; do
            [[ $arg != "$GW_CONF" ]] || found=1
        done <"/proc/$pid/cmdline"
        ((found)) || return 1
    fi
    return 0
}

# Stops a verified process: SIGTERM, wait up to GATEWAY_STOP_TIMEOUT (10 s), re-verify, SIGKILL.
gw_stop_pid() {
    local pid=$1 comm=$2 what=$3 deadline
    gw_verify_pid "$pid" "$comm" || return 0
    gw_log "stopping $what (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$(($(gw_now_ms) + ${GATEWAY_STOP_TIMEOUT:-10} * 1000))
    while gw_alive "$pid" && (($(gw_now_ms) < deadline)); do
        sleep 0.1
    done
    if gw_verify_pid "$pid" "$comm"; then
        gw_log "$what (pid $pid) ignored SIGTERM; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        deadline=$(($(gw_now_ms) + 5000))
        while gw_alive "$pid" && (($(gw_now_ms) < deadline)); do
            sleep 0.1
        done
        ! gw_alive "$pid" || gw_die "$what (pid $pid) survived SIGKILL"
    fi
    # Orphans are reaped by PID 1, which on some machines takes a second or two; wait (bounded) so
    # that `pgrep` right after `down` shows no <defunct> entry.
    deadline=$(($(gw_now_ms) + 3000))
    while [[ -e /proc/$pid ]] && (($(gw_now_ms) < deadline)); do
        sleep 0.1
    done
}

# Stops processes, removes the veth pair and the namespace. MODE: all (also remove the state dir),
# keep-export (remove the state dir but keep a default export dir's data), keep-state (leave files).
gw_teardown() {
    local mode=$1 pid entry
    # Recorded PIDs first, then anything of ours still inside our namespace (verified the same way).
    gw_stop_pid "$(gw_read_pid "$GW_PIDFILE")" "$GW_GANESHA_COMM" ganesha
    gw_stop_pid "$(gw_kv "$GW_INSTANCE_FILE" GATEWAY_PID)" "$GW_GANESHA_COMM" ganesha
    if gw_netns_exists; then
        for pid in $(ip netns pids "$GW_NETNS" 2>/dev/null); do
            gw_stop_pid "$pid" "$GW_GANESHA_COMM" "stray ganesha"
        done
    fi
    gw_stop_pid "$(gw_read_pid "$GW_RPCBIND_PIDFILE")" rpcbind rpcbind
    gw_stop_pid "$(gw_read_pid "$GW_WG_PIDFILE")" wireguard-go wireguard-go
    if gw_netns_exists; then
        for pid in $(ip netns pids "$GW_NETNS" 2>/dev/null); do
            gw_stop_pid "$pid" rpcbind "stray rpcbind"
            gw_stop_pid "$pid" wireguard-go "stray wireguard-go"
        done
        pid=$(ip netns pids "$GW_NETNS" 2>/dev/null | tr '\n' ' ')
        [[ -z $pid ]] || gw_log "warning: processes not started by these scripts remain in $GW_NETNS: $pid"
    fi
    if gw_link_exists "$GW_VETH_HOST"; then
        gw_log "deleting veth $GW_VETH_HOST"
        ip link del dev "$GW_VETH_HOST"
    fi
    if gw_netns_exists; then
        gw_log "deleting netns $GW_NETNS"
        ip netns del "$GW_NETNS"
    fi

    [[ $mode != keep-state ]] || return 0
    [[ -d $GATEWAY_STATE_DIR ]] || return 0
    if [[ ! -e $GATEWAY_STATE_DIR/$GW_MARKER ]] && [[ -n $(ls -A "$GATEWAY_STATE_DIR") ]]; then
        gw_log "warning: $GATEWAY_STATE_DIR has no $GW_MARKER marker; not deleting it"
        return 0
    fi
    if [[ $mode == keep-export && -d $GW_DEFAULT_EXPORT ]]; then
        for entry in "$GATEWAY_STATE_DIR"/* "$GATEWAY_STATE_DIR"/.[!.]*; do
            [[ -e $entry || -L $entry ]] || continue
            [[ $entry == "$GW_DEFAULT_EXPORT" || $entry == "$GATEWAY_STATE_DIR/$GW_MARKER" ]] || rm -rf -- "$entry"
        done
        gw_log "kept export data in $GW_DEFAULT_EXPORT"
    else
        rm -rf -- "$GATEWAY_STATE_DIR"
    fi
}
