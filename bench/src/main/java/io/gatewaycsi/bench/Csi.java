package io.gatewaycsi.bench;

import io.gatewaycsi.common.CsiChannels;
import io.gatewaycsi.common.Endpoint;
import io.gatewaycsi.csi.v1.IdentityGrpc;
import io.gatewaycsi.csi.v1.NodeGrpc;
import io.gatewaycsi.csi.v1.NodePublishVolumeRequest;
import io.gatewaycsi.csi.v1.NodeStageVolumeRequest;
import io.gatewaycsi.csi.v1.NodeUnpublishVolumeRequest;
import io.gatewaycsi.csi.v1.NodeUnstageVolumeRequest;
import io.gatewaycsi.csi.v1.ProbeRequest;
import io.gatewaycsi.csi.v1.ProbeResponse;
import io.gatewaycsi.csi.v1.VolumeCapability;
import io.gatewaycsi.mounthelper.v1.HealthRequest;
import io.gatewaycsi.mounthelper.v1.MountHelperGrpc;
import io.gatewaycsi.node.MountEntry;
import io.gatewaycsi.node.MountTable;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/** CSI requests, readiness probes and mount-table counts shared by the benchmarks. */
final class Csi {

    /** The access mode every benchmark volume uses. */
    static final VolumeCapability READ_WRITE_MANY = VolumeCapability.newBuilder()
            .setMount(VolumeCapability.MountVolume.getDefaultInstance())
            .setAccessMode(VolumeCapability.AccessMode.newBuilder()
                    .setMode(VolumeCapability.AccessMode.Mode.MULTI_NODE_MULTI_WRITER))
            .build();

    private Csi() {
    }

    static Endpoint unix(Path socket) {
        return Endpoint.parse("unix://" + socket);
    }

    /** The volume context of a static volume {@code subDir} on the gateway, staged by the mount helper. */
    static Map<String, String> volumeContext(BenchEnvironment env, String subDir) {
        return volumeContext(env, subDir, null);
    }

    /** The same with parameter {@code nfsVersion} (3, 4, 4.0, 4.1), or its default (4.1) when null. */
    static Map<String, String> volumeContext(BenchEnvironment env, String subDir, String nfsVersion) {
        Map<String, String> context = new java.util.HashMap<>(Map.of("server", env.server(), "share", env.share(),
                "subDir", subDir, "mountBackend", "sidecar"));
        if (nfsVersion != null) {
            context.put("nfsVersion", nfsVersion);
        }
        return context;
    }

    static String volumeId(String subDir) {
        return "bench-static-" + subDir.replace('/', '-');
    }

    static NodeStageVolumeRequest stage(BenchEnvironment env, String volumeId, String subDir, Path staging,
                                        String nfsVersion) {
        return NodeStageVolumeRequest.newBuilder().setVolumeId(volumeId)
                .setStagingTargetPath(staging.toString()).setVolumeCapability(READ_WRITE_MANY)
                .putAllVolumeContext(volumeContext(env, subDir, nfsVersion)).build();
    }

    static NodeUnstageVolumeRequest unstage(String volumeId, Path staging) {
        return NodeUnstageVolumeRequest.newBuilder().setVolumeId(volumeId)
                .setStagingTargetPath(staging.toString()).build();
    }

    static NodePublishVolumeRequest publish(BenchEnvironment env, String subDir, Path staging, Path target) {
        return NodePublishVolumeRequest.newBuilder().setVolumeId(volumeId(subDir))
                .setStagingTargetPath(staging.toString()).setTargetPath(target.toString())
                .setVolumeCapability(READ_WRITE_MANY).putAllVolumeContext(volumeContext(env, subDir)).build();
    }

    static NodeUnpublishVolumeRequest unpublish(String subDir, Path target) {
        return NodeUnpublishVolumeRequest.newBuilder().setVolumeId(volumeId(subDir))
                .setTargetPath(target.toString()).build();
    }

    static NodeGrpc.NodeBlockingStub node(ManagedChannel channel) {
        return NodeGrpc.newBlockingStub(channel).withDeadlineAfter(120, TimeUnit.SECONDS);
    }

    /** Which kind of readiness call answers for a role. */
    enum Readiness { IDENTITY_PROBE, HELPER_HEALTH }

    /**
     * Polls {@code socket} until the process answers ready: first until the socket file exists, then with a
     * fresh channel per attempt (so gRPC's reconnect back-off never delays the answer).
     *
     * @return nanoseconds from {@code startNanos} to the ready answer
     * @throws IOException when {@code timeout} passes first or the process exits
     */
    static long awaitReady(RoleProcess process, Path socket, Readiness kind, Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        int attempts = 0;
        while (System.nanoTime() < deadline && attempts < 100_000) {
            attempts++;
            process.requireAlive();
            if (!Files.exists(socket)) {
                sleepMillis(2);
                continue;
            }
            ManagedChannel channel = CsiChannels.open(unix(socket));
            try {
                boolean ready = kind == Readiness.IDENTITY_PROBE ? identityReady(channel) : helperReady(channel);
                if (ready) {
                    return System.nanoTime() - process.startNanos();
                }
            } catch (StatusRuntimeException e) {
                // not listening yet
            } finally {
                channel.shutdownNow();
            }
            sleepMillis(2);
        }
        throw new IOException(process.role() + " did not answer ready within " + timeout + "; log "
                + process.log() + ":\n" + RoleProcess.tail(process.log(), 20));
    }

    static boolean identityReady(ManagedChannel channel) {
        ProbeResponse probe = IdentityGrpc.newBlockingStub(channel).withDeadlineAfter(1, TimeUnit.SECONDS)
                .probe(ProbeRequest.getDefaultInstance());
        return !probe.hasReady() || probe.getReady().getValue();
    }

    static boolean helperReady(ManagedChannel channel) {
        return MountHelperGrpc.newBlockingStub(channel).withDeadlineAfter(1, TimeUnit.SECONDS)
                .health(HealthRequest.getDefaultInstance()).getReady();
    }

    /** FUSE mounts of the helper for {@code source} as seen by this process: entries and distinct connections. */
    record FuseCount(int entries, int connections, int atStaging) {
    }

    /**
     * Counts the helper's mounts ({@code fuse.gateway-csi}) under {@code within} (the benchmark's work
     * directory: the private mount namespace also holds copies of whatever other processes had mounted when it
     * was made): entries, distinct FUSE connections, and entries at {@code stagingPaths}.
     */
    static FuseCount fuseMounts(Path within, Set<Path> stagingPaths) throws IOException {
        List<MountEntry> entries = MountTable.read().entries();
        int count = 0;
        int atStaging = 0;
        Set<String> devices = new HashSet<>();
        for (MountEntry entry : entries) {
            if (!entry.fsType().equals("fuse.gateway-csi") || !entry.mountPoint().startsWith(within)) {
                continue;
            }
            count++;
            devices.add(entry.device());
            if (stagingPaths.contains(entry.mountPoint())) {
                atStaging++;
            }
        }
        return new FuseCount(count, devices.size(), atStaging);
    }

    static void sleepMillis(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
