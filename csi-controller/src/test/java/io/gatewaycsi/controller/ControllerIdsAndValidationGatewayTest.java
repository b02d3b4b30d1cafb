package io.gatewaycsi.controller;

import static io.gatewaycsi.common.testing.StatusCodes.codeOf;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gatewaycsi.common.testing.TestCapabilities;
import io.gatewaycsi.csi.v1.ControllerGetVolumeRequest;
import io.gatewaycsi.csi.v1.ControllerGrpc;
import io.gatewaycsi.csi.v1.CreateSnapshotRequest;
import io.gatewaycsi.csi.v1.CreateVolumeRequest;
import io.gatewaycsi.csi.v1.DeleteSnapshotRequest;
import io.gatewaycsi.csi.v1.DeleteVolumeRequest;
import io.gatewaycsi.csi.v1.GetSnapshotRequest;
import io.gatewaycsi.csi.v1.ListSnapshotsRequest;
import io.gatewaycsi.csi.v1.Volume;
import io.gatewaycsi.nfs.testing.TestGateway;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What an ID may name, and values taken as given (issue 19.4), against the real gateway: IDs naming the
 * controller's own host are never dialed; an ID altered from the one CreateVolume returned names no volume;
 * a port in {@code server}, white space and control characters in values, a negative max_entries and
 * VolumeSnapshotClass parameters are refused with INVALID_ARGUMENT.
 */
@ExtendWith(TestGateway.class)
class ControllerIdsAndValidationGatewayTest {

    private final TestGateway gateway = TestGateway.get();
    private final String area = "ids-" + UUID.randomUUID().toString().substring(0, 8);
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

    private CreateVolumeRequest.Builder request(String name, String... more) {
        return VolumeRequests.of(gateway, name, area + "/${pv.metadata.name}", more);
    }

    private Status.Code getVolume(String id) {
        return codeOf(() -> controller.controllerGetVolume(ControllerGetVolumeRequest.newBuilder().setVolumeId(id)
                .build()));
    }

