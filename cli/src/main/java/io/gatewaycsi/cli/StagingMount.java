package io.gatewaycsi.cli;

import io.gatewaycsi.node.MountEntry;
import io.gatewaycsi.node.MountTable;
import io.gatewaycsi.node.SidecarBackend;
import java.io.IOException;
import java.nio.file.Path;

/** What /proc/self/mountinfo says about a staging mount, for the lifecycle report. */
record StagingMount(String backend, String fsType, String source, String options) {

    static StagingMount at(Path staging) throws IOException {
        MountEntry entry = MountTable.read().topmost(staging)
                .orElseThrow(() -> new IOException("nothing is mounted at " + staging));
        String backend = entry.fsType().equals(SidecarBackend.FS_TYPE) ? "mount helper (user-space NFS over FUSE)"
                : "kernel NFS client";
        return new StagingMount(backend, entry.fsType(), entry.source(), String.join(",", entry.superOptions()));
    }

    static boolean isMounted(Path path) throws IOException {
        return MountTable.read().isMountPoint(path);
    }
}
