package io.gatewaycsi.controller;

import io.gatewaycsi.common.testing.TestCapabilities;
import static org.assertj.core.api.Assertions.assertThat;
import static io.gatewaycsi.common.testing.StatusCodes.codeOf;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gatewaycsi.csi.v1.ControllerGetVolumeRequest;
import io.gatewaycsi.csi.v1.ControllerGrpc;
import io.gatewaycsi.csi.v1.CreateSnapshotRequest;
import io.gatewaycsi.csi.v1.CreateVolumeRequest;
import io.gatewaycsi.csi.v1.DeleteSnapshotRequest;
import io.gatewaycsi.csi.v1.DeleteVolumeRequest;
import io.gatewaycsi.csi.v1.ListSnapshotsRequest;
import io.gatewaycsi.csi.v1.ListSnapshotsResponse;
import io.gatewaycsi.csi.v1.Snapshot;
import io.gatewaycsi.csi.v1.ValidateVolumeCapabilitiesRequest;
import io.gatewaycsi.csi.v1.Volume;
import io.gatewaycsi.csi.v1.VolumeCapability;
import io.gatewaycsi.csi.v1.VolumeContentSource;
import io.gatewaycsi.nfs.testing.TestGateway;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(TestGateway.class)
class ControllerServiceGatewayTest {

    private static final VolumeCapability RWX = TestCapabilities.RWX;

    private final TestGateway gateway = TestGateway.get();
    private final String area = "ctrl-" + UUID.randomUUID().toString().substring(0, 8);
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

    private CreateVolumeRequest.Builder request(String name, String... parameters) {
        return VolumeRequests.of(gateway, name, area + "/${pv.metadata.name}", parameters);
    }

    private Volume create(String name, String... parameters) {
        return controller.createVolume(request(name, parameters).build()).getVolume();
    }

    private Path local(String name) {
        return gateway.local("/" + area + "/" + name);
    }

