package io.gatewaycsi.node;

import static org.assertj.core.api.Assertions.assertThat;
import static io.gatewaycsi.common.testing.StatusCodes.codeOf;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gatewaycsi.common.Endpoint;
import io.gatewaycsi.csi.v1.NodeGetCapabilitiesRequest;
import io.gatewaycsi.csi.v1.NodeGetInfoRequest;
import io.gatewaycsi.csi.v1.NodeGetVolumeStatsRequest;
import io.gatewaycsi.csi.v1.NodeGetVolumeStatsResponse;
import io.gatewaycsi.csi.v1.NodeGrpc;
import io.gatewaycsi.csi.v1.NodePublishVolumeRequest;
import io.gatewaycsi.csi.v1.NodeServiceCapability;
import io.gatewaycsi.csi.v1.NodeStageVolumeRequest;
import io.gatewaycsi.csi.v1.NodeUnpublishVolumeRequest;
import io.gatewaycsi.csi.v1.NodeUnstageVolumeRequest;
import io.gatewaycsi.csi.v1.VolumeCapability;
import io.gatewaycsi.csi.v1.VolumeUsage;
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
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The node service's own logic with real mounts: the staging mount here is a bind mount of a local
 * directory standing in for the gateway (staging through a real gateway, kernel or mount helper, is tested
 * end to end in the cli module and by csi-sanity).
 */
class NodeServiceTest {

    private static final Map<String, String> CONTEXT = Map.of("server", "127.0.0.1", "share", "/export",
            "subDir", "vol-1", "mountBackend", "kernel");

    @TempDir
    Path dir;

    private final Mounter mounter = new Mounter(Duration.ofSeconds(5));
    private final TestMounts mounts = new TestMounts();
    private Server server;
    private ManagedChannel channel;
    private NodeGrpc.NodeBlockingStub node;
    private SidecarBackend absentHelper;
    private Path export;
    private Path staging;

    @BeforeEach
    void start() throws IOException {
        String name = "node-" + UUID.randomUUID();
        absentHelper = new SidecarBackend(Endpoint.parse("unix://" + dir.resolve("no-helper.sock")),
                Duration.ofSeconds(2), new Teardown(mounter));
        NodeService service = new NodeService(new NodeConfig("node-a", Map.of("topology.gateway-csi.io/zone", "z1"),
                Set.of()), new KernelBackend(KernelBackend.MOUNT, Duration.ofSeconds(20), new Teardown(mounter)),
                Optional.of(absentHelper), mounter, new StagingState(dir.resolve("state")));
        server = InProcessServerBuilder.forName(name).addService(service).build().start();
        channel = InProcessChannelBuilder.forName(name).build();
        node = NodeGrpc.newBlockingStub(channel);
        export = Files.createDirectories(dir.resolve("export"));
        staging = Files.createDirectories(dir.resolve("staging"));
    }

    @AfterEach
    void stop() throws IOException {
        mounts.close();
        channel.shutdownNow();
        server.shutdownNow();
        absentHelper.close();
    }

    private static VolumeCapability capability(VolumeCapability.AccessMode.Mode mode) {
        return VolumeCapability.newBuilder().setMount(VolumeCapability.MountVolume.getDefaultInstance())
                .setAccessMode(VolumeCapability.AccessMode.newBuilder().setMode(mode)).build();
    }

    private static final VolumeCapability RWX = capability(VolumeCapability.AccessMode.Mode.MULTI_NODE_MULTI_WRITER);

    private void stageLocally() throws IOException {
        mounter.bind(export, mounts.track(staging));
    }

    private NodePublishVolumeRequest.Builder publish(Path target) {
        return NodePublishVolumeRequest.newBuilder().setVolumeId("vol-1").setStagingTargetPath(staging.toString())
                .setTargetPath(mounts.track(target).toString()).setVolumeCapability(RWX).putAllVolumeContext(CONTEXT);
    }

    private void unpublish(Path target) {
        node.nodeUnpublishVolume(NodeUnpublishVolumeRequest.newBuilder().setVolumeId("vol-1")
                .setTargetPath(target.toString()).build());
    }


