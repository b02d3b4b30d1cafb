package io.gatewaycsi.node;

import io.gatewaycsi.common.CsiException;
import io.gatewaycsi.common.InFlight;
import io.gatewaycsi.common.LogLine;
import io.gatewaycsi.common.Rpcs;
import io.gatewaycsi.common.volume.Capabilities;
import io.gatewaycsi.common.volume.MountOptions;
import io.gatewaycsi.common.volume.Parameter;
import io.gatewaycsi.common.volume.VolumeParameters;
import io.gatewaycsi.csi.v1.NodeGetCapabilitiesRequest;
import io.gatewaycsi.csi.v1.NodeGetCapabilitiesResponse;
import io.gatewaycsi.csi.v1.NodeGetInfoRequest;
import io.gatewaycsi.csi.v1.NodeGetInfoResponse;
import io.gatewaycsi.csi.v1.NodeGetVolumeStatsRequest;
import io.gatewaycsi.csi.v1.NodeGetVolumeStatsResponse;
import io.gatewaycsi.csi.v1.NodeGrpc;
import io.gatewaycsi.csi.v1.NodePublishVolumeRequest;
import io.gatewaycsi.csi.v1.NodePublishVolumeResponse;
import io.gatewaycsi.csi.v1.NodeServiceCapability;
import io.gatewaycsi.csi.v1.NodeStageVolumeRequest;
import io.gatewaycsi.csi.v1.NodeStageVolumeResponse;
import io.gatewaycsi.csi.v1.NodeUnpublishVolumeRequest;
import io.gatewaycsi.csi.v1.NodeUnpublishVolumeResponse;
import io.gatewaycsi.csi.v1.NodeUnstageVolumeRequest;
import io.gatewaycsi.csi.v1.NodeUnstageVolumeResponse;
import io.gatewaycsi.csi.v1.Topology;
import io.gatewaycsi.csi.v1.VolumeCapability;
import io.gatewaycsi.csi.v1.VolumeCondition;
import io.gatewaycsi.csi.v1.VolumeUsage;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * The CSI Node service (CSI spec, "Node Service RPC"): one staging mount per volume and node
 * (NodeStageVolume, through a {@link MountBackend} chosen by {@link Stager}), a bind mount into each pod
 * (NodePublishVolume, read-only when asked), statistics and the volume's condition (NodeGetVolumeStats), and
 * teardown that never hangs on a dead gateway ({@link Teardown}). Every call is idempotent and reads the
 * mount table to see what is already there; a staging mount found broken (its mount helper died, say) is
 * repaired on the next NodeStageVolume or NodePublishVolume, bind mounts of published targets included.
 * Operations on one volume (stage/unstage) or one target path in flight at once get ABORTED.
 */
