package io.gatewaycsi.node;

import io.grpc.Status;
import java.util.List;
import java.util.Locale;

/**
 * Why a kernel NFS mount ({@code mount -t nfs4|nfs}, mount(8) and mount.nfs(8)) failed, classified from its
 * exit code and output (which {@link KernelBackend} runs in the C locale), and the CSI status code each class
 * maps to.
 */
public enum MountFailure {
    /**
     * This node cannot mount NFS in the kernel: no NFS client in the kernel ({@code No such device},
     * {@code unknown filesystem type}), no mount.nfs helper, mount(8) or setsid(1) missing, or not permitted
     * ({@code Operation not permitted}, {@code only root can}). The trigger for falling back to the mount
     * helper. FAILED_PRECONDITION.
     */
    NOT_AVAILABLE_ON_NODE(Status.Code.FAILED_PRECONDITION,
            "this node cannot mount NFS in the kernel",
            "with mountBackend=auto or mountBackend=sidecar the mount helper mounts the share in user space"
                    + " instead; to use the kernel, the node needs the nfs/nfsv4 kernel modules and nfs-common"
                    + " (mount.nfs) in the node plugin, which must run privileged"),
    /**
     * The gateway did not answer: connection refused, no route, timed out (also when the command ran past its
     * deadline), name not resolved. UNAVAILABLE.
     */
    GATEWAY_UNREACHABLE(Status.Code.UNAVAILABLE,
            "the NFS gateway could not be reached",
            "check that the StorageClass `server` resolves and is reachable from this node on TCP port 2049"
                    + " (and, for nfsVersion 3, the gateway's rpcbind on port 111)"),
    /**
     * The gateway answered and refused this node: {@code access denied by server} (on NFSv3 also the answer for
     * a directory that does not exist), {@code Permission denied} given by the server, or {@code Operation not
     * permitted} while this node is permitted to mount (the node plugin has CAP_SYS_ADMIN in the initial user
     * namespace: the EPERM came from the gateway, e.g. a security flavour it does not allow). PERMISSION_DENIED.
     */
    REFUSED_BY_GATEWAY(Status.Code.PERMISSION_DENIED,
            "the NFS gateway refused the mount",
            "check the gateway's export rules for this node's address (allowed clients, root squash) and the"
                    + " security flavours it allows (mount option `sec=`); on NFSv3 the gateway also answers"
                    + " \"access denied\" when the volume's directory does not exist: check the share and subDir"),
    /**
     * mount.nfs could not use the protocol ({@code Protocol not supported}, EPROTONOSUPPORT; {@code Protocol
     * error}, EPROTO): for NFSv3 on a node without {@code /etc/protocols} and {@code /etc/services} (Debian's
     * netbase) every mount fails so; {@code proto=rdma} where the node has no RDMA device or the gateway does
     * not serve NFS over RDMA fails with {@code Protocol error} (Linux 6.1, test/kernel). FAILED_PRECONDITION.
     */
    PROTOCOL_NOT_SUPPORTED(Status.Code.FAILED_PRECONDITION,
            "mount.nfs could not use the transport protocol",
            "NFSv3 mounts need /etc/protocols and /etc/services where the node plugin runs (Debian: the netbase"
                    + " package); if they are there, check that the gateway serves this nfsVersion over `proto`"),
    /** The gateway has no such export or directory ({@code No such file or directory}). NOT_FOUND. */
    EXPORT_NOT_FOUND(Status.Code.NOT_FOUND,
            "the gateway has no such export or directory",
            "check the StorageClass `share` and the volume's subDir; the directory may have been deleted"),
    /**
     * The options were refused ({@code an incorrect mount option was specified}, {@code Invalid argument},
     * unsupported NFS version). INVALID_ARGUMENT.
     */
    BAD_OPTIONS(Status.Code.INVALID_ARGUMENT,
            "the NFS mount options were refused",
            "check the StorageClass mountOptions and nfsVersion against nfs(5) and what the gateway serves"),
    /** Anything else. INTERNAL. */
    OTHER(Status.Code.INTERNAL,
            "the NFS mount failed",
            "see the mount output above and the node's kernel log");

    private record Rule(MountFailure failure, List<String> phrases) {
    }

    /** First match wins; phrases are matched in lower case. Order matters: "bad option … helper" is not BAD_OPTIONS. */
    private static final List<Rule> RULES = List.of(
            new Rule(REFUSED_BY_GATEWAY, List.of(
                    "access denied by server",                // "access denied by server while mounting …"
                    "reason given by server: permission denied")),
            new Rule(NOT_AVAILABLE_ON_NODE, List.of(
                    "failed to execute",                      // setsid(1): the mount command is missing
                    "helper program",                         // mount(8): "… you might need a /sbin/mount.<type> helper program"
                    "you might need a /sbin/mount.",
                    "no such device",                         // mount.nfs: the kernel has no nfs/nfs4 (ENODEV)
                    "unknown filesystem type",                // mount(8) -i or without a helper: ENODEV
                    "operation not permitted",                // EPERM: no CAP_SYS_ADMIN (unprivileged container)
                    "only root can",                          // mount(8) as non-root
                    "must be superuser",                      // mount(8) as non-root
                    "not installed setuid",                   // mount.nfs as non-root
                    "failed to apply fstab options",          // mount.nfs as non-root, no fstab entry
                    "rpc.statd is not running")),             // NFSv3 locking needs rpc.statd on the node
            new Rule(EXPORT_NOT_FOUND, List.of(
                    "no such file or directory")),            // "… failed, reason given by server: No such file or directory"
            new Rule(GATEWAY_UNREACHABLE, List.of(
                    "connection refused",
                    "no route to host",
                    "connection timed out",
                    "timed out",
                    "network is unreachable",
                    "host is down",
                    "connection reset",
                    "failed to resolve server",
                    "name or service not known",
                    "temporary failure in name resolution",
                    "unable to receive",
                    "port mapper failure")),
            new Rule(BAD_OPTIONS, List.of(
                    "incorrect mount option",                 // mount.nfs: EINVAL
                    "invalid argument",
                    "bad option",
                    "unrecognized mount option",
                    "requested nfs version or transport protocol is not supported")),
            new Rule(PROTOCOL_NOT_SUPPORTED, List.of(
                    "protocol not supported",
                    "protocol error")));                      // EPROTO: e.g. proto=rdma with no RDMA transport

