package io.gatewaycsi.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.gatewaycsi.csi.v1.ControllerGrpc;
import io.gatewaycsi.csi.v1.CreateVolumeRequest;
import io.gatewaycsi.csi.v1.DeleteVolumeRequest;
import io.gatewaycsi.csi.v1.Volume;
import io.gatewaycsi.csi.v1.VolumeCapability;
import io.gatewaycsi.nfs.testing.TestGateway;
import io.grpc.ManagedChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The controller provisions on the real gateway as an ordinary user with no capabilities at all. */
@ExtendWith(TestGateway.class)
class UnprivilegedControllerIT {

    private static final int NOBODY = 65534;

    @TempDir
    Path dir;

    @Test
    void theControllerProvisionsAndDeletesAsNobodyWithNoCapabilities() throws Exception {
        TestGateway gateway = TestGateway.get();
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path socket = dir.resolve("controller.sock");
        String area = "unpriv-" + UUID.randomUUID().toString().substring(0, 8);
        try (DriverProcess controller = DriverProcess.start(socket, dir.resolve("controller.log"), NOBODY,
                "controller", "--endpoint", "unix://" + socket)) {
            assertThat(controller.status("Uid")).startsWith(NOBODY + "\t");
            assertThat(controller.status("CapEff")).isEqualTo("0000000000000000");
            assertThat(controller.status("CapPrm")).isEqualTo("0000000000000000");
            ManagedChannel channel = controller.channel();
            try {
                ControllerGrpc.ControllerBlockingStub stub = ControllerGrpc.newBlockingStub(channel);
                Volume volume = stub.createVolume(CreateVolumeRequest.newBuilder().setName("pvc-unpriv")
                        .putParameters("server", gateway.server()).putParameters("share", gateway.share())
                        .putParameters("subDir", area + "/${pv.metadata.name}").putParameters("nfsVersion", "4")
                        .addVolumeCapabilities(VolumeCapability.newBuilder()
                                .setMount(VolumeCapability.MountVolume.getDefaultInstance())
                                .setAccessMode(VolumeCapability.AccessMode.newBuilder()
                                        .setMode(VolumeCapability.AccessMode.Mode.MULTI_NODE_MULTI_WRITER)))
                        .build()).getVolume();
                assertThat(gateway.local("/" + area + "/pvc-unpriv")).isDirectory();
                stub.deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId(volume.getVolumeId()).build());
                assertThat(gateway.local("/" + area + "/pvc-unpriv")).doesNotExist();
            } finally {
                channel.shutdownNow();
            }
            assertThat(controller.log()).contains("event=volume-created").contains("event=volume-deleted");
        }
    }
}
