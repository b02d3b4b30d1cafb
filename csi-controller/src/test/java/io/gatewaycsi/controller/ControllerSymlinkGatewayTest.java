package io.gatewaycsi.controller;

import io.gatewaycsi.common.testing.TestCapabilities;
import static io.gatewaycsi.common.testing.StatusCodes.codeOf;
import static org.assertj.core.api.Assertions.assertThat;

import io.gatewaycsi.csi.v1.ControllerGrpc;
import io.gatewaycsi.csi.v1.CreateSnapshotRequest;
import io.gatewaycsi.csi.v1.CreateVolumeRequest;
import io.gatewaycsi.csi.v1.DeleteSnapshotRequest;
import io.gatewaycsi.csi.v1.DeleteVolumeRequest;
import io.gatewaycsi.csi.v1.Snapshot;
import io.gatewaycsi.csi.v1.Volume;
import io.gatewaycsi.csi.v1.VolumeCapability;
import io.gatewaycsi.csi.v1.VolumeContentSource;
import io.gatewaycsi.nfs.NfsClient;
import io.gatewaycsi.nfs.NfsSession;
import io.gatewaycsi.nfs.NfsSessionOptions;
import io.gatewaycsi.nfs.testing.TestGateway;
import io.grpc.Status;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Symbolic links a pod plants — inside its volume, in place of its volume's directory, or in place of a
 * directory on the way to it (a pod whose volume is the parent of another) — never make the controller's
 * DeleteVolume, CreateSnapshot, clone or CreateVolume touch anything outside the volume: links inside are
 * copied and removed as links, and a link on the way (or as the volume's directory, for reads) is refused
 * with FAILED_PRECONDITION. A victim tree beside the test's area must come through every test unchanged.
 */
@ExtendWith(TestGateway.class)
class ControllerSymlinkGatewayTest {

    private static final VolumeCapability RWX = TestCapabilities.RWX;

    private final TestGateway gateway = TestGateway.get();
    private final String area = "symlink-" + UUID.randomUUID().toString().substring(0, 8);
    private final String victimName = area + "-victim";
    private InProcessController driver;
    private ControllerGrpc.ControllerBlockingStub controller;
    private Path victim;
    private Map<String, String> victimBefore;
    /** What a pod does through its own mount: changes go through the gateway (ganesha caches what it serves). */
    private NfsSession pod;

    @BeforeEach
    void start() throws IOException {
        driver = new InProcessController();
        controller = driver.stub;
        victim = gateway.local("/" + victimName);
        Files.createDirectories(victim.resolve("pvc-v"));
        Files.writeString(victim.resolve("pvc-v/model.bin"), "another team's weights");
        Files.writeString(victim.resolve("secret.txt"), "must survive");
        victimBefore = ControllerHostileInputTest.fingerprint(victim);
        pod = NfsClient.libnfs().connect(gateway.target(), NfsSessionOptions.defaults().withCredentials(0, 0));
    }

    @AfterEach
    void stop() throws IOException {
        try {
            assertThat(ControllerHostileInputTest.fingerprint(victim)).as("the victim tree").isEqualTo(victimBefore);
        } finally {
            pod.close();
            driver.close();
        }
    }

    private CreateVolumeRequest.Builder request(String name, String subDirTemplate) {
        return CreateVolumeRequest.newBuilder().setName(name).addVolumeCapabilities(RWX).putAllParameters(new TreeMap<>(
                Map.of("server", gateway.server(), "share", gateway.share(), "subDir", subDirTemplate,
                        "nfsVersion", "4")));
    }

    private Volume create(String name) {
        return controller.createVolume(request(name, area + "/team/${pv.metadata.name}").build()).getVolume();
    }

    private Path local(String relative) {
        return gateway.local("/" + area + "/" + relative);
    }

    private Status.Code delete(Volume volume) {
        return codeOf(() -> controller.deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId(volume.getVolumeId())
                .build()));
    }

    private Status.Code snapshot(String name, Volume volume, Snapshot[] out) {
        return codeOf(() -> out[0] = controller.createSnapshot(CreateSnapshotRequest.newBuilder().setName(name)
                .setSourceVolumeId(volume.getVolumeId()).build()).getSnapshot());
    }

    private Status.Code cloneOf(String name, Volume volume, Volume[] out) {
        return codeOf(() -> out[0] = controller.createVolume(request(name, area + "/${pv.metadata.name}")
                .setVolumeContentSource(VolumeContentSource.newBuilder().setVolume(
                        VolumeContentSource.VolumeSource.newBuilder().setVolumeId(volume.getVolumeId()))).build())
                .getVolume());
    }

    @Test
    void linksInsideAVolumeAreSnapshottedClonedAndDeletedAsLinks() throws IOException {
        Volume volume = create("pvc-links");
        Path dir = local("team/pvc-links");
        Files.writeString(dir.resolve("own.txt"), "ours");
        String in = "/" + area + "/team/pvc-links/";
        pod.symlink("../../../" + victimName, in + "relative");
        pod.symlink("/" + victimName, in + "absolute");
        pod.symlink("/", in + "root");

        Snapshot[] snapshot = new Snapshot[1];
        assertThat(snapshot("snap-links-" + area, volume, snapshot)).isEqualTo(Status.Code.OK);
        Volume restored = controller.createVolume(request("pvc-restored", area + "/${pv.metadata.name}")
                .setVolumeContentSource(VolumeContentSource.newBuilder().setSnapshot(
                        VolumeContentSource.SnapshotSource.newBuilder().setSnapshotId(snapshot[0].getSnapshotId())))
                .build()).getVolume();
        Volume[] clone = new Volume[1];
        assertThat(cloneOf("pvc-clone", volume, clone)).isEqualTo(Status.Code.OK);
        for (Path copy : new Path[] {local("pvc-restored"), local("pvc-clone")}) {
            assertThat(copy.resolve("own.txt")).hasContent("ours");
            assertThat(Files.isSymbolicLink(copy.resolve("relative"))).isTrue();
            assertThat(Files.readSymbolicLink(copy.resolve("relative"))).isEqualTo(Path.of("../../../" + victimName));
            assertThat(Files.isSymbolicLink(copy.resolve("absolute"))).isTrue();
            assertThat(Files.isSymbolicLink(copy.resolve("root"))).isTrue();
            try (var entries = Files.list(copy)) {
                assertThat(entries.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("own.txt",
                        "relative", "absolute", "root");
            }
        }
        assertThat(codeOf(() -> controller.deleteSnapshot(DeleteSnapshotRequest.newBuilder()
                .setSnapshotId(snapshot[0].getSnapshotId()).build()))).isEqualTo(Status.Code.OK);
        for (Volume v : new Volume[] {volume, restored, clone[0]}) {
            assertThat(delete(v)).isEqualTo(Status.Code.OK);
        }
        assertThat(dir).doesNotExist();
        assertThat(local("pvc-restored")).doesNotExist();
        assertThat(local("pvc-clone")).doesNotExist();
    }

    @Test
    void aDirectoryOnTheWayReplacedByALinkMakesDeleteSnapshotCloneAndCreateRefuse() throws IOException {
        Volume volume = create("pvc-v");
        Files.writeString(local("team/pvc-v/model.bin"), "our weights");
        // A pod whose volume is the parent directory swaps `team` for a link to another team's area.
        pod.rename("/" + area + "/team", "/" + area + "/team-moved");
        pod.symlink("../" + victimName, "/" + area + "/team");

        assertThat(delete(volume)).isEqualTo(Status.Code.FAILED_PRECONDITION);
        assertThat(snapshot("snap-v-" + area, volume, new Snapshot[1])).isEqualTo(Status.Code.FAILED_PRECONDITION);
        assertThat(cloneOf("pvc-stolen", volume, new Volume[1])).isEqualTo(Status.Code.FAILED_PRECONDITION);
        assertThat(local("pvc-stolen")).doesNotExist();
        assertThat(codeOf(() -> create("pvc-new"))).isEqualTo(Status.Code.FAILED_PRECONDITION);
        assertThat(victim.resolve("pvc-new")).doesNotExist();

        pod.unlink("/" + area + "/team");
        pod.rename("/" + area + "/team-moved", "/" + area + "/team");
        assertThat(delete(volume)).isEqualTo(Status.Code.OK);
        assertThat(local("team/pvc-v")).doesNotExist();
    }

    @Test
    void aVolumeDirectoryReplacedByALinkIsNeitherCopiedNorFollowedAndIsDeletedAsALink() throws IOException {
        Volume volume = create("pvc-w");
        Path dir = local("team/pvc-w");
        pod.rmdir("/" + area + "/team/pvc-w");
        pod.symlink("../../" + victimName + "/pvc-v", "/" + area + "/team/pvc-w");

        assertThat(snapshot("snap-w-" + area, volume, new Snapshot[1])).isEqualTo(Status.Code.FAILED_PRECONDITION);
        assertThat(cloneOf("pvc-w-clone", volume, new Volume[1])).isEqualTo(Status.Code.FAILED_PRECONDITION);
        assertThat(local("pvc-w-clone")).doesNotExist();
        assertThat(delete(volume)).isEqualTo(Status.Code.OK);
        assertThat(Files.exists(dir, LinkOption.NOFOLLOW_LINKS)).as("the link itself is removed").isFalse();
    }

    @Test
    void anIdNamingADirectoryThisDriverDidNotCreateNamesNoVolume() throws IOException {
        String prefix = "gw1|delete|4|" + gateway.server() + "|" + gateway.share() + "|";
        for (String subDir : new String[] {victimName, victimName + "/pvc-v", ".gateway-csi", ".gateway-csi/volumes"}) {
            assertThat(codeOf(() -> controller.deleteVolume(DeleteVolumeRequest.newBuilder()
                    .setVolumeId(prefix + subDir).build()))).isEqualTo(Status.Code.OK);
            assertThat(gateway.local("/" + subDir)).isDirectory();
            assertThat(codeOf(() -> controller.createSnapshot(CreateSnapshotRequest.newBuilder().setName("s-" + area)
                    .setSourceVolumeId(prefix + subDir).build()))).isEqualTo(Status.Code.NOT_FOUND);
        }
        // An ID may not change what DeleteVolume does either: a retained volume stays retained.
        Volume kept = controller.createVolume(request("pvc-kept", area + "/${pv.metadata.name}")
                .putParameters("onDelete", "retain").build()).getVolume();
        Files.writeString(local("pvc-kept/ckpt"), "epoch-3");
        String asDelete = kept.getVolumeId().replace("|retain|", "|delete|");
        assertThat(codeOf(() -> controller.deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId(asDelete)
                .build()))).isEqualTo(Status.Code.OK);
        assertThat(local("pvc-kept/ckpt")).hasContent("epoch-3");
        // A subDir inside the driver's own directory is refused.
        assertThat(codeOf(() -> controller.createVolume(request("pvc-x", ".gateway-csi/${pv.metadata.name}").build())))
                .isEqualTo(Status.Code.INVALID_ARGUMENT);
    }
}
