package io.gatewaycsi.node;

import static io.gatewaycsi.common.testing.StatusCodes.codeOf;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gatewaycsi.common.Endpoint;
import io.gatewaycsi.csi.v1.NodeGetVolumeStatsRequest;
import io.gatewaycsi.csi.v1.NodeGetVolumeStatsResponse;
import io.gatewaycsi.csi.v1.NodeGrpc;
import io.gatewaycsi.csi.v1.NodePublishVolumeRequest;
import io.gatewaycsi.csi.v1.NodeStageVolumeRequest;
import io.gatewaycsi.csi.v1.NodeUnpublishVolumeRequest;
import io.gatewaycsi.csi.v1.NodeUnstageVolumeRequest;
import io.gatewaycsi.csi.v1.VolumeCapability;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the node's RPCs act on, with real mounts (the staging mount is a bind mount of a local directory
 * standing in for the gateway, as in {@link NodeServiceTest}): teardown only of mounts that belong to the
 * volume, targets never on a staging path, read-only and mount flags in every propagated copy of a target,
 * and volume statistics that answer during an outage.
 */
class NodeServiceScopeTest {

    private static final Map<String, String> CONTEXT = Map.of("server", "127.0.0.1", "share", "/export",
            "subDir", "vol-1", "mountBackend", "kernel");
    private static final VolumeCapability RWX = VolumeCapability.newBuilder()
            .setMount(VolumeCapability.MountVolume.getDefaultInstance())
            .setAccessMode(VolumeCapability.AccessMode.newBuilder()
                    .setMode(VolumeCapability.AccessMode.Mode.MULTI_NODE_MULTI_WRITER)).build();

    @TempDir
    Path dir;

    private final Mounter mounter = new Mounter(Duration.ofSeconds(3));
    private final TestMounts mounts = new TestMounts();
    private Server server;
    private ManagedChannel channel;
    private NodeGrpc.NodeBlockingStub node;
    private SidecarBackend absentHelper;
    private StagingState state;
    private Path export;
    private Path staging;

    @BeforeEach
    void start() throws IOException {
        String name = "node-" + UUID.randomUUID();
        absentHelper = new SidecarBackend(Endpoint.parse("unix://" + dir.resolve("no-helper.sock")),
                Duration.ofSeconds(2), new Teardown(mounter));
        state = new StagingState(dir.resolve("state"));
        NodeService service = new NodeService(new NodeConfig("node-a", Map.of(), Set.of()),
                new KernelBackend(KernelBackend.MOUNT, Duration.ofSeconds(20), new Teardown(mounter)),
                Optional.of(absentHelper), mounter, state);
        server = InProcessServerBuilder.forName(name).addService(service).build().start();
        channel = InProcessChannelBuilder.forName(name).build();
        node = NodeGrpc.newBlockingStub(channel);
        export = Files.createDirectories(dir.resolve("export"));
        staging = Files.createDirectories(dir.resolve("staging"));
        mounter.bind(export, mounts.track(staging));
    }

    @AfterEach
    void stop() throws IOException {
        mounts.close();
        channel.shutdownNow();
        server.shutdownNow();
        absentHelper.close();
    }

    private NodePublishVolumeRequest.Builder publish(Path target) {
        return NodePublishVolumeRequest.newBuilder().setVolumeId("vol-1").setStagingTargetPath(staging.toString())
                .setTargetPath(mounts.track(target).toString()).setVolumeCapability(RWX).putAllVolumeContext(CONTEXT);
    }

    private void unpublish(Path target) {
        node.nodeUnpublishVolume(NodeUnpublishVolumeRequest.newBuilder().setVolumeId("vol-1")
                .setTargetPath(target.toString()).build());
    }

    private NodeUnstageVolumeRequest unstage(String volumeId, Path path) {
        return NodeUnstageVolumeRequest.newBuilder().setVolumeId(volumeId).setStagingTargetPath(path.toString()).build();
    }

    private static String descriptionOf(Runnable call) {
        try {
            call.run();
            return "OK";
        } catch (StatusRuntimeException e) {
            return e.getStatus().getCode() + ": " + e.getStatus().getDescription();
        }
    }

