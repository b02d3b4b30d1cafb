package io.gatewaycsi.common.testing;

import io.gatewaycsi.csi.v1.VolumeCapability;
import java.util.List;

/** Volume capabilities (CSI spec, "VolumeCapability") that tests across the modules ask for. */
public final class TestCapabilities {

    /** A mount volume, MULTI_NODE_MULTI_WRITER, no fs_type, no mount flags: what a ReadWriteMany claim asks. */
    public static final VolumeCapability RWX = mount(VolumeCapability.AccessMode.Mode.MULTI_NODE_MULTI_WRITER);

    private TestCapabilities() {
    }

    /** A mount volume with access mode {@code mode}, no fs_type and no mount flags. */
    public static VolumeCapability mount(VolumeCapability.AccessMode.Mode mode) {
        return VolumeCapability.newBuilder().setMount(VolumeCapability.MountVolume.getDefaultInstance())
                .setAccessMode(VolumeCapability.AccessMode.newBuilder().setMode(mode)).build();
    }

    /**
     * A capability of one of three kinds, for generated inputs: {@code kind} 0 is a block volume, 1 names no
     * access type at all, 2..5 a mount volume of {@code fsType} without flags, 6 and above one with
     * {@code flags} as its mount_flags.
     */
    public static VolumeCapability ofKind(VolumeCapability.AccessMode.Mode mode, List<String> flags, String fsType,
                                          int kind) {
        VolumeCapability.Builder capability = VolumeCapability.newBuilder()
                .setAccessMode(VolumeCapability.AccessMode.newBuilder().setMode(mode));
        if (kind == 0) {
            capability.setBlock(VolumeCapability.BlockVolume.getDefaultInstance());
        } else if (kind > 1) {
            capability.setMount(VolumeCapability.MountVolume.newBuilder().setFsType(fsType)
                    .addAllMountFlags(kind > 5 ? flags : List.of()));
        }
        return capability.build();
    }
}
