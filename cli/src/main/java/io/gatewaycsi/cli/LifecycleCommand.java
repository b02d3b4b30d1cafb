package io.gatewaycsi.cli;

import io.gatewaycsi.common.CsiChannels;
import io.gatewaycsi.common.Endpoint;
import io.gatewaycsi.common.LogSetup;
import io.gatewaycsi.csi.v1.ControllerGrpc;
import io.gatewaycsi.csi.v1.CreateVolumeRequest;
import io.gatewaycsi.csi.v1.DeleteVolumeRequest;
import io.gatewaycsi.csi.v1.NodeGrpc;
import io.gatewaycsi.csi.v1.NodePublishVolumeRequest;
import io.gatewaycsi.csi.v1.NodeStageVolumeRequest;
import io.gatewaycsi.csi.v1.NodeUnpublishVolumeRequest;
import io.gatewaycsi.csi.v1.NodeUnstageVolumeRequest;
import io.gatewaycsi.csi.v1.Volume;
import io.gatewaycsi.csi.v1.VolumeCapability;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code gateway-csi lifecycle}: drives one volume through its whole life against a running driver, as
 * Kubernetes would, and says what happened at each step: CreateVolume with StorageClass parameters,
 * NodeStageVolume (which backend mounted it, with which options), NodePublishVolume read-write, a checkpoint
 * written through it, a second NodePublishVolume read-only that reads it back, then NodeUnpublishVolume,
 * NodeUnstageVolume and DeleteVolume.
 */
@Command(name = "lifecycle", mixinStandardHelpOptions = true,
        description = "Drive one volume through create, stage, publish (read-write and read-only), a checkpoint"
                + " write and read, unpublish, unstage and delete against a running driver, and report each step.")