    // Bug 4: teardown RPCs act only on what belongs to the volume.

    @Test
    void unstagingAnotherVolumesStagingPathIsRefusedAndLeavesItMounted() throws IOException {
        state.save(new NfsMountRequest("127.0.0.1", "/export", "vol-b", List.of("vers=4.1"), staging, false, "vol-b"),
                "kernel", null, null);
        assertThat(descriptionOf(() -> node.nodeUnstageVolume(unstage("vol-a", staging))))
                .startsWith("FAILED_PRECONDITION").contains("vol-b");
        assertThat(TestMounts.isMounted(staging)).isTrue();
        node.nodeUnstageVolume(unstage("vol-b", staging));
        assertThat(TestMounts.isMounted(staging)).isFalse();
    }

    @Test
    void aTargetThatIsOrLiesInsideTheStagingPathIsInvalidArgument() throws IOException {
        assertThat(codeOf(() -> node.nodePublishVolume(publish(staging).build())))
                .isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(codeOf(() -> node.nodePublishVolume(publish(staging.resolve("pod")).build())))
                .isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(codeOf(() -> node.nodePublishVolume(publish(dir).build())))
                .isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(MountTable.read().at(staging)).hasSize(1);
        assertThat(staging.resolve("pod")).doesNotExist();
    }

    @Test
    void unpublishingAMountTheDriverNeverMadeIsRefusedAndLeavesIt() throws IOException {
        Path tmpfs = Files.createDirectories(mounts.track(dir.resolve("someone-elses")));
        assertThat(Libc.mount("tmpfs", tmpfs.toString(), "tmpfs", 0, "size=1m")).isZero();
        Files.writeString(tmpfs.resolve("data"), "theirs");
        assertThat(descriptionOf(() -> unpublish(tmpfs))).startsWith("FAILED_PRECONDITION").contains("tmpfs");
        assertThat(tmpfs.resolve("data")).hasContent("theirs");
    }

    // Bug 5: NodeUnstageVolume with targets still published refuses, naming them.

    @Test
    void unstagingWhileATargetIsStillPublishedIsRefusedNamingItAndTheTargetKeepsServing() throws IOException {
        Path target = dir.resolve("pods/p1/volume");
        node.nodePublishVolume(publish(target).build());
        assertThat(descriptionOf(() -> node.nodeUnstageVolume(unstage("vol-1", staging))))
                .startsWith("FAILED_PRECONDITION").contains(target.toString());
        Files.writeString(target.resolve("ckpt"), "still served");
        assertThat(export.resolve("ckpt")).hasContent("still served");
        unpublish(target);
        node.nodeUnstageVolume(unstage("vol-1", staging));
        assertThat(TestMounts.isMounted(staging)).isFalse();
    }

    // Bug 3: read-only (and the other per-mount flags) in every propagated copy.

