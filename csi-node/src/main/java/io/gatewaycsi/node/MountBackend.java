package io.gatewaycsi.node;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Who performs a volume's staging mount on this node (DESIGN §2, "mount backend"): the kernel
 * ({@link KernelBackend}, {@code mount -t nfs4} through mount.nfs) or the mount helper (the sidecar).
 * NodeStageVolume calls {@link #stage}, NodeUnstageVolume {@link #unstage}; both run under the caller's
 * per-volume lock, so a backend never sees two operations on one staging path at once.
 */
public interface MountBackend {

    /** The backend's name as in the {@code mountBackend} parameter: {@code kernel} or {@code sidecar}. */
    String name();

    /**
     * Mounts {@code request.source()} at {@code request.stagingPath()}. The caller has checked the mount table:
     * nothing is mounted there yet.
     *
     * @throws KernelMountException (for the kernel backend) classified, so the caller can fall back or map it
     *                              to a CSI status with {@link KernelMountException#toCsiException()}
     * @throws IOException          on any other failure
     */
    void stage(NfsMountRequest request) throws IOException;

    /**
     * Unmounts whatever is mounted at {@code stagingPath}, never hanging on a dead gateway (see
     * {@link Teardown}). The directory itself is left for the CO. Idempotent.
     *
     * @return how the unmount went, for logs and metrics
     * @throws IOException when even a lazy unmount failed
     */
    Teardown.Result unstage(Path stagingPath) throws IOException;
}
