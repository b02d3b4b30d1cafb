package io.gatewaycsi.node;

import io.gatewaycsi.common.CsiException;
import io.gatewaycsi.common.InFlight;
import io.gatewaycsi.common.LogLine;
import io.gatewaycsi.common.Rpcs;
import io.gatewaycsi.common.events.EventRecorder;
import io.gatewaycsi.common.events.ObjectRef;
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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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
 *
 * <p>Observability: {@link NodeMetrics} counts stagings by backend, fallbacks by reason, mount failures,
 * repairs and unmounts by teardown step; {@link NodeEvents} reports fallbacks, mount failures, repairs and
 * forced unmounts as Kubernetes Events on the pod (NodePublishVolume's {@code csi.storage.k8s.io/pod.*}) and
 * on the claim (the volume context's {@code csi.storage.k8s.io/pvc/*}, which the controller fills in).
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
    private final NodeMetrics metrics;
    private final NodeEvents events;
    private final NodePaths paths;

    /**
     * A node service without metrics or events (see the full constructor).
     */
    public NodeService(NodeConfig config, MountBackend kernel, Optional<SidecarBackend> sidecar, Mounter mounter,
                       StagingState state) {
        this(config, kernel, sidecar, mounter, state, NodeMetrics.unregistered(), EventRecorder.none());
    }

    /**
     * @param config  node ID, topology and mount option allow-list
     * @param kernel  the kernel backend
     * @param sidecar the mount helper backend, if this node has a mount helper
     * @param mounter bind mounts, unmounts and statvfs with deadlines
     * @param state   the record of staging mounts, kept across restarts
     * @param metrics where stagings, fallbacks, failures, repairs and unmounts are counted
     * @param events  where Kubernetes Events go
     */
    public NodeService(NodeConfig config, MountBackend kernel, Optional<SidecarBackend> sidecar, Mounter mounter,
                       StagingState state, NodeMetrics metrics, EventRecorder events) {
        this.config = config;
        this.metrics = metrics;
        this.events = new NodeEvents(events);
        this.stager = new Stager(kernel, sidecar, metrics);
        this.mounter = mounter;
        this.teardown = new Teardown(mounter);
        this.state = state;
        this.repair = new StagingRepair(stager, mounter, teardown, metrics, this.events);
        this.repairer = new Repairer(state, repair, inFlight, sidecar, Duration.ofSeconds(2));
        this.paths = new NodePaths(config.allowedDirs(), mounter.deadline());
        metrics.countStagingMountsWith(this::stagingMountsByBackend);
    }

    /** Recorded staging mounts present in the mount table now, by the backend that owns them. */
    private Map<String, Integer> stagingMountsByBackend() {
        Map<String, Integer> counts = new HashMap<>();
        try {
            MountTable table = MountTable.read();
            for (StagingState.Staged staged : state.all()) {
                table.topmost(staged.mount().stagingPath()).ifPresent(entry ->
                        counts.merge(Stager.backendOf(entry.fsType()), 1, Integer::sum));
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return counts;
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
            Path staging = paths.checked(request.getStagingTargetPath(), "staging_target_path");
            StageSpec spec = stageSpec(request.getVolumeId(), request.getVolumeContextMap(),
                    request.getVolumeCapability(), staging);
            try (InFlight.Lock ignored = inFlight.acquire("volume:" + request.getVolumeId(), "NodeStageVolume")) {
                stage(spec);
            } catch (IOException | RuntimeException e) {
                if (eventWorthy(e)) {
                    events.warning(spec.claim(), NodeEvents.MOUNT_FAILED, "NodeStageVolume of volume "
                            + request.getVolumeId() + " failed: " + e.getMessage());
                }
                throw e;
            }
            return NodeStageVolumeResponse.getDefaultInstance();
        });
    }

    /** Whether a failure is worth an event: not a bad request, not a concurrent call the CO retries. */
    private static boolean eventWorthy(Exception e) {
        if (e instanceof CsiException c) {
            return switch (c.code()) {
                case INVALID_ARGUMENT, ABORTED, ALREADY_EXISTS -> false;
                default -> true;
            };
        }
        return true;
    }

    private void stage(StageSpec spec) throws IOException {
        NfsMountRequest mount = spec.mount();
        String backend = spec.backend();
        Path staging = mount.stagingPath();
        Optional<MountEntry> existing = MountTable.read().topmost(staging);
        if (existing.isPresent()) {
            if (!existing.get().source().equals(mount.source())) {
                throw CsiException.alreadyExists("staging path " + staging + " already holds " + existing.get().source()
                        + ", not " + mount.source());
            }
            Optional<StagingState.Staged> recorded = state.get(staging);
            ObjectRef claim = spec.claim() != null ? spec.claim() : recorded.map(StagingState.Staged::claim).orElse(null);
            String cause = repair.brokenCause(staging);
            if (cause != null) {
                repair.repair(mount, backend, existing, StagingRepair.targetsOf(MountTable.read(), mount, existing),
                        claim, cause);
            }
            state.save(mount, backend, claim, recorded.map(StagingState.Staged::fallback).orElse(null));
            return;
        }
        paths.requireNoSymlinks(staging, "staging_target_path", true);
        createDirectory(staging, "staging_target_path");
        Stager.Outcome outcome = stager.stage(mount, backend);
        metrics.staged(outcome.backend());
        state.save(mount, backend, spec.claim(), outcome.fallback());
        if (outcome.fallback() != null) {
            metrics.fellBack(outcome.fallback());
            events.normal(spec.claim(), NodeEvents.FALLBACK,
                    NodeEvents.fallbackMessage(mount.volumeId(), outcome.fallback(), outcome.detail()));
        }
        LOG.info(LogLine.event("staged").with("volume_id", mount.volumeId()).with("source", mount.source())
                .with("staging_path", staging).with("backend", outcome.backend())
                .with("fallback", outcome.fallback() == null ? null : outcome.fallback().label())
                .with("options", String.join(",", mount.effectiveOptions()))
                .with("not_applied", outcome.notApplied().isEmpty() ? null : String.join("; ", outcome.notApplied()))
                .toString());
        if (!outcome.notApplied().isEmpty()) {
            events.warning(spec.claim(), NodeEvents.OPTIONS_NOT_APPLIED,
                    NodeEvents.notAppliedMessage(mount.volumeId(), outcome.notApplied()));
        }
    }

    @Override
    public void nodeUnstageVolume(NodeUnstageVolumeRequest request,
                                  StreamObserver<NodeUnstageVolumeResponse> responses) {
        Rpcs.unary(responses, () -> {
            require(!request.getVolumeId().isEmpty(), "volume_id must not be empty");
            require(!request.getStagingTargetPath().isEmpty(), "staging_target_path must not be empty");
            Path staging = paths.checked(request.getStagingTargetPath(), "staging_target_path");
            try (InFlight.Lock ignored = inFlight.acquire("volume:" + request.getVolumeId(), "NodeUnstageVolume")) {
                Optional<MountEntry> mounted = MountTable.read().topmost(staging);
                if (mounted.isPresent()) {
                    String backend = Stager.backendOf(mounted.get().fsType());
                    Teardown.Result result = stager.unstage(staging, mounted.get().fsType());
                    metrics.unstaged(backend, result.step());
                    LOG.info(LogLine.event("unstaged").with("volume_id", request.getVolumeId())
                            .with("staging_path", staging).with("backend", backend)
                            .with("step", result.step().label()).toString());
                    if (result.step().compareTo(TeardownStep.FORCED) >= 0) {
                        events.warning(state.get(staging).map(StagingState.Staged::claim).orElse(null),
                                NodeEvents.UNMOUNT_FORCED, forcedMessage("staging mount", request.getVolumeId(),
                                        staging, result));
                    }
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
            Path staging = paths.checked(request.getStagingTargetPath(), "staging_target_path");
            Path target = paths.checked(request.getTargetPath(), "target_path");
            boolean readOnly = request.getReadonly() || Capabilities.isReadOnly(request.getVolumeCapability());
            Optional<ObjectRef> pod = ObjectRef.podOf(request.getVolumeContextMap());
            try (InFlight.Lock ignored = inFlight.acquire("target:" + target, "NodePublishVolume")) {
                publish(request, staging, target, readOnly, pod);
            } catch (IOException | RuntimeException e) {
                if (eventWorthy(e)) {
                    events.warning(pod.orElse(null), NodeEvents.MOUNT_FAILED, "NodePublishVolume of volume "
                            + request.getVolumeId() + " at " + target + " failed: " + e.getMessage());
                }
                throw e;
            }
            return NodePublishVolumeResponse.getDefaultInstance();
        });
    }

    private void publish(NodePublishVolumeRequest request, Path staging, Path target, boolean readOnly,
                         Optional<ObjectRef> pod) throws IOException {
        boolean singleWriter = request.getVolumeCapability().getAccessMode().getMode()
                == VolumeCapability.AccessMode.Mode.SINGLE_NODE_SINGLE_WRITER;
        // The common case is told from statx alone, without reading the mount table (hundreds of lines on a
        // node in a mount storm): the staging path is a mount point and the target is not. Both statx in one
        // hand-off (BlockingCalls): with AT_STATX_DONT_SYNC neither asks the gateway.
        boolean fresh = !singleWriter && BlockingCalls.call("statx", target, mounter.deadline(), () ->
                mounter.mountPoint(staging) == Mounter.MountPoint.MOUNTED
                        && switch (mounter.mountPoint(target)) {
                            case ABSENT, NOT_MOUNTED -> true;
                            case MOUNTED, UNKNOWN -> false;
                        });
        Optional<MountEntry> staged = Optional.empty();
        if (!fresh) {
            MountTable table = MountTable.read();
            MountEntry entry = table.topmost(staging).orElseThrow(() -> notStaged(request, staging));
            staged = Optional.of(entry);
            Optional<MountEntry> existing = table.topmost(target);
            if (existing.isPresent()) {
                if (!existing.get().showsPartOf(entry)) {
                    throw CsiException.alreadyExists("target " + target + " already holds another mount ("
                            + existing.get().source() + ")");
                }
                if (existing.get().readOnly() != readOnly) {
                    throw CsiException.alreadyExists("target " + target + " is already published "
                            + (existing.get().readOnly() ? "read-only" : "read-write") + "; unpublish it first");
                }
                events.published(target, pod);
                return;
            }
            if (singleWriter) {
                List<MountEntry> others = table.bindMountsOf(entry).stream()
                        .filter(t -> !t.mountPoint().startsWith(staging)).toList();
                if (!others.isEmpty()) {
                    throw CsiException.failedPrecondition("volume `" + request.getVolumeId() + "` has access mode"
                            + " SINGLE_NODE_SINGLE_WRITER and is already published at " + others.getFirst().mountPoint());
                }
            }
        }
        Optional<StagingState.Staged> recorded = state.get(staging);
        String cause = repair.brokenCause(staging);
        if (cause != null) {
            StageSpec spec = stageSpec(request.getVolumeId(), request.getVolumeContextMap(),
                    request.getVolumeCapability(), staging);
            ObjectRef claim = spec.claim() != null ? spec.claim()
                    : recorded.map(StagingState.Staged::claim).orElse(null);
            MountTable table = MountTable.read();
            MountEntry entry = staged.isPresent() ? staged.get()
                    : table.topmost(staging).orElseThrow(() -> notStaged(request, staging));
            try (InFlight.Lock ignored = inFlight.acquire("volume:" + request.getVolumeId(), "repair")) {
                repair.repair(spec.mount(), spec.backend(), Optional.of(entry),
                        StagingRepair.targetsOf(table, spec.mount(), Optional.of(entry)), claim, cause);
            }
            staged = MountTable.read().topmost(staging).or(() -> Optional.of(entry));
        }
        // One hand-off for the three: they are on the node's own directories and the staging mount's root.
        try {
            BlockingCalls.call("bind", target, mounter.deadline(), () -> {
                paths.requireNoSymlinks(target, "target_path", true);
                createDirectory(target, "target_path");
                mounter.bind(staging, target, readOnly);
                return null;
            });
        } catch (MountException e) {
            if (e.isTimeout()) {
                throw CsiException.deadlineExceeded("publishing at " + target + ": " + e.getMessage());
            }
            throw e;
        }
        events.published(target, pod);
        LOG.info(LogLine.event("published").with("volume_id", request.getVolumeId()).with("target_path", target)
                .with("readonly", readOnly).with("pod", pod.map(ObjectRef::toString).orElse(null)).toString());
        Optional<FallbackReason> fallback = recorded.map(StagingState.Staged::fallback);
        // A recorded fallback means the mount helper made the staging mount (the record is rewritten by every
        // stage); the mount table, where it was read, says so directly.
        if (fallback.isPresent() && staged.map(e -> e.fsType().equals(SidecarBackend.FS_TYPE)).orElse(true)) {
            events.normal(pod.orElse(null), NodeEvents.FALLBACK,
                    NodeEvents.fallbackMessage(request.getVolumeId(), fallback.get(), null));
        }
    }

    private static CsiException notStaged(NodePublishVolumeRequest request, Path staging) {
        return CsiException.failedPrecondition("volume `" + request.getVolumeId() + "` is not staged at " + staging
                + "; NodeStageVolume comes first");
    }

    private static String forcedMessage(String what, String volumeId, Path path, Teardown.Result result) {
        return "the " + what + " of volume " + volumeId + " at " + path + " needed a " + result.step().label()
                + " unmount" + (result.escalation().isEmpty() ? "" : ": " + String.join("; ", result.escalation()));
    }

    @Override
    public void nodeUnpublishVolume(NodeUnpublishVolumeRequest request,
                                    StreamObserver<NodeUnpublishVolumeResponse> responses) {
        Rpcs.unary(responses, () -> {
            require(!request.getVolumeId().isEmpty(), "volume_id must not be empty");
            require(!request.getTargetPath().isEmpty(), "target_path must not be empty");
            Path target = paths.checked(request.getTargetPath(), "target_path");
            try (InFlight.Lock ignored = inFlight.acquire("target:" + target, "NodeUnpublishVolume")) {
                // The target itself may be a link (removing it removes the link); a link on the way would make
                // the removal land elsewhere.
                paths.requireNoSymlinks(target, "target_path", false);
                Teardown.Result result;
                try {
                    result = teardown.unmountAndRemove(target);
                } catch (java.nio.file.DirectoryNotEmptyException e) {
                    throw CsiException.failedPrecondition("target " + target + " is not a mount point and is not"
                            + " empty; it was not published by this driver, or something wrote into it while it was"
                            + " unmounted: not removing it");
                } catch (MountException e) {
                    if (e.errno() == Errno.EBUSY && e.operation().equals("rmdir")) {
                        // other mounts lie below it: not a target of ours, or not ours alone
                        throw CsiException.failedPrecondition(e.getMessage());
                    }
                    throw e;
                }
                metrics.unmounted("target", result.step());
                LOG.info(LogLine.event("unpublished").with("volume_id", request.getVolumeId())
                        .with("target_path", target).with("step", result.step().label()).toString());
                if (result.step().compareTo(TeardownStep.FORCED) >= 0) {
                    events.warning(events.podAt(target).orElse(null), NodeEvents.UNMOUNT_FORCED,
                            forcedMessage("published target", request.getVolumeId(), target, result));
                }
                events.unpublished(target);
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
            Optional<String> problem = paths.shapeAndPlace(request.getVolumePath(), "volume_path");
            if (problem.isPresent()) {
                throw CsiException.notFound("volume `" + request.getVolumeId() + "` is not mounted there: "
                        + problem.get());
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

    /**
     * A staging mount to make, the mountBackend parameter that decides who makes it, and the volume's claim
     * (from the volume context) or {@code null}.
     */
    private record StageSpec(NfsMountRequest mount, String backend, ObjectRef claim) {
    }

    private StageSpec stageSpec(String volumeId, java.util.Map<String, String> context, VolumeCapability capability,
                                Path staging) {
        VolumeParameters parameters = VolumeParameters.parse(context, VolumeParameters.Source.VOLUME_CONTEXT);
        MountOptions options = MountOptions.resolve(parameters, capability.getMount().getMountFlagsList(),
                config.allowedMountOptions());
        NfsMountRequest mount = new NfsMountRequest(parameters.server(), parameters.share(),
                parameters.resolveSubDir(volumeId), options.asStrings(), staging, Capabilities.isReadOnly(capability),
                volumeId);
        return new StageSpec(mount, parameters.value(Parameter.MOUNT_BACKEND),
                ObjectRef.claimOf(parameters.metadata()).orElse(null));
    }

    /**
     * Creates directory {@code path} and its missing parents; a path that cannot be one (a file is there, a
     * parent is a file, a name is too long, the file system refuses) is INVALID_ARGUMENT.
     */
    private void createDirectory(Path path, String field) throws IOException {
        try {
            BlockingCalls.call("mkdir -p", path, mounter.deadline(), () -> Files.createDirectories(path));
        } catch (java.nio.file.FileSystemException e) {
            throw CsiException.invalidArgument(field + " " + path + " cannot be a directory to mount on: "
                    + (e.getReason() != null ? e.getReason() : e.getClass().getSimpleName()));
        }
    }

    private static void require(boolean condition, String message) {
        if (!condition) {
            throw CsiException.invalidArgument(message);
        }
    }
}
