package io.gatewaycsi.common.volume;

import io.gatewaycsi.common.CsiException;
import io.gatewaycsi.csi.v1.VolumeCapability;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;

/**
 * Checks of CSI {@code VolumeCapability} values against what an NFS gateway volume can be: a file system
 * ({@code mount} access type, fs_type empty or nfs/nfs4) in any access mode. Block volumes are refused.
 */
public final class Capabilities {

    private static final Set<String> FS_TYPES = Set.of("", "nfs", "nfs4");

    private Capabilities() {
    }

    /**
     * Refuses a missing or unsupported capability list.
     *
     * @throws CsiException INVALID_ARGUMENT naming the first problem
     */
    public static void require(Collection<VolumeCapability> capabilities) {
        if (capabilities.isEmpty()) {
            throw CsiException.invalidArgument("volume_capabilities must not be empty");
        }
        capabilities.forEach(Capabilities::require);
    }

    /**
     * Refuses one missing or unsupported capability.
     *
     * @throws CsiException INVALID_ARGUMENT naming the problem
     */
    public static void require(VolumeCapability capability) {
        problem(capability).ifPresent(problem -> {
            throw CsiException.invalidArgument(problem);
        });
    }

    /** What makes {@code capability} unsupported, if anything. */
    public static java.util.Optional<String> problem(VolumeCapability capability) {
        if (capability.hasBlock()) {
            return java.util.Optional.of("block volumes are not supported: an NFS gateway serves file systems;"
                    + " use volumeMode: Filesystem");
        }
        if (!capability.hasMount()) {
            return java.util.Optional.of("volume_capability needs access_type mount");
        }
        String fsType = capability.getMount().getFsType();
        if (!FS_TYPES.contains(fsType)) {
            return java.util.Optional.of("fs_type `" + Values.printable(fsType)
                    + "` is not supported; leave it empty or use nfs");
        }
        VolumeCapability.AccessMode.Mode mode = capability.getAccessMode().getMode();
        if (mode == VolumeCapability.AccessMode.Mode.UNKNOWN || mode == VolumeCapability.AccessMode.Mode.UNRECOGNIZED) {
            return java.util.Optional.of("volume_capability needs an access_mode");
        }
        return java.util.Optional.empty();
    }

    /** The mount flags of every capability, in order. */
    public static List<String> mountFlags(Collection<VolumeCapability> capabilities) {
        List<String> flags = new ArrayList<>();
        for (VolumeCapability capability : capabilities) {
            flags.addAll(capability.getMount().getMountFlagsList());
        }
        return flags;
    }

    /**
     * Refuses the mount option {@code ro} (from the {@code mountOptions} parameter or the StorageClass
     * {@code mountOptions}, CSI {@code mount_flags}) under an access mode that lets pods write: the staging mount
     * would be read-only and every write would fail with EROFS, though the claim asked for a writable volume.
     * CreateVolume and NodeStageVolume check this (a static PersistentVolume reaches only the second).
     *
     * @throws CsiException INVALID_ARGUMENT naming the option, the access mode and the fix
     */
    public static void requireWritableIfWriter(VolumeCapability capability, MountOptions options) {
        if (options.has("ro") && !isReadOnly(capability)) {
            throw CsiException.invalidArgument("mount option `ro` makes the volume read-only, but its access mode "
                    + capability.getAccessMode().getMode() + " lets pods write (every write would fail with EROFS);"
                    + " for a read-only volume use accessModes [ReadOnlyMany] (CSI MULTI_NODE_READER_ONLY) or"
                    + " readOnly: true on the pod's volume, and remove `ro` from the StorageClass mountOptions and"
                    + " the mountOptions parameter");
        }
    }

    /** Whether {@code capability}'s access mode lets no one write (the mount should be read-only). */
    public static boolean isReadOnly(VolumeCapability capability) {
        return switch (capability.getAccessMode().getMode()) {
            case SINGLE_NODE_READER_ONLY, MULTI_NODE_READER_ONLY -> true;
            default -> false;
        };
    }
}
