package io.gatewaycsi.node;

import io.gatewaycsi.common.CsiChannels;
import io.gatewaycsi.common.CsiException;
import io.gatewaycsi.common.Endpoint;
import io.gatewaycsi.mounthelper.v1.HealthRequest;
import io.gatewaycsi.mounthelper.v1.ListRequest;
import io.gatewaycsi.mounthelper.v1.MountHelperGrpc;
import io.gatewaycsi.mounthelper.v1.MountInfo;
import io.gatewaycsi.mounthelper.v1.MountRequest;
import io.gatewaycsi.mounthelper.v1.MountResponse;
import io.gatewaycsi.mounthelper.v1.UnmountRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The {@code sidecar} mount backend: asks the mount helper, over its gRPC API on a unix socket, to mount the
 * share in user space (NFS client + FUSE) at the staging path. The helper is a separate process, so a
 * node-plugin restart leaves its mounts serving. Whatever the helper leaves behind at unstage (it died, say)
 * is removed with {@link Teardown}.
 */
public final class SidecarBackend implements MountBackend, AutoCloseable {

    /** The file-system type of the helper's FUSE mounts in /proc/self/mountinfo. */
    public static final String FS_TYPE = "fuse.gateway-csi";

    private final Endpoint endpoint;
    private final ManagedChannel channel;
    private final Duration deadline;
    private final Teardown teardown;

    /**
     * @param endpoint the mount helper's socket
     * @param deadline the deadline of each call to the helper (a mount may take as long as the gateway does)
     * @param teardown removes leftovers the helper could not
     */
    public SidecarBackend(Endpoint endpoint, Duration deadline, Teardown teardown) {
        this.endpoint = endpoint;
        this.channel = CsiChannels.open(endpoint);
        this.deadline = deadline;
        this.teardown = teardown;
    }

    @Override
    public String name() {
        return "sidecar";
    }

    private MountHelperGrpc.MountHelperBlockingStub helper() {
        return MountHelperGrpc.newBlockingStub(channel).withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void stage(NfsMountRequest request) throws IOException {
        mount(request);
    }

    /**
     * Mounts {@code request} through the helper and returns its answer: the NFS version and options in force
     * (what libnfs speaks, e.g. {@code vers=4.0} for a request of {@code vers=4.1}).
     *
     * @throws CsiException UNAVAILABLE when the helper does not answer, else the helper's status
     */
    public MountResponse mount(NfsMountRequest request) throws IOException {
        MountRequest.Builder mount = MountRequest.newBuilder().setVolumeId(request.volumeId())
                .setServer(request.server()).setShare(request.share()).setSubDir(request.subDir())
                .addAllMountOptions(request.effectiveOptions()).setStagingPath(request.stagingPath().toString())
                .setReadonly(request.readOnly());
        try {
            return helper().mount(mount.build());
        } catch (StatusRuntimeException e) {
            throw failure("mount " + request.source() + " at " + request.stagingPath(), e);
        }
    }

    /**
     * Asks the helper to unmount, then removes whatever is left with {@link Teardown}. When the helper's
     * Unmount took the mount down, the result is one layer, {@link TeardownStep#NORMAL} — or
     * {@link TeardownStep#LAZY} when the mount was broken (its helper died: the helper now running detaches
     * such a mount with MNT_DETACH).
     */
    @Override
    public Teardown.Result unstage(Path stagingPath) throws IOException {
        String broken = teardown.brokenReason(stagingPath);
        boolean helperUnmounted = false;
        try {
            helper().unmount(UnmountRequest.newBuilder().setStagingPath(stagingPath.toString()).build());
            helperUnmounted = true;
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() != Status.Code.UNAVAILABLE) {
                throw failure("unmount " + stagingPath, e);
            }
            // The helper is gone; its FUSE mount is dead (ENOTCONN) and Teardown removes it.
        }
        Teardown.Result rest = teardown.unmount(stagingPath);
        if (helperUnmounted && rest.step() == TeardownStep.NOT_MOUNTED) {
            return broken == null ? new Teardown.Result(TeardownStep.NORMAL, 1, List.of())
                    : new Teardown.Result(TeardownStep.LAZY, 1, List.of(broken + "; the mount helper detached it"));
        }
        return rest;
    }

    /** The mounts the helper serves. */
    public List<MountInfo> list() {
        try {
            return helper().list(ListRequest.getDefaultInstance()).getMountsList();
        } catch (StatusRuntimeException e) {
            throw failure("list mounts", e);
        }
    }

    /** Whether the helper answers and says it can mount. */
    public boolean ready() {
        try {
            return MountHelperGrpc.newBlockingStub(channel).withDeadlineAfter(2, TimeUnit.SECONDS)
                    .health(HealthRequest.getDefaultInstance()).getReady();
        } catch (StatusRuntimeException e) {
            return false;
        }
    }

    private CsiException failure(String what, StatusRuntimeException e) {
        Status status = e.getStatus();
        if (status.getCode() == Status.Code.UNAVAILABLE || status.getCode() == Status.Code.DEADLINE_EXCEEDED) {
            return CsiException.unavailable("the mount helper at " + endpoint + " could not " + what + ": "
                    + status.getCode() + (status.getDescription() != null ? " (" + status.getDescription() + ")" : "")
                    + "; check that the mount-helper container is running", e);
        }
        return new CsiException(status.getCode(), "the mount helper could not " + what + ": "
                + status.getDescription(), e);
    }

    @Override
    public void close() {
        CsiChannels.close(channel);
    }
}
