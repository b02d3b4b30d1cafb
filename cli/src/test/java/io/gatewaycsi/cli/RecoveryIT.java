package io.gatewaycsi.cli;

import io.gatewaycsi.common.testing.TestCapabilities;
import static org.assertj.core.api.Assertions.assertThat;

import io.gatewaycsi.csi.v1.NodeGetVolumeStatsRequest;
import io.gatewaycsi.csi.v1.NodeGetVolumeStatsResponse;
import io.gatewaycsi.csi.v1.NodeGrpc;
import io.gatewaycsi.csi.v1.NodePublishVolumeRequest;
import io.gatewaycsi.csi.v1.NodeStageVolumeRequest;
import io.gatewaycsi.csi.v1.NodeUnpublishVolumeRequest;
import io.gatewaycsi.csi.v1.NodeUnstageVolumeRequest;
import io.gatewaycsi.csi.v1.VolumeCapability;
import io.gatewaycsi.nfs.testing.TestGateway;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The node plugin and the mount helper as separate processes, as in the node DaemonSet pod, staging a real
 * gateway volume through the fallback (this machine has no NFS in the kernel): a node-plugin crash does not
 * interrupt I/O, and a mount helper crash is repaired on the same target paths once the helper is back.
 */
@ExtendWith(TestGateway.class)
class RecoveryIT {

    private static final VolumeCapability RWX = TestCapabilities.RWX;
    private static final int FILE_BYTES = 48 * 1024 * 1024;

    @TempDir
    Path dir;

    private final TestGateway gateway = TestGateway.get();
    private final String subDir = "recovery-" + UUID.randomUUID().toString().substring(0, 8);
    private final String volumeId = "recovery-volume-" + subDir;
    private DriverProcess helper;
    private DriverProcess node;
    private Path staging;
    private Path target;
    private String expectedSha;

    private DriverProcess startHelper() throws Exception {
        Path socket = dir.resolve("helper.sock");
        return DriverProcess.start(socket, dir.resolve("helper-" + Instant.now().toEpochMilli() + ".log"), -1,
                "mount-helper", "--endpoint", "unix://" + socket);
    }

    private DriverProcess startNode() throws Exception {
        Path socket = dir.resolve("node.sock");
        return DriverProcess.start(socket, dir.resolve("node-" + Instant.now().toEpochMilli() + ".log"), -1,
                "node", "--endpoint", "unix://" + socket, "--node-id", "recovery-node",
                "--mount-helper-endpoint", "unix://" + dir.resolve("helper.sock"), "--state-dir", dir.resolve("state").toString());
    }

