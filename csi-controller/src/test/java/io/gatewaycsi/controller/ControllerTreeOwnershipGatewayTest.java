package io.gatewaycsi.controller;

import static io.gatewaycsi.common.testing.StatusCodes.codeOf;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gatewaycsi.common.volume.VolumeId;
import io.gatewaycsi.csi.v1.ControllerGrpc;
import io.gatewaycsi.csi.v1.CreateVolumeRequest;
import io.gatewaycsi.csi.v1.DeleteVolumeRequest;
import io.gatewaycsi.csi.v1.Volume;
import io.gatewaycsi.nfs.NfsClient;
import io.gatewaycsi.nfs.NfsSession;
import io.gatewaycsi.nfs.NfsSessionOptions;
import io.gatewaycsi.nfs.testing.TestGateway;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A volume owns its tree (issue 19.1, 19.4 last item, 19.5, 19.6), against the real gateway: no volume inside
 * another volume or inside a directory gateway-csi did not make, no volume around another, no delete or
 * archive of a tree that holds another volume; parents made for nested subDirs have a stated mode and go away
 * with their last volume.
 */
@ExtendWith(TestGateway.class)
class ControllerTreeOwnershipGatewayTest {

    private final TestGateway gateway = TestGateway.get();
    private final String area = "owner-" + UUID.randomUUID().toString().substring(0, 8);
    private InProcessController driver;
    private ControllerGrpc.ControllerBlockingStub controller;
    /** What a pod or another client does on the share, through the gateway. */
    private NfsSession client;

    @BeforeEach
    void start() throws IOException {
        driver = new InProcessController();
        controller = driver.stub;
        client = NfsClient.libnfs().connect(gateway.target(), NfsSessionOptions.defaults().withCredentials(0, 0));
    }

    @AfterEach
    void stop() {
        client.close();
        driver.close();
    }

    /** CreateVolume {@code name} with subDir template {@code subDir} (below the area) and the given claim. */
    private CreateVolumeRequest.Builder request(String name, String subDir, String... more) {
        return VolumeRequests.of(gateway, name, area + "/" + subDir, more);
    }

    private Volume create(String name, String subDir, String... more) {
        return controller.createVolume(request(name, subDir, more).build()).getVolume();
    }

    private Status.Code delete(Volume volume) {
        return codeOf(() -> controller.deleteVolume(DeleteVolumeRequest.newBuilder()
                .setVolumeId(volume.getVolumeId()).build()));
    }

    private Path local(String relative) {
        return gateway.local("/" + area + "/" + relative);
    }