    @Test
    void reportsItsNodeIdTopologyAndCapabilities() {
        var info = node.nodeGetInfo(NodeGetInfoRequest.getDefaultInstance());
        assertThat(info.getNodeId()).isEqualTo("node-a");
        assertThat(info.getAccessibleTopology().getSegmentsMap()).containsEntry("topology.gateway-csi.io/zone", "z1");
        assertThat(node.nodeGetCapabilities(NodeGetCapabilitiesRequest.getDefaultInstance()).getCapabilitiesList())
                .extracting(c -> c.getRpc().getType()).containsExactly(
                        NodeServiceCapability.RPC.Type.STAGE_UNSTAGE_VOLUME,
                        NodeServiceCapability.RPC.Type.GET_VOLUME_STATS,
                        NodeServiceCapability.RPC.Type.VOLUME_CONDITION,
                        NodeServiceCapability.RPC.Type.SINGLE_NODE_MULTI_WRITER);
    }

    @Test
    void missingFieldsAreInvalidArgument() {
        assertThat(codeOf(() -> node.nodeStageVolume(NodeStageVolumeRequest.newBuilder()
                .setStagingTargetPath("/s").setVolumeCapability(RWX).build()))).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(codeOf(() -> node.nodeStageVolume(NodeStageVolumeRequest.newBuilder().setVolumeId("v")
                .setVolumeCapability(RWX).build()))).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(codeOf(() -> node.nodeStageVolume(NodeStageVolumeRequest.newBuilder().setVolumeId("v")
                .setStagingTargetPath("/s").build()))).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(codeOf(() -> node.nodePublishVolume(NodePublishVolumeRequest.newBuilder().setVolumeId("v")
                .setTargetPath("/t").setVolumeCapability(RWX).build()))).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(codeOf(() -> node.nodeStageVolume(NodeStageVolumeRequest.newBuilder().setVolumeId("v")
                .setStagingTargetPath("relative/path").setVolumeCapability(RWX).putAllVolumeContext(CONTEXT).build())))
                .isEqualTo(Status.Code.INVALID_ARGUMENT);
    }

    @Test
    void aBadVolumeContextIsInvalidArgumentNamingTheKey() {
        assertThatThrownBy(() -> node.nodeStageVolume(NodeStageVolumeRequest.newBuilder().setVolumeId("v")
                .setStagingTargetPath(staging.toString()).setVolumeCapability(RWX)
                .putAllVolumeContext(Map.of("server", "gw", "share", "/x", "timeo", "0")).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(e.getStatus().getDescription()).contains("parameter `timeo`");
                });
    }

    @Test
    void withMountBackendKernelTheRealKernelFailureOfThisNodeIsReportedNotHidden() throws IOException {
        assertThatThrownBy(() -> node.nodeStageVolume(NodeStageVolumeRequest.newBuilder().setVolumeId("vol-1")
                .setStagingTargetPath(staging.toString()).setVolumeCapability(RWX).putAllVolumeContext(CONTEXT).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
                    assertThat(e.getStatus().getDescription()).contains("No such device");
                });
        assertThat(TestMounts.isMounted(staging)).isFalse();
    }

    @Test
    void withMountBackendAutoTheFallbackNamesTheMissingMountHelper() {
        Map<String, String> auto = new java.util.HashMap<>(CONTEXT);
        auto.put("mountBackend", "auto");
        assertThatThrownBy(() -> node.nodeStageVolume(NodeStageVolumeRequest.newBuilder().setVolumeId("vol-1")
                .setStagingTargetPath(staging.toString()).setVolumeCapability(RWX).putAllVolumeContext(auto).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
                    assertThat(e.getStatus().getDescription()).contains("mount helper")
                            .contains("check that the mount-helper container is running");
                });
    }

    @Test
    void publishingAnUnstagedVolumeIsAFailedPrecondition() {
        assertThat(codeOf(() -> node.nodePublishVolume(publish(dir.resolve("target")).build())))
                .isEqualTo(Status.Code.FAILED_PRECONDITION);
    }