final class LifecycleCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--endpoint", paramLabel = "URL", converter = CommonOptions.EndpointConverter.class,
            defaultValue = "${env:CSI_ENDPOINT:-unix:///tmp/gateway-csi/csi.sock}",
            description = "The driver's CSI endpoint (Controller and Node) (default: ${DEFAULT-VALUE}).")
    Endpoint endpoint;

    @Option(names = "--parameter", paramLabel = "KEY=VALUE",
            description = "A StorageClass parameter (repeatable), e.g. --parameter server=10.0.0.2"
                    + " --parameter share=/export. Without server and share, the driver's --gateway applies.")
    Map<String, String> parameters = new LinkedHashMap<>();

    @Option(names = "--mount-option", paramLabel = "OPTION",
            description = "A StorageClass mountOptions entry (repeatable), e.g. --mount-option nconnect=4.")
    List<String> mountOptions = List.of();

    @Option(names = "--mount-helper-endpoint", paramLabel = "URL", converter = CommonOptions.EndpointConverter.class,
            defaultValue = "unix:///tmp/gateway-csi/mount-helper.sock",
            description = "The mount helper's socket, asked for the NFS options in force when it made the staging"
                    + " mount (default: ${DEFAULT-VALUE}).")
    Endpoint mountHelperEndpoint;

    @Option(names = "--work-dir", paramLabel = "DIR", defaultValue = "/tmp/gateway-csi/lifecycle",
            description = "Where the staging and target directories are made (default: ${DEFAULT-VALUE}).")
    Path workDir;

    @Override
    public Integer call() throws Exception {
        LogSetup.configure("warn");
        PrintWriter out = spec.commandLine().getOut();
        ManagedChannel channel = CsiChannels.open(endpoint);
        try {
            ControllerGrpc.ControllerBlockingStub controller = ControllerGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(5, TimeUnit.MINUTES);
            NodeGrpc.NodeBlockingStub node = NodeGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.MINUTES);
            return run(controller, node, out);
        } finally {
            CsiChannels.close(channel);
        }
    }

    private int run(ControllerGrpc.ControllerBlockingStub controller, NodeGrpc.NodeBlockingStub node, PrintWriter out)
            throws IOException {
        String name = "pvc-" + UUID.randomUUID().toString().substring(0, 8);
        VolumeCapability readWrite = capability(VolumeCapability.AccessMode.Mode.MULTI_NODE_MULTI_WRITER);
        VolumeCapability readOnly = capability(VolumeCapability.AccessMode.Mode.MULTI_NODE_READER_ONLY);
        Volume volume = controller.createVolume(CreateVolumeRequest.newBuilder().setName(name)
                .putAllParameters(parameters).addVolumeCapabilities(readWrite).build()).getVolume();
        Map<String, String> context = volume.getVolumeContextMap();
        out.printf("1. CreateVolume %s%n   volume_id  %s%n   on gateway %s:%s/%s%n", name, volume.getVolumeId(),
                context.get("server"), context.get("share").replaceAll("/$", ""), context.get("subDir"));
        Path staging = Files.createDirectories(workDir.resolve(name).resolve("staging"));
        Path writer = workDir.resolve(name).resolve("pod-trainer");
        Path reader = workDir.resolve(name).resolve("pod-evaluator");
        node.nodeStageVolume(NodeStageVolumeRequest.newBuilder().setVolumeId(volume.getVolumeId())
                .setStagingTargetPath(staging.toString()).setVolumeCapability(readWrite)
                .putAllVolumeContext(context).build());
        StagingMount mount = StagingMount.at(staging, mountHelperEndpoint);
        out.printf("2. NodeStageVolume at %s%n   backend    %s (%s)%n   source     %s%n   options    %s%n",
                staging, mount.backend(), mount.fsType(), mount.source(), mount.options());
        node.nodePublishVolume(publish(volume, staging, writer, readWrite, false));
        out.printf("3. NodePublishVolume read-write at %s%n", writer);
        String checkpoint = "epoch=1 step=1000 saved=" + Instant.now() + "\n";
        Files.writeString(writer.resolve("checkpoint.txt"), checkpoint);
        out.printf("4. wrote checkpoint.txt (%d bytes) through %s%n", checkpoint.length(), writer);
        node.nodePublishVolume(publish(volume, staging, reader, readOnly, true));
        String readBack = Files.readString(reader.resolve("checkpoint.txt"));
        boolean refused = refusesWrites(reader);
        out.printf("5. NodePublishVolume read-only at %s%n   read back  %s%n   writes     %s%n", reader,
                readBack.equals(checkpoint) ? "identical (" + readBack.length() + " bytes)" : "DIFFERENT",
                refused ? "refused (read-only file system)" : "ACCEPTED");
        for (Path target : List.of(reader, writer)) {
            node.nodeUnpublishVolume(NodeUnpublishVolumeRequest.newBuilder().setVolumeId(volume.getVolumeId())
                    .setTargetPath(target.toString()).build());
        }
        out.printf("6. NodeUnpublishVolume of both targets (directories removed: %s)%n",
                !Files.exists(reader) && !Files.exists(writer));
        node.nodeUnstageVolume(NodeUnstageVolumeRequest.newBuilder().setVolumeId(volume.getVolumeId())
                .setStagingTargetPath(staging.toString()).build());
        out.printf("7. NodeUnstageVolume (still mounted: %s)%n", StagingMount.isMounted(staging));
        controller.deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId(volume.getVolumeId()).build());
        out.printf("8. DeleteVolume (onDelete=%s)%n", context.get("onDelete"));
        Files.deleteIfExists(staging);
        Files.deleteIfExists(staging.getParent());
        out.flush();
        return readBack.equals(checkpoint) && refused ? 0 : 1;
    }

    private static NodePublishVolumeRequest publish(Volume volume, Path staging, Path target,
                                                    VolumeCapability capability, boolean readOnly) {
        return NodePublishVolumeRequest.newBuilder().setVolumeId(volume.getVolumeId())
                .setStagingTargetPath(staging.toString()).setTargetPath(target.toString())
                .setVolumeCapability(capability).setReadonly(readOnly)
                .putAllVolumeContext(volume.getVolumeContextMap()).build();
    }

    private VolumeCapability capability(VolumeCapability.AccessMode.Mode mode) {
        return VolumeCapability.newBuilder()
                .setMount(VolumeCapability.MountVolume.newBuilder().addAllMountFlags(mountOptions))
                .setAccessMode(VolumeCapability.AccessMode.newBuilder().setMode(mode)).build();
    }

    private static boolean refusesWrites(Path readOnlyTarget) {
        try {
            Files.writeString(readOnlyTarget.resolve("must-fail.txt"), "x");
            return false;
        } catch (IOException expected) {
            return true;
        }
    }
}
