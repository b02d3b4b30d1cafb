package io.gatewaycsi.controller;

import static io.gatewaycsi.common.testing.StatusCodes.codeOf;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gatewaycsi.common.volume.VolumeId;
import io.gatewaycsi.csi.v1.ControllerGrpc;
import io.gatewaycsi.csi.v1.CreateSnapshotRequest;
import io.gatewaycsi.csi.v1.DeleteSnapshotRequest;
import io.gatewaycsi.csi.v1.Snapshot;
import io.gatewaycsi.csi.v1.DeleteVolumeRequest;
import io.gatewaycsi.csi.v1.GetSnapshotRequest;
import io.gatewaycsi.csi.v1.Volume;
import io.gatewaycsi.csi.v1.VolumeContentSource;
import io.gatewaycsi.nfs.testing.TestGateway;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Directory chains deeper than the gateway resolves in one request (issue 19.2), against the real gateway:
 * nfs-ganesha refuses a COMPOUND of about a hundred LOOKUPs with NFS4ERR_RESOURCE, and a pod can make such a
 * chain in its volume. DeleteVolume still removes the whole tree; snapshots, restores and clones of 100 and
 * 128 levels copy it exactly; a chain beyond what the copy reaches is refused with FAILED_PRECONDITION naming
 * the cause, leaving neither a partial copy nor a record behind.
 */
@ExtendWith(TestGateway.class)
class ControllerDeepTreeGatewayTest {

    private final TestGateway gateway = TestGateway.get();
    private final String area = "deep-" + UUID.randomUUID().toString().substring(0, 8);
    private InProcessController driver;
    private ControllerGrpc.ControllerBlockingStub controller;

    @BeforeEach
    void start() throws IOException {
        driver = new InProcessController();
        controller = driver.stub;
    }

    @AfterEach
    void stop() {
        driver.close();
    }

    private Volume create(String name) {
        return controller.createVolume(VolumeRequests.of(gateway, name, area + "/${pv.metadata.name}").build())
                .getVolume();
    }

    /** What a pod writes: a chain {@code depth} directories deep with a file on every tenth level. */
    private Path chain(Path volume, int depth) throws IOException {
        Path dir = volume;
        for (int level = 1; level <= depth; level++) {
            dir = dir.resolve("d");
            Files.createDirectory(dir);
            if (level % 10 == 0 || level == depth) {
                Files.writeString(dir.resolve("f"), "level " + level);
            }
        }
        return dir;
    }

