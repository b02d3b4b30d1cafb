package io.gatewaycsi.node;

import java.util.List;
import java.util.Locale;

/**
 * Why a staging mount fell back from the kernel to the mount helper: the finer cause within
 * {@link MountFailure#NOT_AVAILABLE_ON_NODE}, read from the kernel mount's real output. Its {@link #label()} is
 * the {@code reason} label of {@code gatewaycsi_node_fallbacks_total} and appears in the fallback's log line and
 * Kubernetes Event.
 */
public enum FallbackReason {
    /** The kernel has no NFS client: mount.nfs says "No such device" (ENODEV), mount(8) "unknown filesystem type". */
    NO_KERNEL_NFS("the kernel has no NFS client (nfs/nfsv4 modules not loaded)",
            List.of("no such device", "unknown filesystem type")),
    /** No mount.nfs helper (nfs-common not installed), or mount(8)/setsid(1) could not be run. */
    NO_MOUNT_NFS("mount.nfs is not installed (nfs-common)",
            List.of("helper program", "you might need a /sbin/mount.", "failed to execute", "could not be started")),
    /** The node plugin may not mount: no CAP_SYS_ADMIN, not root, mount.nfs not setuid. */
    NOT_PERMITTED("the node plugin is not permitted to mount (not privileged)",
            List.of("operation not permitted", "only root can", "must be superuser", "not installed setuid",
                    "failed to apply fstab options")),
    /** NFSv3 locking needs rpc.statd, which is not running on the node. */
    NO_RPC_STATD("rpc.statd is not running (NFSv3 locking)", List.of("rpc.statd is not running")),
    /** Classified as not available on this node for another reason. */
    OTHER("the kernel NFS client is not usable on this node", List.of());

    private final String description;
    private final List<String> phrases;

    FallbackReason(String description, List<String> phrases) {
        this.description = description;
        this.phrases = phrases;
    }

    /** The metric label value: {@code no_kernel_nfs}, {@code no_mount_nfs}, {@code not_permitted}, … */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** A short sentence for logs and events, e.g. {@code the kernel has no NFS client (…)}. */
    public String description() {
        return description;
    }

    /** The reason of a {@link MountFailure#NOT_AVAILABLE_ON_NODE} failure. */
    public static FallbackReason of(KernelMountException e) {
        String text = (e.output() + "\n" + e.getMessage()).toLowerCase(Locale.ROOT);
        for (FallbackReason reason : values()) {
            for (String phrase : reason.phrases) {
                if (text.contains(phrase)) {
                    return reason;
                }
            }
        }
        return e.exitCode() == 126 || e.exitCode() == 127 ? NO_MOUNT_NFS : OTHER;
    }

    /** The reason whose {@link #label()} is {@code label}, or {@link #OTHER}. */
    public static FallbackReason ofLabel(String label) {
        for (FallbackReason reason : values()) {
            if (reason.label().equals(label)) {
                return reason;
            }
        }
        return OTHER;
    }
}
