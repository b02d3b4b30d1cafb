package io.gatewaycsi.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.gatewaycsi.common.testing.Reliability;
import io.gatewaycsi.common.volume.VolumeId;
import io.gatewaycsi.csi.v1.ControllerGrpc;
import io.gatewaycsi.csi.v1.CreateSnapshotRequest;
import io.gatewaycsi.csi.v1.CreateVolumeRequest;
import io.gatewaycsi.csi.v1.DeleteVolumeRequest;
import io.gatewaycsi.csi.v1.Volume;
import io.gatewaycsi.nfs.testing.TestGateway;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Least privilege and symbolic links, on the real processes: sockets are 0660, the node's state directory
 * 0700 (narrowed when it exists wider), the gateway's record directories 0700 with 0600 records; the mount
 * helper runs with CAP_SYS_ADMIN and CAP_NET_BIND_SERVICE only (no_new_privs set) and still mounts; the
 * controller runs as nobody with no capability. A pod that plants symbolic links through its own mount — in
 * its volume, or in place of a directory on the way to another volume — cannot make the node publish or stage,
 * or the controller delete or snapshot, anything outside that volume.
 */
@ExtendWith(TestGateway.class)
class HardeningIT {

    private static final int NOBODY = 65534;
    private static final String RW_RW = "rw-rw----";

    @TempDir
    Path dir;

    private final TestGateway gateway = TestGateway.get();
    private final String area = "harden-" + UUID.randomUUID().toString().substring(0, 8);