public final class NodeService extends NodeGrpc.NodeImplBase implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(NodeService.class.getName());
    private static final List<NodeServiceCapability.RPC.Type> CAPABILITIES = List.of(
            NodeServiceCapability.RPC.Type.STAGE_UNSTAGE_VOLUME,
            NodeServiceCapability.RPC.Type.GET_VOLUME_STATS,
            NodeServiceCapability.RPC.Type.VOLUME_CONDITION,
            NodeServiceCapability.RPC.Type.SINGLE_NODE_MULTI_WRITER);

    private final NodeConfig config;
    private final Stager stager;
    private final Mounter mounter;
    private final Teardown teardown;
    private final StagingState state;
    private final StagingRepair repair;
    private final Repairer repairer;
    private final InFlight inFlight = new InFlight();

    /**
     * @param config  node ID, topology and mount option allow-list
     * @param kernel  the kernel backend
     * @param sidecar the mount helper backend, if this node has a mount helper
     * @param mounter bind mounts, unmounts and statvfs with deadlines
     * @param state   the record of staging mounts, kept across restarts
     */
    public NodeService(NodeConfig config, MountBackend kernel, Optional<SidecarBackend> sidecar, Mounter mounter,
                       StagingState state) {
        this.config = config;
        this.stager = new Stager(kernel, sidecar);
        this.mounter = mounter;
        this.teardown = new Teardown(mounter);
        this.state = state;
        this.repair = new StagingRepair(stager, mounter, teardown);
        this.repairer = new Repairer(state, repair, inFlight, sidecar, Duration.ofSeconds(2));
    }

    /**
     * Starts watching this node's staging mounts: one whose mount helper died is remounted through the helper
     * as soon as it answers again (a pass every 2 s), and its targets re-bound.
     */
    public void startRepairs() {
        repairer.start();
    }

    /** Runs one repair pass now (what the background watcher does every 2 s); returns the mounts repaired. */
    public int repairNow() throws IOException {
        return repairer.runOnce();
    }

    /** Stops the repair watcher. */
    @Override
    public void close() {
        repairer.close();
    }

    @Override
    public void nodeGetCapabilities(NodeGetCapabilitiesRequest request,
                                    StreamObserver<NodeGetCapabilitiesResponse> responses) {
        Rpcs.unary(responses, () -> {
            NodeGetCapabilitiesResponse.Builder response = NodeGetCapabilitiesResponse.newBuilder();
            for (NodeServiceCapability.RPC.Type type : CAPABILITIES) {
                response.addCapabilities(NodeServiceCapability.newBuilder()
                        .setRpc(NodeServiceCapability.RPC.newBuilder().setType(type)));
            }
            return response.build();
        });
    }

    @Override
    public void nodeGetInfo(NodeGetInfoRequest request, StreamObserver<NodeGetInfoResponse> responses) {
        Rpcs.unary(responses, () -> {
            NodeGetInfoResponse.Builder response = NodeGetInfoResponse.newBuilder().setNodeId(config.nodeId());
            if (!config.topology().isEmpty()) {
                response.setAccessibleTopology(Topology.newBuilder().putAllSegments(config.topology()));
            }
            return response.build();
        });
    }

    @Override
    public void nodeStageVolume(NodeStageVolumeRequest request, StreamObserver<NodeStageVolumeResponse> responses) {
        Rpcs.unary(responses, () -> {
            require(!request.getVolumeId().isEmpty(), "volume_id must not be empty");
            require(!request.getStagingTargetPath().isEmpty(), "staging_target_path must not be empty");
            require(request.hasVolumeCapability(), "volume_capability must be given");
            Capabilities.require(request.getVolumeCapability());
            Path staging = absolute(request.getStagingTargetPath(), "staging_target_path");
            StageSpec spec = stageSpec(request.getVolumeId(), request.getVolumeContextMap(),
                    request.getVolumeCapability(), staging);
            try (InFlight.Lock ignored = inFlight.acquire("volume:" + request.getVolumeId(), "NodeStageVolume")) {
                stage(spec.mount(), spec.backend());
            }
            return NodeStageVolumeResponse.getDefaultInstance();
        });
    }

    private void stage(NfsMountRequest mount, String backend) throws IOException {
        Path staging = mount.stagingPath();
        Optional<MountEntry> existing = MountTable.read().topmost(staging);
        if (existing.isPresent()) {
            if (!existing.get().source().equals(mount.source())) {
                throw CsiException.alreadyExists("staging path " + staging + " already holds " + existing.get().source()
                        + ", not " + mount.source());
            }
            if (!repair.healthy(staging)) {
                repair.repair(mount, backend, existing.get());
            }
            state.save(mount, backend);
            return;
        }
        Files.createDirectories(staging);
        String used = stager.stage(mount, backend);
        state.save(mount, backend);
        LOG.info(LogLine.event("staged").with("volume_id", mount.volumeId()).with("source", mount.source())
                .with("staging_path", staging).with("backend", used)
                .with("options", String.join(",", mount.effectiveOptions())).toString());
    }

    @Override
    public void nodeUnstageVolume(NodeUnstageVolumeRequest request,
                                  StreamObserver<NodeUnstageVolumeResponse> responses) {
        Rpcs.unary(responses, () -> {
            require(!request.getVolumeId().isEmpty(), "volume_id must not be empty");
            require(!request.getStagingTargetPath().isEmpty(), "staging_target_path must not be empty");
            Path staging = absolute(request.getStagingTargetPath(), "staging_target_path");
            try (InFlight.Lock ignored = inFlight.acquire("volume:" + request.getVolumeId(), "NodeUnstageVolume")) {
                Optional<MountEntry> mounted = MountTable.read().topmost(staging);
                if (mounted.isPresent()) {
                    Teardown.Result result = stager.unstage(staging, mounted.get().fsType());
                    LOG.info(LogLine.event("unstaged").with("volume_id", request.getVolumeId())
                            .with("staging_path", staging).with("step", result.step().label()).toString());
                }
                state.remove(staging);
            }
            return NodeUnstageVolumeResponse.getDefaultInstance();
        });
    }

    @Override
    public void nodePublishVolume(NodePublishVolumeRequest request,
                                  StreamObserver<NodePublishVolumeResponse> responses) {
        Rpcs.unary(responses, () -> {
            require(!request.getVolumeId().isEmpty(), "volume_id must not be empty");
            require(!request.getTargetPath().isEmpty(), "target_path must not be empty");
            require(request.hasVolumeCapability(), "volume_capability must be given");
            require(!request.getStagingTargetPath().isEmpty(), "staging_target_path must not be empty: this driver"
                    + " stages volumes (STAGE_UNSTAGE_VOLUME)");
            Capabilities.require(request.getVolumeCapability());
            Path staging = absolute(request.getStagingTargetPath(), "staging_target_path");
            Path target = absolute(request.getTargetPath(), "target_path");
            boolean readOnly = request.getReadonly() || Capabilities.isReadOnly(request.getVolumeCapability());
            try (InFlight.Lock ignored = inFlight.acquire("target:" + target, "NodePublishVolume")) {
                publish(request, staging, target, readOnly);
            }
            return NodePublishVolumeResponse.getDefaultInstance();
        });
    }

    private void publish(NodePublishVolumeRequest request, Path staging, Path target, boolean readOnly)
            throws IOException {
        MountTable table = MountTable.read();
        MountEntry staged = table.topmost(staging).orElseThrow(() -> CsiException.failedPrecondition(
                "volume `" + request.getVolumeId() + "` is not staged at " + staging + "; NodeStageVolume comes first"));
        Optional<MountEntry> existing = table.topmost(target);
        if (existing.isPresent()) {
            if (!existing.get().showsPartOf(staged)) {
                throw CsiException.alreadyExists("target " + target + " already holds another mount ("
                        + existing.get().source() + ")");
            }
            if (existing.get().readOnly() != readOnly) {
                throw CsiException.alreadyExists("target " + target + " is already published "
                        + (existing.get().readOnly() ? "read-only" : "read-write") + "; unpublish it first");
            }
            return;
        }
        if (request.getVolumeCapability().getAccessMode().getMode()
                == VolumeCapability.AccessMode.Mode.SINGLE_NODE_SINGLE_WRITER) {
            List<MountEntry> others = table.bindMountsOf(staged).stream()
                    .filter(t -> !t.mountPoint().startsWith(staging)).toList();
            if (!others.isEmpty()) {
                throw CsiException.failedPrecondition("volume `" + request.getVolumeId() + "` has access mode"
                        + " SINGLE_NODE_SINGLE_WRITER and is already published at " + others.getFirst().mountPoint());
            }
        }
        if (!repair.healthy(staging)) {
            StageSpec spec = stageSpec(request.getVolumeId(), request.getVolumeContextMap(),
                    request.getVolumeCapability(), staging);
            try (InFlight.Lock ignored = inFlight.acquire("volume:" + request.getVolumeId(), "repair")) {
                repair.repair(spec.mount(), spec.backend(), staged);
            }
        }
        Files.createDirectories(target);
        mounter.bind(staging, target, readOnly);
        LOG.info(LogLine.event("published").with("volume_id", request.getVolumeId()).with("target_path", target)
                .with("readonly", readOnly).toString());
    }

    @Override
    public void nodeUnpublishVolume(NodeUnpublishVolumeRequest request,
                                    StreamObserver<NodeUnpublishVolumeResponse> responses) {
        Rpcs.unary(responses, () -> {
            require(!request.getVolumeId().isEmpty(), "volume_id must not be empty");
            require(!request.getTargetPath().isEmpty(), "target_path must not be empty");
            Path target = absolute(request.getTargetPath(), "target_path");
            try (InFlight.Lock ignored = inFlight.acquire("target:" + target, "NodeUnpublishVolume")) {
                Teardown.Result result = teardown.unmountAndRemove(target);
                LOG.info(LogLine.event("unpublished").with("volume_id", request.getVolumeId())
                        .with("target_path", target).with("step", result.step().label()).toString());
            }
            return NodeUnpublishVolumeResponse.getDefaultInstance();
        });
    }

    @Override
    public void nodeGetVolumeStats(NodeGetVolumeStatsRequest request,
                                   StreamObserver<NodeGetVolumeStatsResponse> responses) {
        Rpcs.unary(responses, () -> {
            require(!request.getVolumeId().isEmpty(), "volume_id must not be empty");
            require(!request.getVolumePath().isEmpty(), "volume_path must not be empty");
            if (!request.getVolumePath().startsWith("/") || request.getVolumePath().indexOf('\0') >= 0) {
                throw CsiException.notFound("volume `" + request.getVolumeId() + "` is not mounted at `"
                        + request.getVolumePath() + "` (not an absolute path)");
            }
            Path path = Path.of(request.getVolumePath()).normalize();
            if (MountTable.read().topmost(path).isEmpty()) {
                throw CsiException.notFound("volume `" + request.getVolumeId() + "` is not mounted at " + path);
            }
            try {
                FsStats stats = mounter.statvfs(path);
                return NodeGetVolumeStatsResponse.newBuilder()
                        .addUsage(VolumeUsage.newBuilder().setUnit(VolumeUsage.Unit.BYTES)
                                .setTotal(stats.totalBytes()).setAvailable(stats.availableBytes())
                                .setUsed(stats.usedBytes()))
                        .addUsage(VolumeUsage.newBuilder().setUnit(VolumeUsage.Unit.INODES)
                                .setTotal(stats.totalInodes()).setAvailable(stats.freeInodes())
                                .setUsed(stats.usedInodes()))
                        .setVolumeCondition(VolumeCondition.newBuilder().setAbnormal(false).setMessage("mounted and answering"))
                        .build();
            } catch (MountException e) {
                if (!e.meansBrokenMount()) {
                    throw e;
                }
                return NodeGetVolumeStatsResponse.newBuilder().setVolumeCondition(VolumeCondition.newBuilder()
                        .setAbnormal(true).setMessage(abnormal(e))).build();
            }
        });
    }

    private static String abnormal(MountException e) {
        if (e.isTimeout()) {
            return "the gateway does not answer: " + e.getMessage();
        }
        return "the mount is broken (" + e.errno() + "): " + e.getMessage()
                + "; the next NodeStageVolume or NodePublishVolume repairs it";
    }

    /** A staging mount to make and the mountBackend parameter that decides who makes it. */
    private record StageSpec(NfsMountRequest mount, String backend) {
    }

    private StageSpec stageSpec(String volumeId, java.util.Map<String, String> context, VolumeCapability capability,
                                Path staging) {
        VolumeParameters parameters = VolumeParameters.parse(context, VolumeParameters.Source.VOLUME_CONTEXT);
        MountOptions options = MountOptions.resolve(parameters, capability.getMount().getMountFlagsList(),
                config.allowedMountOptions());
        NfsMountRequest mount = new NfsMountRequest(parameters.server(), parameters.share(),
                parameters.resolveSubDir(volumeId), options.asStrings(), staging, Capabilities.isReadOnly(capability),
                volumeId);
        return new StageSpec(mount, parameters.value(Parameter.MOUNT_BACKEND));
    }

    private static Path absolute(String path, String field) {
        if (!path.startsWith("/") || path.indexOf('\0') >= 0) {
            throw CsiException.invalidArgument(field + " must be an absolute path without NUL bytes, got `"
                    + path.replace("\0", "\\0") + "`");
        }
        return Path.of(path).normalize();
    }

    private static void require(boolean condition, String message) {
        if (!condition) {
            throw CsiException.invalidArgument(message);
        }
    }
}