    private <T> T onNode(java.util.function.Function<NodeGrpc.NodeBlockingStub, T> call) {
        ManagedChannel channel = node.channel();
        try {
            return call.apply(NodeGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS));
        } finally {
            channel.shutdownNow();
        }
    }

    @BeforeEach
    void stageAndPublish() throws Exception {
        Path volume = Files.createDirectories(gateway.local("/" + subDir));
        byte[] data = new byte[FILE_BYTES];
        new Random(42).nextBytes(data);
        Files.write(volume.resolve("shard-0.bin"), data);
        expectedSha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        helper = startHelper();
        node = startNode();
        staging = Files.createDirectories(dir.resolve("staging"));
        target = dir.resolve("pod/volume");
        onNode(n -> n.nodeStageVolume(NodeStageVolumeRequest.newBuilder().setVolumeId(volumeId)
                .setStagingTargetPath(staging.toString()).setVolumeCapability(RWX).putAllVolumeContext(context()).build()));
        onNode(n -> n.nodePublishVolume(publishRequest()));
    }

    private static void retryWhileAborted(Runnable call) throws InterruptedException {
        for (int attempt = 0; ; attempt++) {
            try {
                call.run();
                return;
            } catch (io.grpc.StatusRuntimeException e) {
                if (e.getStatus().getCode() != io.grpc.Status.Code.ABORTED || attempt == 60) {
                    throw e;
                }
                Thread.sleep(1000);
            }
        }
    }

    private Map<String, String> context() {
        return Map.of("server", gateway.server(), "share", gateway.share(), "subDir", subDir, "nfsVersion", "4");
    }

    private NodePublishVolumeRequest publishRequest() {
        return NodePublishVolumeRequest.newBuilder().setVolumeId(volumeId).setStagingTargetPath(staging.toString())
                .setTargetPath(target.toString()).setVolumeCapability(RWX).putAllVolumeContext(context()).build();
    }

    private static boolean isMounted(Path path) throws IOException {
        return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                .anyMatch(line -> line.split(" ")[4].equals(path.toString()));
    }

    @AfterEach
    void teardown() throws Exception {
        try {
            if (node != null) {
                // ABORTED while a repair of the volume is still in flight: retried, as kubelet does.
                retryWhileAborted(() -> onNode(n -> n.nodeUnpublishVolume(NodeUnpublishVolumeRequest.newBuilder()
                        .setVolumeId(volumeId).setTargetPath(target.toString()).build())));
                retryWhileAborted(() -> onNode(n -> n.nodeUnstageVolume(NodeUnstageVolumeRequest.newBuilder()
                        .setVolumeId(volumeId).setStagingTargetPath(staging.toString()).build())));
            }
        } finally {
            if (node != null) {
                node.close();
            }
            if (helper != null) {
                helper.close();
            }
            for (Path path : new Path[] {target, staging}) {
                if (path == null) {
                    continue; // set-up failed before staging
                }
                new ProcessBuilder("umount", "-l", path.toString()).start().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    private static String sha256Slowly(Path file, Runnable halfway) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        byte[] buffer = new byte[1024 * 1024];
        long read = 0;
        boolean signalled = false;
        try (InputStream in = Files.newInputStream(file)) {
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
                read += n;
                if (!signalled && read >= FILE_BYTES / 2) {
                    signalled = true;
                    halfway.run();
                }
                Thread.sleep(5);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    @Test
    void bytesWrittenThroughThePublishedTargetAreOnTheGatewayAndTheReverse() throws Exception {
        byte[] checkpoint = new byte[8 * 1024 * 1024 + 123];
        new Random(7).nextBytes(checkpoint);
        Files.write(target.resolve("checkpoint.pt"), checkpoint);
        Path onGateway = gateway.local("/" + subDir + "/checkpoint.pt");
        assertThat(sha256(Files.readAllBytes(onGateway))).isEqualTo(sha256(checkpoint));

        byte[] dataset = new byte[3 * 1024 * 1024 + 7];
        new Random(8).nextBytes(dataset);
        Files.write(gateway.local("/" + subDir + "/dataset.tar"), dataset);
        assertThat(sha256(Files.readAllBytes(target.resolve("dataset.tar")))).isEqualTo(sha256(dataset));
    }

    private static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }

    @Test
    void theStagedLineSaysTheOptionsTheHelperMountedWithNotTheOnesAskedFor() throws Exception {
        // asked: vers=4 (nfsVersion 4); libnfs speaks 4.0, and the helper says so
        assertThat(node.log()).containsPattern("event=staged .*options=\"?vers=4\\.0,")
                .containsPattern("event=staged .*asked_options=\"?vers=4,");
    }

    @Test
    void aSequentialReadCompletesThroughANodePluginKill() throws Exception {
        CompletableFuture<String> reading = CompletableFuture.supplyAsync(() -> {
            try {
                return sha256Slowly(target.resolve("shard-0.bin"), () -> {
                    try {
                        new ProcessBuilder("kill", "-9", Long.toString(node.pid())).start().waitFor();
                    } catch (IOException | InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                });
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        assertThat(reading.get(120, TimeUnit.SECONDS)).isEqualTo(expectedSha);
        node.close();
        node = startNode();
    }

    @Test
    void aMountHelperKillIsRepairedOnTheSameTargetOnceItReturns() throws Exception {
        new ProcessBuilder("kill", "-9", Long.toString(helper.pid())).start().waitFor();
        helper.close();
        Instant deadlineForBreak = Instant.now().plus(Duration.ofSeconds(30));
        while (canRead(target) && Instant.now().isBefore(deadlineForBreak)) {
            Thread.sleep(100);
        }
        assertThat(canRead(target)).as("the helper's FUSE mount is dead").isFalse();
        startHelperAndExpectTheTargetServedAgain();
        assertThat(node.log()).contains("event=repair").contains("event=repaired");
        // Served again on the node, but a pod's running containers keep the dead mount: stats say so.
        NodeGetVolumeStatsResponse stats = onNode(n -> n.nodeGetVolumeStats(NodeGetVolumeStatsRequest.newBuilder()
                .setVolumeId(volumeId).setVolumePath(target.toString()).build()));
        assertThat(stats.getVolumeCondition().getAbnormal()).isTrue();
        assertThat(stats.getVolumeCondition().getMessage()).contains("restart the pod");
    }

    @Test
    void aMountHelperStoppedAndStartedAgain_asInAnUpgrade_isRepairedOnTheSameTarget() throws Exception {
        helper.close(); // SIGTERM: the helper unmounts what it served
        assertThat(canRead(target)).as("the target is dead while no helper serves it").isFalse();
        startHelperAndExpectTheTargetServedAgain();
    }

    @Test
    void aStagedVolumeWithNoTargetIsMountedAgainAfterTheHelperReturns_evenWithItsDirectoryGone() throws Exception {
        onNode(n -> n.nodeUnpublishVolume(NodeUnpublishVolumeRequest.newBuilder().setVolumeId(volumeId)
                .setTargetPath(target.toString()).build()));
        helper.close(); // SIGTERM: the helper unmounts what it served, as in an upgrade
        assertThat(isMounted(staging)).isFalse();
        Files.delete(staging); // and the staging directory goes too (a node clean-up, a container's tmpfs)
        helper = startHelper();
        // kubelet does not stage again: it retries NodePublishVolume every few seconds, for ever.
        Instant end = Instant.now().plus(Duration.ofSeconds(60));
        RuntimeException last = null;
        boolean published = false;
        while (!published && Instant.now().isBefore(end)) {
            try {
                onNode(n -> n.nodePublishVolume(publishRequest()));
                published = true;
            } catch (RuntimeException e) {
                last = e;
                Thread.sleep(2000);
            }
        }
        assertThat(published).as("NodePublishVolume answered OK within 60 s; last answer: %s", last).isTrue();
        assertThat(sha256Slowly(target.resolve("shard-0.bin"), () -> { })).isEqualTo(expectedSha);
    }

    @Test
    void aStagingMountThatVanishedWithAKilledHelperIsMountedAgainByTheWatcherOnceAHelperAnswers() throws Exception {
        onNode(n -> n.nodeUnpublishVolume(NodeUnpublishVolumeRequest.newBuilder().setVolumeId(volumeId)
                .setTargetPath(target.toString()).build()));
        new ProcessBuilder("kill", "-9", Long.toString(helper.pid())).start().waitFor();
        helper.close();
        // The runtime tears the dead helper container's mounts down with it.
        new ProcessBuilder("umount", "-l", staging.toString()).start().waitFor(10, TimeUnit.SECONDS);
        assertThat(isMounted(staging)).isFalse();
        helper = startHelper();
        Instant end = Instant.now().plus(Duration.ofSeconds(30));
        while (!isMounted(staging) && Instant.now().isBefore(end)) {
            Thread.sleep(200);
        }
        assertThat(isMounted(staging)).as("the staging mount is back without any RPC").isTrue();
        assertThat(sha256Slowly(staging.resolve("shard-0.bin"), () -> { })).isEqualTo(expectedSha);
    }

    private void startHelperAndExpectTheTargetServedAgain() throws Exception {
        helper = startHelper();
        Instant back = Instant.now();
        // A repair pass every 2 s; the bound is for a machine whose cores are all busy (a cold helper JVM and a
        // FUSE mount can take tens of seconds there), not a speed requirement.
        while (!canRead(target) && Duration.between(back, Instant.now()).compareTo(Duration.ofSeconds(90)) < 0) {
            Thread.sleep(200);
        }
        assertThat(canRead(target)).as("served again within 90 s of the helper's return").isTrue();
        assertThat(sha256Slowly(target.resolve("shard-0.bin"), () -> { })).isEqualTo(expectedSha);
    }

    private static boolean canRead(Path target) {
        try {
            return Files.size(target.resolve("shard-0.bin")) == FILE_BYTES;
        } catch (IOException e) {
            return false;
        }
    }
}
