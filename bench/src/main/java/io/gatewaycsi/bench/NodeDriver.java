package io.gatewaycsi.bench;

import io.gatewaycsi.common.CsiChannels;
import io.gatewaycsi.csi.v1.NodeGrpc;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The node side of the driver as operators run it: a mount helper process ({@code gateway-csi
 * mount-helper}) and a node plugin process ({@code gateway-csi node}) talking to it over its socket, plus a
 * channel to the node plugin. Volumes are static: directories made in the gateway's export directory and
 * staged with {@code mountBackend=sidecar}. {@link #close()} unstages what it staged and stops both processes.
 */
final class NodeDriver implements AutoCloseable {

    private final BenchEnvironment env;
    private final Path dir;
    private final RoleProcess helper;
    private final RoleProcess node;
    private final ManagedChannel channel;
    private final List<Staged> staged = new ArrayList<>();

    /** A staged volume: its directory below the share and its staging path. */
    record Staged(String volumeId, String subDir, Path staging) {
    }

    private NodeDriver(BenchEnvironment env, Path dir, RoleProcess helper, RoleProcess node, ManagedChannel channel) {
        this.env = env;
        this.dir = dir;
        this.helper = helper;
        this.node = node;
        this.channel = channel;
    }

    /**
     * Starts the helper, then the node plugin, and waits until both answer ready.
     *
     * @param name     names the working directory, sockets and logs
     * @param nodeOpts extra JVM flags of the node plugin (GATEWAY_CSI_JAVA_OPTS), may be empty
     */
    static NodeDriver start(BenchEnvironment env, String name, String nodeOpts, String helperOpts) throws IOException {
        return start(env, name, nodeOpts, null, Map.of(), helperOpts);
    }

    /** The same with the node plugin's heap (GATEWAY_CSI_HEAP, null for the default) and environment. */
    static NodeDriver start(BenchEnvironment env, String name, String nodeOpts, String nodeHeap,
                            Map<String, String> nodeEnv, String helperOpts) throws IOException {
        Path dir = Files.createDirectories(env.work().resolve(name));
        Path helperSocket = dir.resolve("mh.sock");
        Path nodeSocket = dir.resolve("node.sock");
        RoleProcess helper = RoleProcess.start(env, "mount-helper",
                List.of("--endpoint", "unix://" + helperSocket, "--log-level", "info"), helperOpts, null,
                name + "-mount-helper");
        RoleProcess node = null;
        try {
            Csi.awaitReady(helper, helperSocket, Csi.Readiness.HELPER_HEALTH, Duration.ofSeconds(60));
            node = RoleProcess.start(env, "node", List.of("--endpoint", "unix://" + nodeSocket, "--node-id", "bench",
                    "--mount-helper-endpoint", "unix://" + helperSocket, "--log-level", "info"), nodeOpts, nodeHeap,
                    nodeEnv, name + "-node");
            Csi.awaitReady(node, nodeSocket, Csi.Readiness.IDENTITY_PROBE, Duration.ofSeconds(60));
            return new NodeDriver(env, dir, helper, node, CsiChannels.open(Csi.unix(nodeSocket)));
        } catch (IOException | RuntimeException e) {
            if (node != null) {
                node.close();
            }
            helper.close();
            throw e;
        }
    }

    Path dir() {
        return dir;
    }

    RoleProcess helper() {
        return helper;
    }

    RoleProcess node() {
        return node;
    }

    /** The channel to the node plugin. */
    ManagedChannel channel() {
        return channel;
    }

    /** A blocking stub to the node plugin with a 2-minute deadline per call. */
    NodeGrpc.NodeBlockingStub stub() {
        return Csi.node(channel);
    }

    /** Makes directory {@code subDir} (mode 0777) in the export directory: a volume for static provisioning. */
    void makeVolume(String subDir) throws IOException {
        Path volume = env.exportDir().resolve(subDir);
        Files.createDirectories(volume);
        Files.setPosixFilePermissions(volume, PosixFilePermissions.fromString("rwxrwxrwx"));
    }

    /** Stages {@code subDir} at {@code <dir>/staging/<subDir>} through the node plugin (and so the helper). */
    Staged stage(String subDir) throws IOException {
        return stage(subDir, null, "");
    }

    /**
     * The same with parameter {@code nfsVersion} (or its default when null) as another volume: its volume ID
     * and staging directory carry {@code suffix}.
     */
    Staged stage(String subDir, String nfsVersion, String suffix) throws IOException {
        String name = subDir.replace('/', '-') + suffix;
        Path staging = Files.createDirectories(dir.resolve("staging").resolve(name));
        String volumeId = Csi.volumeId(subDir) + suffix;
        stub().nodeStageVolume(Csi.stage(env, volumeId, subDir, staging, nfsVersion));
        Staged volume = new Staged(volumeId, subDir, staging);
        staged.add(volume);
        return volume;
    }

    /** Unstages {@code volume} through the node plugin. */
    void unstage(Staged volume) {
        stub().nodeUnstageVolume(Csi.unstage(volume.volumeId(), volume.staging()));
        staged.remove(volume);
    }

    @Override
    public void close() {
        try {
            for (Staged volume : staged) {
                try {
                    stub().nodeUnstageVolume(Csi.unstage(volume.volumeId(), volume.staging()));
                } catch (RuntimeException e) {
                    System.err.println("bench: unstage " + volume.staging() + " failed: " + e.getMessage());
                }
            }
        } finally {
            CsiChannels.close(channel);
            node.close();
            helper.close(); // SIGTERM: the helper unmounts whatever is left
        }
    }
}