    private long leftoversInTmp() throws IOException {
        Path tmp = gateway.local("/.gateway-csi/tmp");
        if (!Files.isDirectory(tmp)) {
            return 0;
        }
        try (Stream<Path> entries = Files.list(tmp)) {
            return entries.filter(p -> p.getFileName().toString().startsWith("removing-")).count();
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {100, 128})
    void aVolumeHoldingAChainDeeperThanTheGatewayResolvesAtOnceIsDeleted(int depth) throws IOException {
        Volume volume = create("pv-deep-" + depth);
        Path dir = gateway.local("/" + area + "/pv-deep-" + depth);
        assertThat(chain(dir, depth).resolve("f")).hasContent("level " + depth);

        assertThat(codeOf(() -> controller.deleteVolume(DeleteVolumeRequest.newBuilder()
                .setVolumeId(volume.getVolumeId()).build()))).isEqualTo(Status.Code.OK);
        assertThat(dir).doesNotExist();
        assertThat(leftoversInTmp()).as("subtrees moved up while removing").isZero();
    }

    @ParameterizedTest
    @ValueSource(ints = {100, 128})
    void suchAChainIsSnapshottedRestoredAndClonedExactly(int depth) throws IOException {
        Volume volume = create("pv-snap-" + depth);
        Path dir = gateway.local("/" + area + "/pv-snap-" + depth);
        Path bottom = chain(dir, depth);
        Files.setPosixFilePermissions(bottom, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-x---"));
        Map<String, String> before = ControllerHostileInputTest.fingerprint(dir);

        Snapshot snapshot = controller.createSnapshot(CreateSnapshotRequest.newBuilder()
                .setName("snap-" + area + "-" + depth).setSourceVolumeId(volume.getVolumeId()).build()).getSnapshot();
        assertThat(snapshot.getReadyToUse()).isTrue();
        Volume restored = controller.createVolume(VolumeRequests.of(gateway, "pv-restored-" + depth,
                area + "/${pv.metadata.name}").setVolumeContentSource(VolumeContentSource.newBuilder().setSnapshot(
                        VolumeContentSource.SnapshotSource.newBuilder().setSnapshotId(snapshot.getSnapshotId())))
                .build()).getVolume();
        Volume clone = controller.createVolume(VolumeRequests.of(gateway, "pv-clone-" + depth,
                area + "/${pv.metadata.name}").setVolumeContentSource(VolumeContentSource.newBuilder().setVolume(
                        VolumeContentSource.VolumeSource.newBuilder().setVolumeId(volume.getVolumeId()))).build())
                .getVolume();
        for (String copy : new String[] {"pv-restored-" + depth, "pv-clone-" + depth}) {
            Path copied = gateway.local("/" + area + "/" + copy);
            assertThat(ControllerHostileInputTest.fingerprint(copied)).as(copy).isEqualTo(before);
            assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(
                    copied.resolve(dir.relativize(bottom))))).as("the deepest directory's mode").isEqualTo("rwxr-x---");
        }
        controller.deleteSnapshot(DeleteSnapshotRequest.newBuilder().setSnapshotId(snapshot.getSnapshotId()).build());
        assertThat(gateway.local("/.gateway-csi/snapshots/" + VolumeId.digestOf("snap-" + area + "-" + depth)
                + ".data")).doesNotExist();
        for (Volume v : new Volume[] {clone, restored, volume}) {
            assertThat(codeOf(() -> controller.deleteVolume(DeleteVolumeRequest.newBuilder()
                    .setVolumeId(v.getVolumeId()).build()))).isEqualTo(Status.Code.OK);
        }
        assertThat(leftoversInTmp()).as("partial copies and subtrees moved up").isZero();
    }

    @Test
    void aSnapshotOfAChainBeyondReachIsRefusedNamingTheCauseAndLeavesNothingBehind() throws IOException {
        int depth = 220;
        Volume volume = create("pv-snap-" + depth);
        Path dir = gateway.local("/" + area + "/pv-snap-" + depth);
        chain(dir, depth);

        String name = "snap-" + area + "-" + depth;
        assertThatThrownBy(() -> controller.createSnapshot(CreateSnapshotRequest.newBuilder().setName(name)
                .setSourceVolumeId(volume.getVolumeId()).build()))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
                    assertThat(e.getStatus().getDescription()).contains("NFS4ERR_RESOURCE").contains("deeper");
                });
        String digest = VolumeId.digestOf(name);
        assertThat(gateway.local("/.gateway-csi/tmp/snapshot-" + digest)).as("the partial copy").doesNotExist();
        assertThat(gateway.local("/.gateway-csi/snapshots/" + digest + ".properties")).as("the unfinished record")
                .doesNotExist();
        assertThat(codeOf(() -> controller.getSnapshot(GetSnapshotRequest.newBuilder()
                .setSnapshotId(new SnapshotId("4", gateway.server(), gateway.share(), digest).encode()).build())))
                .isEqualTo(Status.Code.NOT_FOUND);

        assertThat(codeOf(() -> controller.createVolume(VolumeRequests.of(gateway, "pv-clone-" + depth,
                area + "/${pv.metadata.name}").setVolumeContentSource(VolumeContentSource.newBuilder().setVolume(
                        VolumeContentSource.VolumeSource.newBuilder().setVolumeId(volume.getVolumeId()))).build())))
                .as("a clone of it").isEqualTo(Status.Code.FAILED_PRECONDITION);
        assertThat(gateway.local("/.gateway-csi/tmp/volume-" + VolumeId.digestOf(area + "/pv-clone-" + depth)))
                .as("the clone's partial copy").doesNotExist();

        assertThat(codeOf(() -> controller.deleteVolume(DeleteVolumeRequest.newBuilder()
                .setVolumeId(volume.getVolumeId()).build()))).isEqualTo(Status.Code.OK);
        assertThat(dir).doesNotExist();
        assertThat(leftoversInTmp()).as("subtrees moved up while removing").isZero();
    }
}