    @Test
    void aReadOnlyPublishIsReadOnlyInEveryCopyMountPropagationMakesOfIt() throws Exception {
        // A shared mount holding the pods' targets (as kubelet's directory with Bidirectional propagation) and a
        // peer of it elsewhere (the host's view of the same directory).
        Path pods = Files.createDirectories(mounts.track(dir.resolve("pods")));
        Path hostView = Files.createDirectories(mounts.track(dir.resolve("host-view")));
        assertThat(Libc.mount(pods.toString(), pods.toString(), null, Libc.MS_BIND, null)).isZero();
        assertThat(Libc.mount("none", pods.toString(), null, Libc.MS_SHARED, null)).isZero();
        assertThat(Libc.mount(pods.toString(), hostView.toString(), null, Libc.MS_BIND, null)).isZero();
        Path target = pods.resolve("p1");
        mounts.track(hostView.resolve("p1"));
        node.nodePublishVolume(publish(target).setReadonly(true).build());

        Path copy = hostView.resolve("p1");
        assertThat(MountTable.read().topmost(copy)).as("the propagated copy").isPresent();
        assertThatThrownBy(() -> Files.writeString(copy.resolve("x"), "no"))
                .isInstanceOf(FileSystemException.class).hasMessageContaining("Read-only file system");
        // And from another mount namespace, as a container sees it.
        Process other = new ProcessBuilder("unshare", "-m", "--propagation", "unchanged", "sh", "-c",
                "echo written > \"$1\"", "sh", copy.resolve("from-another-namespace").toString())
                .redirectErrorStream(true).start();
        assertThat(other.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String said = new String(other.getInputStream().readAllBytes());
        assertThat(other.exitValue()).as(said).isNotZero();
        assertThat(said).contains("Read-only file system");
        assertThat(export.resolve("x")).doesNotExist();
        assertThat(export.resolve("from-another-namespace")).doesNotExist();
        unpublish(target);
    }

    // Bug 10: NodePublishVolume validates and applies mount_flags; a context naming the records is refused.

    @Test
    void publishValidatesTheMountFlagsAndAppliesThePerMountOnes() throws IOException {
        Path target = dir.resolve("flagged");
        VolumeCapability bogus = RWX.toBuilder().setMount(VolumeCapability.MountVolume.newBuilder()
                .addMountFlags("no-such-option")).build();
        assertThat(descriptionOf(() -> node.nodePublishVolume(publish(target).setVolumeCapability(bogus).build())))
                .startsWith("INVALID_ARGUMENT").contains("no-such-option");
        VolumeCapability flagged = RWX.toBuilder().setMount(VolumeCapability.MountVolume.newBuilder()
                .addMountFlags("noexec,nosuid").addMountFlags("nodev").addMountFlags("vers=4.1")).build();
        node.nodePublishVolume(publish(target).setVolumeCapability(flagged).build());
        assertThat(MountTable.read().topmost(target).orElseThrow().mountOptions())
                .contains("noexec", "nosuid", "nodev", "rw");
        unpublish(target);
    }

    @Test
    void aStaticVolumeContextNamingTheDriversRecordsIsInvalidArgument() {
        Map<String, String> records = Map.of("server", "127.0.0.1", "share", "/export", "subDir",
                ".gateway-csi/volumes", "mountBackend", "kernel");
        assertThat(descriptionOf(() -> node.nodeStageVolume(NodeStageVolumeRequest.newBuilder().setVolumeId("static")
                .setStagingTargetPath(dir.resolve("other-staging").toString()).setVolumeCapability(RWX)
                .putAllVolumeContext(records).build()))).startsWith("INVALID_ARGUMENT").contains(".gateway-csi");
    }

    // Bug 6: NodeGetVolumeStats during an outage: OK with an abnormal condition, one statvfs per path.

    @Test
    void volumeStatsOfAMountThatDoesNotAnswerAreAbnormalWithOneStatvfsOutstanding() throws Exception {
        Path stuckPath = Files.createDirectories(dir.resolve("stuck"));
        try (StuckFuse stuck = StuckFuse.mount(stuckPath)) {
            int abandonedBefore = BlockingCalls.abandonedNow();
            List<CompletableFuture<NodeGetVolumeStatsResponse>> callers = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                callers.add(CompletableFuture.supplyAsync(() -> NodeGrpc.newBlockingStub(channel)
                        .withDeadlineAfter(60, TimeUnit.SECONDS).nodeGetVolumeStats(NodeGetVolumeStatsRequest
                                .newBuilder().setVolumeId("vol-1").setVolumePath(stuckPath.toString()).build())));
            }
            for (CompletableFuture<NodeGetVolumeStatsResponse> caller : callers) {
                NodeGetVolumeStatsResponse stats = caller.get(60, TimeUnit.SECONDS);
                assertThat(stats.getVolumeCondition().getAbnormal()).isTrue();
                assertThat(stats.getVolumeCondition().getMessage()).contains("gateway not answering");
            }
            NodeGetVolumeStatsResponse later = node.nodeGetVolumeStats(NodeGetVolumeStatsRequest.newBuilder()
                    .setVolumeId("vol-1").setVolumePath(stuckPath.toString()).build());
            assertThat(later.getVolumeCondition().getAbnormal()).isTrue();
            assertThat(BlockingCalls.abandonedNow() - abandonedBefore).as("statvfs calls left blocked")
                    .isLessThanOrEqualTo(1);
            stuck.killServer();
        }
    }
}
