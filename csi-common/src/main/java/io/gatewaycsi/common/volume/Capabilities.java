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

    /** Whether {@code capability}'s access mode lets no one write (the mount should be read-only). */
    public static boolean isReadOnly(VolumeCapability capability) {
        return switch (capability.getAccessMode().getMode()) {
            case SINGLE_NODE_READER_ONLY, MULTI_NODE_READER_ONLY -> true;
            default -> false;
        };
    }
}
