# shellcheck shell=bash
# Shared by test/e2e/{build,up,down,run}: pinned versions, the cache and the cluster's fixed places.
# Every version here is a fact that worked on this kind of machine (see README.md).

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_REPO=$(cd "$E2E_DIR/../.." && pwd)

# Kubernetes: the last minor whose kubelet still accepts cgroup v1 (with failCgroupV1: false).
K8S_VERSION=${K8S_VERSION:-v1.34.4}
# csi-provisioner, built from its Go module.
PROVISIONER_VERSION=${PROVISIONER_VERSION:-v6.3.0}

# Slow builds are cached by version, outside the repository, so a warm machine does not rebuild.
E2E_CACHE=${E2E_CACHE:-/var/cache/gateway-csi/e2e}
K8S_BIN=$E2E_CACHE/kubernetes-$K8S_VERSION
PROVISIONER_BIN=$E2E_CACHE/csi-provisioner-$PROVISIONER_VERSION

export PATH=$PATH:/usr/local/go/bin

e2e_log() { printf 'e2e: %s\n' "$*" >&2; }
e2e_die() {
    e2e_log "error: $*"
    exit 1
}

# The cluster's places. Everything the cluster writes lives below E2E_STATE, except kubelet's root (one e2e
# spec hard-codes /var/lib/kubelet), which up makes and down removes.
E2E_STATE=${E2E_STATE:-/var/lib/gateway-csi-e2e}
KUBELET_ROOT=/var/lib/kubelet
E2E_NODE=${E2E_NODE:-gateway-csi-e2e}
# Addresses: the node is the bridge's address (all cluster traffic stays on this machine); pods get
# addresses on the bridge; the API server listens on the `kubernetes` Service's ClusterIP (the first address
# of the Service range, put on the bridge), so in-cluster clients reach it without kube-proxy.
E2E_BRIDGE=${E2E_BRIDGE:-gwe2e0}
E2E_POD_SUBNET=${E2E_POD_SUBNET:-10.213.57.0/24}
E2E_NODE_IP=${E2E_NODE_IP:-10.213.57.1}
E2E_SERVICE_SUBNET=${E2E_SERVICE_SUBNET:-10.213.58.0/24}
E2E_API_IP=${E2E_API_IP:-10.213.58.1}
E2E_ETCD_PORT=${E2E_ETCD_PORT:-23790}
# Values kubelet insists on for these host sysctls: it gets them in its own mount namespace only.
E2E_KUBELET_SYSCTLS=(vm/overcommit_memory=1 kernel/panic=10 kernel/panic_on_oops=1)
# Directories at fixed host paths that the cluster creates even when told otherwise: kubelet and
# kube-controller-manager (flex volume dir, pod logs), containerd 1.6's shims (sockets, runc state) and its
# CNI library (result cache), containerd's pod network namespaces.
E2E_FIXED_DIRS=(/usr/libexec/kubernetes/kubelet-plugins/volume/exec /var/log/pods /var/log/containers
    /run/containerd /var/lib/cni /run/netns)
# The processes up starts, in start order; down stops them in reverse.
E2E_PROCESSES=(etcd containerd kube-apiserver kube-controller-manager kube-scheduler kubelet)

e2e_pid() { cat "$E2E_STATE/pids/$1" 2>/dev/null || true; }
e2e_alive() {
    local pid
    pid=$(e2e_pid "$1")
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null
}

# The host state that up must not change and down must restore: sysctls (less counters that move by
# themselves and per-interface entries of interfaces that come and go), iptables and ip6tables rules
# (without counters) and our bridge. Other users of the machine create and remove interfaces of their own
# meanwhile: per-interface sysctls are compared for all, default, lo and eth0 only.
e2e_host_snapshot() {
    sysctl -a 2>/dev/null | grep -Ev \
        '^(kernel\.random\.|fs\.(dentry-state|file-nr|inode-nr|inode-state|dentry-negative|quota\.)|kernel\.ns_last_pid|kernel\.pty\.nr|net\.netfilter\.nf_conntrack_count|net\.(ipv4|ipv6)\.(conf|neigh)\.[^.]+\.|fs\.binfmt_misc|kernel\.tainted|vm\.stat_refresh)'
    sysctl -a 2>/dev/null | grep -E '^net\.(ipv4|ipv6)\.(conf|neigh)\.(all|default|lo|eth0)\.' || true
    for save in iptables-save ip6tables-save; do
        command -v "$save" >/dev/null && "$save" 2>/dev/null | sed -e '/^#/d' -e 's/ \[[0-9]*:[0-9]*\]$//'
    done
    ip -o link show dev "$E2E_BRIDGE" 2>/dev/null | sed 's/ link\/.*//' || true
}