    @Test
    void idsNamingTheControllersOwnHostAreAnsweredWithoutConnecting() throws Exception {
        ServerSocket nfs;
        try {
            nfs = new ServerSocket();
            nfs.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 2049));
        } catch (IOException e) {
            Assumptions.abort("127.0.0.1:2049 is taken here: " + e.getMessage());
            return;
        }
        AtomicInteger connections = new AtomicInteger();
        Thread listener = Thread.ofVirtual().start(() -> {
            try (nfs) {
                nfs.setSoTimeout(200);
                while (!Thread.currentThread().isInterrupted()) {
                    try {
                        nfs.accept().close();
                        connections.incrementAndGet();
                    } catch (SocketTimeoutException ignored) {
                        // look at the interrupt flag again
                    }
                }
            } catch (IOException ignored) {
                // closed
            }
        });
        try {
            for (String server : new String[] {"127.0.0.1", "localhost"}) {
                String volumeId = "gw1|delete|4|" + server + "|/export|victim";
                String snapshotId = "gs1|4|" + server + "|/export|" + "0".repeat(32);
                assertThat(codeOf(() -> controller.deleteVolume(DeleteVolumeRequest.newBuilder()
                        .setVolumeId(volumeId).build()))).isEqualTo(Status.Code.OK);
                assertThat(getVolume(volumeId)).isEqualTo(Status.Code.NOT_FOUND);
                assertThat(codeOf(() -> controller.createSnapshot(CreateSnapshotRequest.newBuilder().setName("s")
                        .setSourceVolumeId(volumeId).build()))).isEqualTo(Status.Code.NOT_FOUND);
                assertThat(codeOf(() -> controller.deleteSnapshot(DeleteSnapshotRequest.newBuilder()
                        .setSnapshotId(snapshotId).build()))).isEqualTo(Status.Code.OK);
                assertThat(codeOf(() -> controller.getSnapshot(GetSnapshotRequest.newBuilder()
                        .setSnapshotId(snapshotId).build()))).isEqualTo(Status.Code.NOT_FOUND);
                assertThat(codeOf(() -> controller.listSnapshots(ListSnapshotsRequest.newBuilder()
                        .setSourceVolumeId(volumeId).build()))).isEqualTo(Status.Code.OK);
                assertThat(codeOf(() -> controller.createVolume(request("pv-local", "server", server).build())))
                        .isEqualTo(Status.Code.INVALID_ARGUMENT);
            }
        } finally {
            listener.interrupt();
            listener.join();
        }
        assertThat(connections).as("connections the controller opened to its own host").hasValue(0);
    }

    @Test
    void anIdAlteredToSayDeleteNamesNoVolumeAndForgetsNothing() throws IOException {
        Volume kept = controller.createVolume(request("pv-retained", "onDelete", "retain").build()).getVolume();
        Files.writeString(gateway.local("/" + area + "/pv-retained/ckpt"), "keep me");
        String altered = kept.getVolumeId().replace("|retain|", "|delete|");
        assertThat(altered).isNotEqualTo(kept.getVolumeId());
        assertThat(getVolume(altered)).isEqualTo(Status.Code.NOT_FOUND);
        assertThat(codeOf(() -> controller.deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId(altered).build())))
                .isEqualTo(Status.Code.OK);
        assertThat(getVolume(kept.getVolumeId())).as("the volume and its record are still there")
                .isEqualTo(Status.Code.OK);
        assertThat(gateway.local("/" + area + "/pv-retained/ckpt")).hasContent("keep me");
        String otherVersion = kept.getVolumeId().replace("|4|", "|4.1|");
        assertThat(getVolume(otherVersion)).isEqualTo(Status.Code.NOT_FOUND);
        controller.deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId(kept.getVolumeId()).build());
        assertThat(getVolume(kept.getVolumeId())).isEqualTo(Status.Code.NOT_FOUND);
    }

    @Test
    void theIdOfAVolumeWhoseVersionAMountOptionChoseStillNamesIt() {
        Map<String, String> parameters = new TreeMap<>(Map.of("server", gateway.server(), "share", gateway.share(),
                "subDir", area + "/${pv.metadata.name}", "mountOptions", "vers=4.0"));
        Volume volume = controller.createVolume(CreateVolumeRequest.newBuilder().setName("pv-vers")
                .addVolumeCapabilities(TestCapabilities.RWX).putAllParameters(parameters).build()).getVolume();
        assertThat(volume.getVolumeContextMap()).doesNotContainKey("nfsVersion");
        assertThat(getVolume(volume.getVolumeId())).isEqualTo(Status.Code.OK);
        controller.deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId(volume.getVolumeId()).build());
        assertThat(gateway.local("/" + area + "/pv-vers")).doesNotExist();
    }

    @Test
    void aPortInServerIsRefusedNamingTheMountOptionPort() {
        for (String server : new String[] {gateway.server() + ":2049", "gateway.example:2049", "[fd00::2]:2049"}) {
            assertThatThrownBy(() -> controller.createVolume(request("pv-port", "server", server).build()))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                        assertThat(e.getStatus().getDescription()).contains("port=2049").contains("mountOptions");
                    });
        }
    }

    @Test
    void whiteSpaceAndControlCharactersAreRefusedNotTrimmed() {
        String[][] cases = {{"share", gateway.share() + "\n"}, {"timeo", " 600"}, {"timeo", "600\n"},
                {"server", " " + gateway.server()}, {"mountMode", "hard\t"}, {"subDir", area + "/x\n"}};
        for (String[] bad : cases) {
            assertThat(codeOf(() -> controller.createVolume(request("pv-ws", bad[0], bad[1]).build())))
                    .as("%s=`%s`", bad[0], bad[1]).isEqualTo(Status.Code.INVALID_ARGUMENT);
        }
        assertThat(gateway.local("/" + area)).doesNotExist();
    }

    @Test
    void listSnapshotsRefusesANegativeMaxEntriesAndCreateSnapshotUnknownParameters() {
        assertThat(codeOf(() -> controller.listSnapshots(ListSnapshotsRequest.newBuilder().setMaxEntries(-1).build())))
                .isEqualTo(Status.Code.INVALID_ARGUMENT);
        Volume volume = controller.createVolume(request("pv-snap").build()).getVolume();
        assertThat(codeOf(() -> controller.createSnapshot(CreateSnapshotRequest.newBuilder().setName("snap-" + area)
                .setSourceVolumeId(volume.getVolumeId()).putParameters("retention", "7d").build())))
                .isEqualTo(Status.Code.INVALID_ARGUMENT);
        var snapshot = controller.createSnapshot(CreateSnapshotRequest.newBuilder().setName("snap-" + area)
                .setSourceVolumeId(volume.getVolumeId())
                .putParameters("csi.storage.k8s.io/volumesnapshot/name", "daily").build()).getSnapshot();
        assertThat(snapshot.getReadyToUse()).isTrue();
        controller.deleteSnapshot(DeleteSnapshotRequest.newBuilder().setSnapshotId(snapshot.getSnapshotId()).build());
        controller.deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId(volume.getVolumeId()).build());
    }
}
