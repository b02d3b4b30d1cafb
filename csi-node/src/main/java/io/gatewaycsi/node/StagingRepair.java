package io.gatewaycsi.node;

import io.gatewaycsi.common.LogLine;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.logging.Logger;

/**
 * Restores a broken staging mount (its mount helper died: ENOTCONN; the gateway handle went stale: ESTALE):
 * the bind mounts of every target published from it are taken down, the staging mount is removed with the
 * backend that owned it and made again, and the targets are bound again with their read-only flag, so the
 * same target paths serve the volume again.
 */
final class StagingRepair {

    private static final Logger LOG = Logger.getLogger(StagingRepair.class.getName());

    private final Stager stager;
    private final Mounter mounter;
    private final Teardown teardown;

    StagingRepair(Stager stager, Mounter mounter, Teardown teardown) {
        this.stager = stager;
        this.mounter = mounter;
        this.teardown = teardown;
    }

    /** Whether the mount at {@code staging} answers (statvfs within the deadline, no broken-mount errno). */
    boolean healthy(Path staging) {
        try {
            mounter.statvfs(staging);
            return true;
        } catch (MountException e) {
            return !e.meansBrokenMount();
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Remounts {@code mount} in place of the broken staging mount {@code broken} and re-binds its targets.
     *
     * @return the number of targets bound again
     */
    int repair(NfsMountRequest mount, String mountBackend, MountEntry broken) throws IOException {
        List<MountEntry> targets = MountTable.read().bindMountsOf(broken).stream()
                .filter(t -> !t.mountPoint().startsWith(mount.stagingPath())).toList();
        LOG.warning(LogLine.event("repair").with("volume_id", mount.volumeId()).with("staging_path", mount.stagingPath())
                .with("backend", Stager.backendOf(broken.fsType())).with("targets", targets.size()).toString());
        for (MountEntry target : targets) {
            teardown.unmount(target.mountPoint());
        }
        stager.unstage(mount.stagingPath(), broken.fsType());
        stager.stage(mount, mountBackend);
        for (MountEntry target : targets) {
            mounter.bind(mount.stagingPath(), target.mountPoint(), target.readOnly());
        }
        LOG.info(LogLine.event("repaired").with("volume_id", mount.volumeId()).with("staging_path", mount.stagingPath())
                .with("targets", targets.size()).toString());
        return targets.size();
    }
}
