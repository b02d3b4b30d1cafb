package io.gatewaycsi.cli;

import io.gatewaycsi.common.CsiChannels;
import io.gatewaycsi.common.Endpoint;
import io.gatewaycsi.mounthelper.v1.ListRequest;
import io.gatewaycsi.mounthelper.v1.MountHelperGrpc;
import io.gatewaycsi.mounthelper.v1.MountInfo;
import io.gatewaycsi.node.MountEntry;
import io.gatewaycsi.node.MountTable;
import io.gatewaycsi.node.SidecarBackend;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * What a staging mount is, for the lifecycle report: who mounted it (from /proc/self/mountinfo) and the NFS
 * options in force (the kernel's super options, or what the mount helper reports in List).
 */
record StagingMount(String backend, String fsType, String source, String options) {

    static StagingMount at(Path staging, Endpoint mountHelper) throws IOException {
        MountEntry entry = MountTable.read().topmost(staging)
                .orElseThrow(() -> new IOException("nothing is mounted at " + staging));
        if (!entry.fsType().equals(SidecarBackend.FS_TYPE)) {
            return new StagingMount("kernel NFS client", entry.fsType(), entry.source(),
                    String.join(",", entry.superOptions()));
        }
        return new StagingMount("mount helper (user-space NFS over FUSE)", entry.fsType(), entry.source(),
                helperOptions(staging, mountHelper));
    }

    private static String helperOptions(Path staging, Endpoint mountHelper) {
        ManagedChannel channel = CsiChannels.open(mountHelper);
        try {
            for (MountInfo mount : MountHelperGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .list(ListRequest.getDefaultInstance()).getMountsList()) {
                if (Path.of(mount.getStagingPath()).equals(staging)) {
                    return String.join(",", mount.getEffectiveOptionsList()) + " (NFSv"
                            + mount.getEffectiveNfsVersion() + ")";
                }
            }
            return "(the mount helper does not list this mount)";
        } catch (StatusRuntimeException e) {
            return "(the mount helper at " + mountHelper + " did not answer: " + e.getStatus().getCode() + ")";
        } finally {
            CsiChannels.close(channel);
        }
    }

    static boolean isMounted(Path path) throws IOException {
        return MountTable.read().isMountPoint(path);
    }
}