    @Test
    void aVolumeInsideAnotherVolumeIsRefusedSoDeletingTheOuterOneCannotTakeItsData() throws IOException {
        Volume parent = create("parentvol", "parentvol");
        Files.writeString(local("parentvol/own.txt"), "the parent's");
        assertThatThrownBy(() -> create("childvol", "parentvol/child"))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
                    assertThat(e.getStatus().getDescription()).contains("inside volume `parentvol`");
                });
        assertThat(local("parentvol/child")).doesNotExist();
        assertThat(delete(parent)).isEqualTo(Status.Code.OK);
    }

    @Test
    void theTwoStorageClassesOfOneShareCannotReachIntoEachOther() {
        // One class names volumes by claim, the other by namespace/claim: a claim named like a namespace.
        Volume team = create("pv-team", "${pvc.metadata.name}",
                "csi.storage.k8s.io/pvc/name", "team-a", "csi.storage.k8s.io/pvc/namespace", "evil");
        Volume nested = create("pv-nested", "${pvc.metadata.namespace}/${pvc.metadata.name}",
                "csi.storage.k8s.io/pvc/name", "data", "csi.storage.k8s.io/pvc/namespace", "team-b");
        assertThat(codeOf(() -> create("pv-inside", "${pvc.metadata.namespace}/${pvc.metadata.name}",
                "csi.storage.k8s.io/pvc/name", "data", "csi.storage.k8s.io/pvc/namespace", "team-a")))
                .as("a volume inside the claim `team-a`'s volume").isEqualTo(Status.Code.FAILED_PRECONDITION);
        assertThat(codeOf(() -> create("pv-around", "${pvc.metadata.name}",
                "csi.storage.k8s.io/pvc/name", "team-b", "csi.storage.k8s.io/pvc/namespace", "evil")))
                .as("a volume around namespace team-b's volumes").isEqualTo(Status.Code.FAILED_PRECONDITION);
        assertThat(delete(nested)).isEqualTo(Status.Code.OK);
        assertThat(delete(team)).isEqualTo(Status.Code.OK);
    }

    @Test
    void aVolumeInsideARetainedVolumeOrSomeoneElsesDirectoryIsRefused() throws IOException {
        Volume kept = create("pv-kept", "${pv.metadata.name}", "onDelete", "retain");
        assertThat(delete(kept)).isEqualTo(Status.Code.OK);
        assertThat(local("pv-kept")).isDirectory();
        assertThat(codeOf(() -> create("pv-in-kept", "pv-kept/${pv.metadata.name}")))
                .isEqualTo(Status.Code.FAILED_PRECONDITION);
        Files.createDirectories(local("their-data"));
        Files.writeString(local("their-data/report.csv"), "theirs");
        assertThat(codeOf(() -> create("pv-in-theirs", "their-data/${pv.metadata.name}")))
                .isEqualTo(Status.Code.FAILED_PRECONDITION);
        assertThat(local("their-data/pv-in-theirs")).doesNotExist();
    }

    @Test
    void deleteAndArchiveRefuseATreeThatHoldsAnotherVolume() throws Exception {
        for (String onDelete : new String[] {"delete", "archive"}) {
            Volume outer = create("outer-" + onDelete, "outer-" + onDelete, "onDelete", onDelete);
            Volume inner = create("inner-" + onDelete, "elsewhere-" + onDelete);
            Files.writeString(local("elsewhere-" + onDelete + "/ckpt"), "inner data");
            // A volume nested by an earlier version of the driver: its directory and record moved inside.
            String innerSubDir = area + "/outer-" + onDelete + "/inner";
            moveVolume(area + "/elsewhere-" + onDelete, innerSubDir);

            assertThatThrownBy(() -> controller.deleteVolume(DeleteVolumeRequest.newBuilder()
                    .setVolumeId(outer.getVolumeId()).build()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
                        assertThat(e.getStatus().getDescription()).contains("holds volume `inner-" + onDelete + "`");
                    });
            assertThat(local("outer-" + onDelete + "/inner/ckpt")).hasContent("inner data");
            assertThat(codeOf(() -> controller.deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId(
                    VolumeId.of("delete", "4", gateway.server(), gateway.share(), innerSubDir).encode()).build())))
                    .isEqualTo(Status.Code.OK);
            assertThat(delete(outer)).as("nothing inside any more").isEqualTo(Status.Code.OK);
            assertThat(delete(inner)).isEqualTo(Status.Code.OK);
        }
    }

    /** Moves a volume's directory and record to another subDir, as a volume nested before the check existed. */
    private void moveVolume(String from, String to) throws Exception {
        String fromRecord = GatewayLayout.volumeRecord(VolumeId.digestOf(from));
        VolumeRecord record = VolumeRecord.parse(GatewayFiles.readSmallIfExists(client, fromRecord).orElseThrow());
        Map<String, String> context = new TreeMap<>(record.context());
        context.put("subDir", to);
        VolumeRecord moved = new VolumeRecord(record.name(), to, record.requiredBytes(), record.limitBytes(),
                record.source(), context, true);
        client.rename("/" + from, "/" + to);
        GatewayFiles.writeAtomically(client, GatewayLayout.volumeRecord(VolumeId.digestOf(to)), moved.toBytes());
        client.unlink(fromRecord);
    }

    @Test
    void parentsMadeForANestedSubDirHaveAStatedModeAndGoWithTheirLastVolume() throws IOException {
        Volume first = create("pv-1", "ns-x/${pv.metadata.name}", "mountPermissions", "0700");
        Volume second = create("pv-2", "ns-x/${pv.metadata.name}", "mountPermissions", "0700");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(local("ns-x"))))
                .as("parents are 0755: mountPermissions is the volume's own directory's mode")
                .isEqualTo("rwxr-xr-x");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(local("ns-x/pv-1"))))
                .isEqualTo("rwx------");
        assertThat(delete(first)).isEqualTo(Status.Code.OK);
        assertThat(local("ns-x")).as("still holds pv-2").isDirectory();
        assertThat(delete(second)).isEqualTo(Status.Code.OK);
        assertThat(local("ns-x")).as("made for the volumes, empty, removed").doesNotExist();
        assertThat(gateway.local("/" + area)).doesNotExist();
        Volume named = create("ns-x", "${pv.metadata.name}");
        assertThat(local("ns-x")).isDirectory();
        assertThat(delete(named)).isEqualTo(Status.Code.OK);
    }

    @Test
    void alreadyExistsSaysTheDirectoryBelongsToAnotherVolume() {
        Volume first = create("pv-a", "datasets/${pvc.metadata.name}",
                "csi.storage.k8s.io/pvc/name", "imagenet", "csi.storage.k8s.io/pvc/namespace", "team-a");
        assertThatThrownBy(() -> create("pv-b", "datasets/${pvc.metadata.name}",
                "csi.storage.k8s.io/pvc/name", "imagenet", "csi.storage.k8s.io/pvc/namespace", "team-b"))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.ALREADY_EXISTS);
                    assertThat(e.getStatus().getDescription()).contains("belongs to another volume, `pv-a`")
                            .contains("${pvc.metadata.namespace}").doesNotContain("different request");
                });
        assertThat(delete(first)).isEqualTo(Status.Code.OK);
    }
}