    @Test
    void publishBindsTheStagingMountIntoTheTargetAndIsIdempotent() throws IOException {
        stageLocally();
        Path target = dir.resolve("pods/p1/volume");
        node.nodePublishVolume(publish(target).build());
        node.nodePublishVolume(publish(target).build());
        Files.writeString(target.resolve("ckpt"), "epoch-1");
        assertThat(export.resolve("ckpt")).hasContent("epoch-1");
        unpublish(target);
        assertThat(target).doesNotExist();
        unpublish(target);
        assertThat(export.resolve("ckpt")).hasContent("epoch-1");
    }

    @Test
    void aReadOnlyPublishRefusesWritesWithErofs() throws IOException {
        stageLocally();
        Path target = dir.resolve("ro");
        node.nodePublishVolume(publish(target).setReadonly(true).build());
        assertThatThrownBy(() -> Files.writeString(target.resolve("x"), "no"))
                .isInstanceOf(FileSystemException.class).hasMessageContaining("Read-only file system");
        Files.writeString(staging.resolve("visible"), "yes");
        assertThat(target.resolve("visible")).hasContent("yes");
        assertThat(codeOf(() -> node.nodePublishVolume(publish(target).build()))).isEqualTo(Status.Code.ALREADY_EXISTS);
        unpublish(target);
    }

    @Test
    void aReaderOnlyAccessModePublishesReadOnly() throws IOException {
        stageLocally();
        Path target = dir.resolve("reader");
        node.nodePublishVolume(publish(target)
                .setVolumeCapability(capability(VolumeCapability.AccessMode.Mode.MULTI_NODE_READER_ONLY)).build());
        assertThatThrownBy(() -> Files.writeString(target.resolve("x"), "no")).hasMessageContaining("Read-only");
        unpublish(target);
    }

    @Test
    void aSingleWriterVolumeIsPublishedAtOneTargetOnly() throws IOException {
        stageLocally();
        VolumeCapability single = capability(VolumeCapability.AccessMode.Mode.SINGLE_NODE_SINGLE_WRITER);
        node.nodePublishVolume(publish(dir.resolve("t1")).setVolumeCapability(single).build());
        assertThat(codeOf(() -> node.nodePublishVolume(publish(dir.resolve("t2")).setVolumeCapability(single).build())))
                .isEqualTo(Status.Code.FAILED_PRECONDITION);
        unpublish(dir.resolve("t1"));
        node.nodePublishVolume(publish(dir.resolve("t2")).setVolumeCapability(single).build());
        unpublish(dir.resolve("t2"));
    }

    @Test
    void volumeStatsReportBytesInodesAndAHealthyCondition() throws IOException {
        stageLocally();
        NodeGetVolumeStatsResponse stats = node.nodeGetVolumeStats(NodeGetVolumeStatsRequest.newBuilder()
                .setVolumeId("vol-1").setVolumePath(staging.toString()).build());
        assertThat(stats.getUsageList()).extracting(VolumeUsage::getUnit)
                .containsExactly(VolumeUsage.Unit.BYTES, VolumeUsage.Unit.INODES);
        assertThat(stats.getUsage(0).getTotal()).isPositive();
        assertThat(stats.getVolumeCondition().getAbnormal()).isFalse();
    }

    @Test
    void volumeStatsOfAPathThatIsNotMountedAreNotFound() {
        assertThat(codeOf(() -> node.nodeGetVolumeStats(NodeGetVolumeStatsRequest.newBuilder().setVolumeId("vol-1")
                .setVolumePath(dir.resolve("nothing").toString()).build()))).isEqualTo(Status.Code.NOT_FOUND);
        assertThat(codeOf(() -> node.nodeGetVolumeStats(NodeGetVolumeStatsRequest.newBuilder().setVolumeId("vol-1")
                .setVolumePath("some/path").build()))).isEqualTo(Status.Code.NOT_FOUND);
    }

    @Test
    void unstageUnmountsAndIsIdempotent() throws IOException {
        stageLocally();
        NodeUnstageVolumeRequest unstage = NodeUnstageVolumeRequest.newBuilder().setVolumeId("vol-1")
                .setStagingTargetPath(staging.toString()).build();
        node.nodeUnstageVolume(unstage);
        assertThat(TestMounts.isMounted(staging)).isFalse();
        assertThat(staging).isDirectory();
        node.nodeUnstageVolume(unstage);
    }
}