    private static String mode(Path path) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(path));
    }

    /**
     * The mode of a socket file once its server has narrowed it (it binds, then sets 0660: a process started a
     * moment ago may not have yet). Meanwhile no one but the owner and the group may ever connect: the socket
     * is never writable by others.
     */
    private static String socketMode(Path socket) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        String mode = mode(socket);
        while (!mode.equals(RW_RW) && System.nanoTime() < end) {
            assertThat(mode.charAt(7)).as("others may never connect to " + socket + " (" + mode + ")").isEqualTo('-');
            Thread.sleep(20);
            mode = mode(socket);
        }
        return mode;
    }

    private DriverProcess controller() throws Exception {
        Path home = Files.createDirectories(dir.resolve("controller"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path socket = home.resolve("controller.sock");
        return DriverProcess.start(socket, home.resolve("controller.log"), NOBODY, "controller", "--endpoint",
                "unix://" + socket);
    }

    private CreateVolumeRequest create(String name, String subDirTemplate) {
        return CreateVolumeRequest.newBuilder().setName(name).addVolumeCapabilities(NodeRig.RWX)
                .putAllParameters(new TreeMap<>(Map.of("server", gateway.server(), "share", gateway.share(),
                        "subDir", subDirTemplate, "nfsVersion", "4"))).build();
    }

    @Test
    void socketsStateAndRecordDirectoriesHaveTheLeastPermissionsAndTheControllerNone() throws Exception {
        Path rigDir = Files.createDirectories(dir.resolve("rig"));
        Path state = Files.createDirectories(rigDir.resolve("state"));
        Files.setPosixFilePermissions(state, PosixFilePermissions.fromString("rwxr-xr-x")); // as a hostPath may be
        try (NodeRig rig = new NodeRig(rigDir, gateway); DriverProcess controller = controller()) {
            assertThat(socketMode(rig.nodeSocket())).as("node socket").isEqualTo(RW_RW);
            assertThat(socketMode(rig.helperSocket())).as("mount helper socket").isEqualTo(RW_RW);
            assertThat(socketMode(dir.resolve("controller/controller.sock"))).as("controller socket").isEqualTo(RW_RW);
            assertThat(mode(rig.stateDir())).as("node state directory").isEqualTo("rwx------");
            assertThat(controller.status("Uid")).startsWith(NOBODY + "\t");
            assertThat(controller.status("CapEff")).isEqualTo("0000000000000000");
            assertThat(controller.status("CapPrm")).isEqualTo("0000000000000000");

            ManagedChannel channel = controller.channel();
            try {
                ControllerGrpc.ControllerBlockingStub stub = ControllerGrpc.newBlockingStub(channel)
                        .withDeadlineAfter(60, TimeUnit.SECONDS);
                Volume volume = stub.createVolume(create("pvc-perm", area + "/${pv.metadata.name}")).getVolume();
                assertThat(mode(gateway.local("/.gateway-csi"))).as("/.gateway-csi").isEqualTo("rwx------");
                assertThat(mode(gateway.local("/.gateway-csi/volumes"))).as("records directory").isEqualTo("rwx------");
                assertThat(mode(gateway.local("/.gateway-csi/volumes/" + VolumeId.digestOf(area + "/pvc-perm"))))
                        .as("a record").isEqualTo("rw-------");
                // a staged volume's record on the node
                rig.stage("perm", rig.dir.resolve("staging/perm"), rig.context(area + "/pvc-perm"));
                assertThat(rig.stateRecords()).singleElement().satisfies(record ->
                        assertThat(mode(record.getParent())).isEqualTo("rwx------"));
                rig.unstage("perm", rig.dir.resolve("staging/perm"));
                ControllerGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS).deleteVolume(
                        DeleteVolumeRequest.newBuilder().setVolumeId(volume.getVolumeId()).build());
            } finally {
                channel.shutdownNow();
            }
        }
        Reliability.report("hardening.permissions sockets=0660 node_state_dir=0700 gateway_records_dir=0700"
                + " records=0600 controller_uid=" + NOBODY + " controller_capabilities=none");
    }

    @Test
    void theMountHelperKeepsOnlyWhatFuseNeedsAndStillServes() throws Exception {
        try (NodeRig rig = new NodeRig(dir.resolve("rig"), gateway)) {
            DriverProcess helper = rig.helper();
            String kept = "0000000000200400"; // CAP_NET_BIND_SERVICE (10), CAP_SYS_ADMIN (21)
            assertThat(helper.status("CapEff")).isEqualTo(kept);
            assertThat(helper.status("CapPrm")).isEqualTo(kept);
            assertThat(helper.status("CapBnd")).isEqualTo(kept);
            assertThat(helper.status("CapInh")).isEqualTo("0000000000000000");
            assertThat(helper.status("CapAmb")).isEqualTo("0000000000000000");
            assertThat(helper.status("NoNewPrivs")).isEqualTo("1");
            assertThat(helper.log()).contains("event=capabilities kept=cap_net_bind_service,cap_sys_admin");

            Path volume = Files.createDirectories(gateway.local("/" + area + "/served"));
            Files.writeString(volume.resolve("hello.txt"), "served with two capabilities");
            Path staging = rig.dir.resolve("staging/served");
            Path target = rig.dir.resolve("pods/a/mount");
            rig.stage("served", staging, rig.context(area + "/served"));
            rig.publish("served", staging, target);
            assertThat(target.resolve("hello.txt")).hasContent("served with two capabilities");
            Files.writeString(target.resolve("written.txt"), "and written");
            assertThat(volume.resolve("written.txt")).hasContent("and written");
            rig.unpublish("served", target);
            rig.unstage("served", staging);
            assertThat(rig.mountsHere()).isEmpty();
        }
        Reliability.report("hardening.mount-helper capabilities=cap_net_bind_service,cap_sys_admin no_new_privs=1"
                + " mounts=ok");
    }

    @Test
    void linksAPodPlantsThroughItsMountNeverLeadTheNodeOrTheControllerOutsideAVolume() throws Exception {
        Path victim = Files.createDirectories(gateway.local("/" + area + "-victim/pvc-w"));
        Files.writeString(victim.resolve("weights.bin"), "another team's weights");
        try (NodeRig rig = new NodeRig(dir.resolve("rig"), gateway); DriverProcess controller = controller()) {
            ManagedChannel channel = controller.channel();
            try {
                ControllerGrpc.ControllerBlockingStub stub = ControllerGrpc.newBlockingStub(channel)
                        .withDeadlineAfter(60, TimeUnit.SECONDS);
                // Volume W is parent/team/pvc-w; pod A mounts parent/ through a static PV (the driver refuses a
                // volume around another, but a static PV may name any directory of the share).
                Volume w = stub.createVolume(create("pvc-w", area + "/parent/team/${pv.metadata.name}")).getVolume();
                Path staging = rig.dir.resolve("staging/parent");
                Path podA = rig.dir.resolve("pods/a/mount");
                rig.stage("parent", staging, rig.context(area + "/parent"));
                rig.publish("parent", staging, podA);

                // 1. links inside the published volume used as (a directory on the way to) a target
                Files.createSymbolicLink(podA.resolve("evil"), Path.of("/etc"));
                Files.createSymbolicLink(podA.resolve("up"), Path.of("../../../../../../.."));
                String unique = "gateway-csi-" + area;
                for (Path target : List.of(podA.resolve("evil"), podA.resolve("evil/" + unique),
                        podA.resolve("up/tmp/" + unique))) {
                    assertThat(NodeRig.codeOf(() -> rig.stub().nodePublishVolume(rig.publishRequest("parent", staging,
                            target, false)))).as(target.toString()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                }
                assertThat(Path.of("/etc/" + unique)).doesNotExist();
                assertThat(Path.of("/tmp/" + unique)).doesNotExist();

                // 2. the pod swaps team/ for a link to another team's area, through its own mount
                Files.move(podA.resolve("team"), podA.resolve("team-moved"));
                Files.createSymbolicLink(podA.resolve("team"), Path.of("../../" + area + "-victim"));
                Path stagingW = rig.dir.resolve("staging/w");
                Files.createDirectories(stagingW);
                assertThat(NodeRig.codeOf(() -> rig.stub().nodeStageVolume(rig.stageRequest("w", stagingW,
                        rig.context(area + "/parent/team/pvc-w"))))).as("stage through the link")
                        .isEqualTo(Status.Code.FAILED_PRECONDITION);
                assertThat(rig.mountsHere()).containsExactlyInAnyOrder(staging, podA);
                assertThat(NodeRig.codeOf(() -> ControllerGrpc.newBlockingStub(channel)
                        .withDeadlineAfter(60, TimeUnit.SECONDS).createSnapshot(CreateSnapshotRequest.newBuilder()
                                .setName("snap-" + area).setSourceVolumeId(w.getVolumeId()).build())))
                        .as("snapshot through the link").isEqualTo(Status.Code.FAILED_PRECONDITION);
                assertThat(NodeRig.codeOf(() -> ControllerGrpc.newBlockingStub(channel)
                        .withDeadlineAfter(60, TimeUnit.SECONDS).deleteVolume(DeleteVolumeRequest.newBuilder()
                                .setVolumeId(w.getVolumeId()).build()))).as("delete through the link")
                        .isEqualTo(Status.Code.FAILED_PRECONDITION);
                assertThat(victim.resolve("weights.bin")).hasContent("another team's weights");

                // undo, clean up
                Files.delete(podA.resolve("team"));
                Files.move(podA.resolve("team-moved"), podA.resolve("team"));
                Files.delete(podA.resolve("evil"));
                Files.delete(podA.resolve("up"));
                rig.unpublish("parent", podA);
                rig.unstage("parent", staging);
                ControllerGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS).deleteVolume(
                        DeleteVolumeRequest.newBuilder().setVolumeId(w.getVolumeId()).build());
                assertThat(rig.mountsHere()).isEmpty();
            } finally {
                channel.shutdownNow();
            }
        }
        Reliability.report("hardening.symlinks node_publish_through_link=INVALID_ARGUMENT"
                + " stage_through_swapped_dir=FAILED_PRECONDITION snapshot=FAILED_PRECONDITION"
                + " delete=FAILED_PRECONDITION victim=intact");
    }
}