    private void delete(Volume volume) {
        controller.deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId(volume.getVolumeId()).build());
    }


    @Test
    void createVolumeMakesTheDirectoryWithItsModeAndDescribesItForTheNode() throws IOException {
        Volume volume = create("pvc-a", "mountPermissions", "0750", "nconnect", "8");
        Path dir = local("pvc-a");
        assertThat(dir).isDirectory();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir))).isEqualTo("rwxr-x---");
        assertThat(volume.getVolumeContextMap()).containsEntry("server", gateway.server())
                .containsEntry("share", gateway.share()).containsEntry("subDir", area + "/pvc-a")
                .containsEntry("nconnect", "8").containsEntry("mountMode", "hard");
        assertThat(volume.getCapacityBytes()).as("no capacity asked for: unknown").isZero();
        Volume sized = controller.createVolume(request("pvc-sized").setCapacityRange(
                io.gatewaycsi.csi.v1.CapacityRange.newBuilder().setRequiredBytes(5L << 30)).build()).getVolume();
        assertThat(sized.getCapacityBytes()).as("the capacity asked for, recorded (not enforced)").isEqualTo(5L << 30);
    }

    @Test
    void createVolumeIsIdempotentByNameAndRefusesAnIncompatibleRepeat() {
        Volume first = create("pvc-b");
        assertThat(create("pvc-b")).isEqualTo(first);
        assertThat(codeOf(() -> controller.createVolume(request("pvc-b").setCapacityRange(
                io.gatewaycsi.csi.v1.CapacityRange.newBuilder().setRequiredBytes(1 << 30)).build())))
                .isEqualTo(Status.Code.ALREADY_EXISTS);
    }

    @Test
    void aDirectoryThatIsNotOurVolumeIsNeverAdopted() throws IOException {
        Files.createDirectories(local("existing-data"));
        Files.writeString(local("existing-data").resolve("keep.txt"), "precious");
        assertThat(codeOf(() -> create("existing-data"))).isEqualTo(Status.Code.ALREADY_EXISTS);
        assertThat(local("existing-data").resolve("keep.txt")).hasContent("precious");
    }

    @Test
    void onDeleteDeleteRemovesTheTreeWithoutFollowingSymlinksOutOfIt() throws IOException {
        Path outside = Files.createDirectories(gateway.local("/" + area + "-outside"));
        Files.writeString(outside.resolve("victim.txt"), "must survive");
        Volume volume = create("pvc-del");
        Path dir = local("pvc-del");
        Files.createDirectories(dir.resolve("sub/deeper"));
        Files.writeString(dir.resolve("sub/deeper/file"), "data");
        Files.createSymbolicLink(dir.resolve("link-to-dir"), outside);
        Files.createSymbolicLink(dir.resolve("sub/link-to-file"), outside.resolve("victim.txt"));
        Files.createSymbolicLink(dir.resolve("escape"), Path.of("../../" + area + "-outside"));
        delete(volume);
        assertThat(dir).doesNotExist();
        assertThat(outside.resolve("victim.txt")).hasContent("must survive");
        assertThat(local("")).as("the parent made for the volume, now empty, is removed too").doesNotExist();
        delete(volume); // idempotent
    }

    @Test
    void onDeleteRetainKeepsTheData() throws IOException {
        Volume volume = create("pvc-keep", "onDelete", "retain");
        Files.writeString(local("pvc-keep").resolve("ckpt"), "epoch-7");
        delete(volume);
        assertThat(local("pvc-keep").resolve("ckpt")).hasContent("epoch-7");
    }

    @Test
    void onDeleteArchiveRenamesTheDirectoryAside() throws IOException {
        Volume volume = create("pvc-arch", "onDelete", "archive");
        Files.writeString(local("pvc-arch").resolve("ckpt"), "epoch-9");
        delete(volume);
        assertThat(local("pvc-arch")).doesNotExist();
        try (Stream<Path> entries = Files.list(local(""))) {
            Path archived = entries.filter(p -> p.getFileName().toString().startsWith("archived-pvc-arch-"))
                    .findFirst().orElseThrow();
            assertThat(archived.resolve("ckpt")).hasContent("epoch-9");
        }
    }

    @Test
    void unknownOrForeignIdsAreDeletedSuccessfullyAndNotFoundElsewhere() {
        controller.deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId("not-ours").build());
        assertThat(codeOf(() -> controller.validateVolumeCapabilities(ValidateVolumeCapabilitiesRequest.newBuilder()
                .setVolumeId("gw1|delete|4|" + gateway.server() + "|" + gateway.share() + "|" + area + "/none")
                .addVolumeCapabilities(RWX).build()))).isEqualTo(Status.Code.NOT_FOUND);
    }

    @Test
    void aMaximumLengthNameGetsAnIdWithinTheLimit() {
        String name = "n".repeat(128);
        Volume volume = create(name);
        assertThat(volume.getVolumeId().length()).isLessThanOrEqualTo(128);
        assertThat(local(name)).isDirectory();
        delete(volume);
        assertThat(local(name)).doesNotExist();
    }

    @Test
    void aSnapshotRestoresTheExactBytesOfATreeWithSubdirectoriesAndSymlinks() throws Exception {
        Volume volume = create("pvc-src");
        Path dir = local("pvc-src");
        Files.createDirectories(dir.resolve("shards/epoch-1"));
        byte[] big = new byte[3 * 1024 * 1024 + 17];
        new java.util.Random(7).nextBytes(big);
        Files.write(dir.resolve("shards/epoch-1/model.bin"), big);
        Files.writeString(dir.resolve("README"), "weights");
        Files.createSymbolicLink(dir.resolve("latest"), Path.of("shards/epoch-1"));
        Map<String, String> before = fingerprint(dir);

        Snapshot snapshot = controller.createSnapshot(CreateSnapshotRequest.newBuilder().setName("snap-" + area)
                .setSourceVolumeId(volume.getVolumeId()).build()).getSnapshot();
        assertThat(snapshot.getReadyToUse()).isTrue();
        assertThat(snapshot.getSizeBytes()).isEqualTo(big.length + "weights".length());
        Files.writeString(dir.resolve("README"), "changed after the snapshot");

        Volume restored = controller.createVolume(request("pvc-restored").setVolumeContentSource(
                VolumeContentSource.newBuilder().setSnapshot(VolumeContentSource.SnapshotSource.newBuilder()
                        .setSnapshotId(snapshot.getSnapshotId()))).build()).getVolume();
        assertThat(fingerprint(local("pvc-restored"))).isEqualTo(before);
        assertThat(restored.getContentSource().getSnapshot().getSnapshotId()).isEqualTo(snapshot.getSnapshotId());

        Volume clone = controller.createVolume(request("pvc-clone").setVolumeContentSource(
                VolumeContentSource.newBuilder().setVolume(VolumeContentSource.VolumeSource.newBuilder()
                        .setVolumeId(volume.getVolumeId()))).build()).getVolume();
        assertThat(fingerprint(local("pvc-clone"))).isEqualTo(fingerprint(dir));

        ListSnapshotsResponse listed = controller.listSnapshots(ListSnapshotsRequest.newBuilder()
                .setSourceVolumeId(volume.getVolumeId()).build());
        assertThat(listed.getEntriesList()).extracting(e -> e.getSnapshot().getSnapshotId())
                .containsExactly(snapshot.getSnapshotId());
        controller.deleteSnapshot(DeleteSnapshotRequest.newBuilder().setSnapshotId(snapshot.getSnapshotId()).build());
        assertThat(codeOf(() -> controller.createVolume(request("pvc-late").setVolumeContentSource(
                VolumeContentSource.newBuilder().setSnapshot(VolumeContentSource.SnapshotSource.newBuilder()
                        .setSnapshotId(snapshot.getSnapshotId()))).build()))).isEqualTo(Status.Code.NOT_FOUND);
        delete(clone);
        delete(restored);
        delete(volume);
    }

    @Test
    void aMissingContentSourceLeavesNothingBehindAndTheNameStaysUsable() {
        CreateVolumeRequest fromNothing = request("pvc-src-missing").setVolumeContentSource(
                VolumeContentSource.newBuilder().setVolume(VolumeContentSource.VolumeSource.newBuilder()
                        .setVolumeId("gw1|delete|4|" + gateway.server() + "|" + gateway.share() + "|" + area + "/gone")))
                .build();
        assertThat(codeOf(() -> controller.createVolume(fromNothing))).isEqualTo(Status.Code.NOT_FOUND);
        assertThat(local("pvc-src-missing")).doesNotExist();
        assertThat(create("pvc-src-missing").getVolumeId()).endsWith(area + "/pvc-src-missing");
    }

    @Test
    void getCapacityReportsTheSharesFreeSpace() throws IOException {
        long available = controller.getCapacity(io.gatewaycsi.csi.v1.GetCapacityRequest.newBuilder()
                .putAllParameters(Map.of("server", gateway.server(), "share", gateway.share())).build())
                .getAvailableCapacity();
        long local = Files.getFileStore(gateway.exportDir()).getUsableSpace();
        assertThat(available).isPositive().isCloseTo(local, org.assertj.core.data.Percentage.withPercentage(5));
    }

    @Test
    void controllerGetVolumeReportsAReachableDirectory() {
        Volume volume = create("pvc-get");
        var status = controller.controllerGetVolume(ControllerGetVolumeRequest.newBuilder()
                .setVolumeId(volume.getVolumeId()).build()).getStatus();
        assertThat(status.getVolumeCondition().getAbnormal()).isFalse();
        delete(volume);
        assertThat(codeOf(() -> controller.controllerGetVolume(ControllerGetVolumeRequest.newBuilder()
                .setVolumeId(volume.getVolumeId()).build()))).isEqualTo(Status.Code.NOT_FOUND);
    }

    @Test
    void badParametersAreInvalidArgumentNamingTheKey() {
        assertThatThrownBy(() -> create("pvc-bad", "timeo", "0"))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                    assertThat(e.getStatus().getDescription()).contains("parameter `timeo` must be 1..6000 deciseconds");
                });
        assertThat(local("pvc-bad")).doesNotExist();
    }

    /** relative path → sha256 of the file, "dir", or "-> target" for a symlink. */
    private static Map<String, String> fingerprint(Path root) throws IOException {
        Map<String, String> result = new TreeMap<>();
        try (Stream<Path> paths = Files.walk(root)) {
            paths.filter(p -> !p.equals(root)).forEach(p -> {
                String key = root.relativize(p).toString();
                try {
                    if (Files.isSymbolicLink(p)) {
                        result.put(key, "-> " + Files.readSymbolicLink(p));
                    } else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                        result.put(key, "dir");
                    } else {
                        result.put(key, HexFormat.of().formatHex(
                                MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p))));
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                } catch (java.security.NoSuchAlgorithmException e) {
                    throw new IllegalStateException(e);
                }
            });
        }
        return result;
    }
}