    /** mount.nfs's words for a failed name lookup of the server (getaddrinfo(3): EAI_NONAME, EAI_AGAIN). */
    private static final List<String> NAME_NOT_RESOLVED = List.of("failed to resolve server",
            "name or service not known", "temporary failure in name resolution");

    private final Status.Code code;
    private final String summary;
    private final String fix;

    MountFailure(Status.Code code, String summary, String fix) {
        this.code = code;
        this.summary = summary;
        this.fix = fix;
    }

    /** The gRPC status code this failure maps to (CSI spec, NodeStageVolume errors). */
    public Status.Code code() {
        return code;
    }

    /** A one-line statement of the failure, e.g. {@code this node cannot mount NFS in the kernel}. */
    public String summary() {
        return summary;
    }

    /** What the operator can do about it. */
    public String fix() {
        return fix;
    }

    /**
     * Classifies a failed mount from its exit code and output (stderr, then stdout). mount(8) exits 32 for a
     * mount failure, 1 for a usage or permission problem; setsid(1) exits 127 or 126 when it cannot run the
     * command. With no telling text the exit code decides: 126/127 is NOT_AVAILABLE_ON_NODE, anything else OTHER.
     */
    public static MountFailure classify(int exitCode, String output) {
        return classify(exitCode, output, false);
    }

    /**
     * As {@link #classify(int, String)}, knowing whether this node is permitted to mount
     * ({@link MountPrivilege#permitted()}): when it is, {@code Operation not permitted} is the gateway's EPERM
     * ({@link #REFUSED_BY_GATEWAY}), not a node that may not mount ({@link #NOT_AVAILABLE_ON_NODE}).
     */
    public static MountFailure classify(int exitCode, String output, boolean nodeMayMount) {
        String text = output == null ? "" : output.toLowerCase(Locale.ROOT);
        if (nodeMayMount && text.contains("operation not permitted")) {
            return REFUSED_BY_GATEWAY;
        }
        for (Rule rule : RULES) {
            for (String phrase : rule.phrases()) {
                if (text.contains(phrase)) {
                    return rule.failure();
                }
            }
        }
        return exitCode == 126 || exitCode == 127 ? NOT_AVAILABLE_ON_NODE : OTHER;
    }

    /**
     * A fix more precise than {@link #fix()} for this command and output, or {@link #fix()}: {@code xprtsec}
     * refused (RPC-with-TLS needs Linux 6.5), {@code rpc.statd} missing (NFSv3 locking: start it or use
     * {@code nolock}), the server's name not resolved (DNS), {@code proto=rdma} without an RDMA transport.
     */
    public String fixFor(List<String> command, String output) {
        String text = output == null ? "" : output.toLowerCase(Locale.ROOT);
        if (text.contains("rpc.statd")) {
            return "NFSv3 locking needs rpc.statd running beside the node plugin: start it (nfs-common's"
                    + " rpc.statd), or add the mount option `nolock` to keep locks local to this node";
        }
        if (NAME_NOT_RESOLVED.stream().anyMatch(text::contains)) {
            return "the gateway's name did not resolve (DNS) where the node plugin runs: check the StorageClass"
                    + " `server` for a typo and that the name resolves in the node plugin's pod (`getent hosts"
                    + " <server>`; the chart's dnsPolicy ClusterFirstWithHostNet asks the cluster DNS, which forwards"
                    + " to the upstream resolvers), or give `server` as an IP address";
        }
        if (this == PROTOCOL_NOT_SUPPORTED && String.join(" ", command).matches("(?s).*\\bproto=rdma6?\\b.*")) {
            return "proto=rdma needs an RDMA NIC on the node (the rpcrdma kernel module and an RDMA device: `rdma"
                    + " link` lists none here, or the gateway is not reachable over it) and a gateway serving NFS over"
                    + " RDMA (port 20049); without them remove proto=rdma from the mount options (TCP is the default)";
        }
        if (this == BAD_OPTIONS && String.join(" ", command).contains("xprtsec=")) {
            return "encryptInTransit (mount option xprtsec=tls) needs Linux 6.5 or later with tlshd running on the"
                    + " node; this kernel refused it (`uname -r` on the node); " + fix;
        }
        return fix;
    }
}
