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
import io.gatewaycsi.common.volume.WireGuardTunnel;
import io.gatewaycsi.common.wireguard.Tunnels;
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
 * <p>Scope (each RPC acts only on what belongs to its volume): NodePublishVolume refuses a target equal to,
 * inside or containing a staging path (INVALID_ARGUMENT) and invalid {@code mount_flags} (INVALID_ARGUMENT), and
 * remounts a staging mount recorded for the volume that is gone instead of answering FAILED_PRECONDITION;
 * NodeUnstageVolume refuses a staging path recorded for another volume and a staging mount with targets still
 * published (FAILED_PRECONDITION, naming them); NodeUnpublishVolume refuses a mount that is not a bind of the
 * volume (FAILED_PRECONDITION). NodeGetVolumeStats answers OK with {@code volume_condition.abnormal} when the
 * gateway does not answer (one statvfs per path outstanding at most) and for a target re-bound by a repair,
 * whose pod's running containers still hold the dead mount.
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
    private final StatvfsPerPath statvfs;
    private final Optional<Tunnels> tunnels;

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
        this(config, kernel, sidecar, mounter, state, metrics, events, Optional.empty());
    }

    /**
     * As the constructor above, with the WireGuard tunnels of this node: a volume whose parameters name a
     * WireGuard peer is staged over its tunnel (brought up before the mount, removed after the last unstage of
     * that peer); without {@code tunnels} such a volume is FAILED_PRECONDITION.
     */
    public NodeService(NodeConfig config, MountBackend kernel, Optional<SidecarBackend> sidecar, Mounter mounter,
                       StagingState state, NodeMetrics metrics, EventRecorder events, Optional<Tunnels> tunnels) {
        this.tunnels = tunnels;
        this.config = config;
        this.metrics = metrics;
        this.events = new NodeEvents(events);
        this.stager = new Stager(kernel, sidecar, metrics);
        this.mounter = mounter;
        this.teardown = new Teardown(mounter);
        this.state = state;
        this.paths = new NodePaths(config.allowedDirs(), mounter.deadline());
        this.repair = new StagingRepair(stager, mounter, teardown, metrics, this.events, paths);
        this.repairer = new Repairer(state, repair, inFlight, sidecar, Duration.ofSeconds(2));
        this.statvfs = new StatvfsPerPath(mounter);
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
            Optional<WireGuardTunnel> tunnel = WireGuardTunnel.of(VolumeParameters.parse(request.getVolumeContextMap(),
                    VolumeParameters.Source.VOLUME_CONTEXT), request.getSecretsMap(), "node-stage");
            try (InFlight.Lock ignored = inFlight.acquire("volume:" + request.getVolumeId(), "NodeStageVolume")) {
                if (tunnel.isPresent()) {
                    bringUp(tunnel.get(), staging, spec);
                }
                try {
                    stage(spec);
                } catch (IOException | RuntimeException e) {
                    if (tunnel.isPresent() && MountTable.read().topmost(staging).isEmpty()) {
                        tunnels.orElseThrow().release(staging.toString());
                    }
                    throw e;
                }
            } catch (IOException | RuntimeException e) {
                if (eventWorthy(e) && !(e.getCause() instanceof io.gatewaycsi.common.wireguard.TunnelException)) {
                    events.warning(spec.claim(), NodeEvents.MOUNT_FAILED, "NodeStageVolume of volume "
                            + request.getVolumeId() + " failed: " + e.getMessage());
                }
                throw e;
            }
            return NodeStageVolumeResponse.getDefaultInstance();
        });
    }

    /**
     * Brings up (or reuses) the volume's WireGuard tunnel for its staging path; a failure is UNAVAILABLE (kubelet
     * retries) with a TunnelFailed event on the claim.
     */
    private void bringUp(WireGuardTunnel tunnel, Path staging, StageSpec spec) throws IOException {
        Tunnels here = tunnels.orElseThrow(() -> CsiException.failedPrecondition("volume `" + spec.mount().volumeId()
                + "` goes through a WireGuard tunnel (parameter wireguardPeerPublicKey), but this node plugin runs"
                + " with --wireguard=off; start it with --wireguard=auto"));
        try {
            here.acquire(tunnel, staging.toString());
        } catch (io.gatewaycsi.common.wireguard.TunnelException e) {
            String message = "the WireGuard tunnel to gateway " + tunnel.gatewayAddress() + " could not be established"
                    + " for volume " + spec.mount().volumeId() + ": " + e.getMessage();
            events.warning(spec.claim(), NodeEvents.TUNNEL_FAILED, message);
            LOG.warning(LogLine.event("tunnel_failed").with("volume_id", spec.mount().volumeId())
                    .with("peer", tunnel.peerPublicKey()).with("endpoint", tunnel.endpoint())
                    .with("error", e.getMessage()).toString());
            throw CsiException.unavailable(message, e);
        }
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
            FallbackReason fallback = recorded.map(StagingState.Staged::fallback).orElse(null);
            if (cause != null) {
                fallback = repair.repair(new StagingState.Staged(mount, backend, claim, fallback), existing,
                        StagingRepair.targetsOf(MountTable.read(), mount, existing), cause).fallback();
            }
            state.save(mount, backend, claim, fallback);
            return;
        }
        paths.requireNoSymlinks(staging, "staging_target_path", true);
        createDirectory(staging, "staging_target_path");
        Stager.Outcome outcome = stager.stage(mount, backend);
        metrics.staged(outcome.backend());
        state.save(mount, backend, spec.claim(), outcome.fallback());
        String effective = String.join(",", outcome.options());
        String asked = String.join(",", mount.effectiveOptions());
        if (outcome.fallback() != null) {
            metrics.fellBack(outcome.fallback());
            events.normal(spec.claim(), NodeEvents.FALLBACK,
                    NodeEvents.fallbackMessage(mount.volumeId(), outcome.fallback(), outcome.detail())
                            + "; mounted with " + effective + (effective.equals(asked) ? "" : " (asked: " + asked + ")"));
        } else if (!effective.equals(asked)) {
            events.normal(spec.claim(), NodeEvents.OPTIONS_CHANGED, "volume " + mount.volumeId() + " is mounted by"
                    + " the " + (outcome.backend().equals("sidecar") ? "mount helper" : "kernel") + " with " + effective
                    + " (asked: " + asked + ")");
        }
        LOG.info(LogLine.event("staged").with("volume_id", mount.volumeId()).with("source", mount.source())
                .with("staging_path", staging).with("backend", outcome.backend())
                .with("fallback", outcome.fallback() == null ? null : outcome.fallback().label())
                .with("options", effective).with("asked_options", effective.equals(asked) ? null : asked)
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
                MountTable table = MountTable.read();
                Optional<MountEntry> mounted = table.topmost(staging);
                if (mounted.isPresent()) {
                    requireStagingOf(request.getVolumeId(), staging);
                    List<MountEntry> published = StagingRepair.publishedFrom(table, mounted.get());
                    if (!published.isEmpty()) {
                        // Unmounting now would kill the pods' volume (a helper's FUSE mount ends with its staging
                        // mount): kubelet unpublishes every target first, so this is a caller's mistake.
                        throw CsiException.failedPrecondition("volume `" + request.getVolumeId() + "` is still"
                                + " published at " + published.stream().map(m -> m.mountPoint().toString()).toList()
                                + "; NodeUnpublishVolume each target first (the staging mount keeps serving them)");
                    }
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
                if (tunnels.isPresent()) {
                    tunnels.get().release(staging.toString());
                }
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
            requireOutsideStaging(target, staging);
            List<String> flags;
            try {
                flags = MountOptions.validatedFlags(request.getVolumeCapability().getMount().getMountFlagsList(),
                        config.allowedMountOptions());
            } catch (IllegalArgumentException e) {
                throw CsiException.invalidArgument("volume_capability.mount.mount_flags: " + e.getMessage());
            }
            boolean readOnly = request.getReadonly() || Capabilities.isReadOnly(request.getVolumeCapability())
                    || flags.contains("ro");
            Optional<ObjectRef> pod = ObjectRef.podOf(request.getVolumeContextMap());
            try (InFlight.Lock ignored = inFlight.acquire("target:" + target, "NodePublishVolume")) {
                publish(request, staging, target, readOnly, flags, pod);
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
                         List<String> flags, Optional<ObjectRef> pod) throws IOException {
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
            Optional<MountEntry> top = table.topmost(staging);
            if (top.isEmpty()) {
                // Recorded but gone (its mount helper died and took it along): mount it again, never answer
                // "not staged" to a kubelet that will not stage it again.
                restageMissing(request, staging);
                table = MountTable.read();
                top = table.topmost(staging);
            }
            MountEntry entry = top.orElseThrow(() -> notStaged(request, staging));
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
            FallbackReason fallback = recorded.map(StagingState.Staged::fallback).orElse(null);
            MountTable table = MountTable.read();
            MountEntry entry = staged.isPresent() ? staged.get()
                    : table.topmost(staging).orElseThrow(() -> notStaged(request, staging));
            try (InFlight.Lock ignored = inFlight.acquire("volume:" + request.getVolumeId(), "repair")) {
                Stager.Outcome outcome = repair.repair(new StagingState.Staged(spec.mount(), spec.backend(), claim,
                        fallback), Optional.of(entry), StagingRepair.targetsOf(table, spec.mount(), Optional.of(entry)),
                        cause);
                state.save(spec.mount(), spec.backend(), claim, outcome.fallback());
            }
            staged = MountTable.read().topmost(staging).or(() -> Optional.of(entry));
            recorded = state.get(staging);
        }
        // One hand-off for the three: they are on the node's own directories and the staging mount's root.
        try {
            BlockingCalls.call("bind", target, mounter.deadline(), () -> {
                paths.requireNoSymlinks(target, "target_path", true);
                createDirectory(target, "target_path");
                mounter.publish(staging, target, perMountFlags(flags, readOnly));
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

    /**
     * The per-mount flags of a published target: {@code ro} when it is read-only, and the mount flags that
     * apply to a bind mount ({@link Mounter#PER_MOUNT_FLAGS}: {@code nosuid}, {@code noexec}…); the NFS ones
     * belong to the staging mount.
     */
    private static List<String> perMountFlags(List<String> flags, boolean readOnly) {
        List<String> perMount = new java.util.ArrayList<>(flags.stream()
                .filter(f -> Mounter.PER_MOUNT_FLAGS.contains(f) && !f.equals("ro")).toList());
        if (readOnly) {
            perMount.add("ro");
        }
        return perMount;
    }

    /**
     * Mounts the recorded staging mount at {@code staging} again (it is gone) with its targets, under the
     * volume's lock; a staging path with no record of this volume is not staged (FAILED_PRECONDITION).
     */
    private void restageMissing(NodePublishVolumeRequest request, Path staging) throws IOException {
        try (InFlight.Lock ignored = inFlight.acquire("volume:" + request.getVolumeId(), "repair")) {
            StagingState.Staged recorded = state.get(staging)
                    .filter(r -> r.mount().volumeId().equals(request.getVolumeId()))
                    .orElseThrow(() -> notStaged(request, staging));
            MountTable table = MountTable.read();
            if (table.topmost(staging).isPresent()) {
                return; // repaired meanwhile
            }
            Stager.Outcome outcome = repair.repair(recorded, Optional.empty(),
                    StagingRepair.targetsOf(table, recorded.mount(), Optional.empty()), StagingRepair.MISSING);
            state.save(recorded.mount(), recorded.mountBackend(), recorded.claim(), outcome.fallback());
        }
    }

    /**
     * Refuses a target that is the staging path, lies inside it or contains it, or lies inside another recorded
     * staging path: publishing there would stack the bind on a staging mount, and unpublishing it would tear
     * the staging mount down.
     */
    private void requireOutsideStaging(Path target, Path staging) throws IOException {
        if (target.startsWith(staging) || staging.startsWith(target)) {
            throw CsiException.invalidArgument("target_path " + target + " is, contains or lies inside"
                    + " staging_target_path " + staging + "; kubelet gives each pod a target of its own");
        }
        for (StagingState.Staged other : state.all()) {
            Path otherStaging = other.mount().stagingPath();
            if (target.startsWith(otherStaging) || otherStaging.startsWith(target)) {
                throw CsiException.invalidArgument("target_path " + target + " is, contains or lies inside the"
                        + " staging path " + otherStaging + " of volume `" + other.mount().volumeId() + "`");
            }
        }
    }

    /**
     * Refuses to unstage the mount at {@code staging} for {@code volumeId} when the node's record of that
     * staging path names another volume. (Without a record — the node's state directory was lost — kubelet's
     * word is all there is.)
     */
    private void requireStagingOf(String volumeId, Path staging) {
        Optional<StagingState.Staged> recorded = state.get(staging);
        if (recorded.isPresent() && !recorded.get().mount().volumeId().equals(volumeId)) {
            throw CsiException.failedPrecondition("staging path " + staging + " holds the staging mount of volume `"
                    + recorded.get().mount().volumeId() + "`, not of volume `" + volumeId + "`; not unmounting it");
        }
    }

    /** Whether {@code mount} is of a kind this driver makes: kernel NFS, or the mount helper's FUSE. */
    private static boolean ours(MountEntry mount) {
        return mount.isNfs() || mount.fsType().equals(SidecarBackend.FS_TYPE);
    }

    /**
     * Refuses to unpublish the mount at {@code target} for {@code volumeId} unless it is a bind mount of that
     * volume: of one of its recorded staging mounts (same device and tree, or, with the staging mount gone,
     * same source and type), or, where the volume has no record on this node, a mount of a kind this driver
     * makes or at least a bind mount (another mount in the table shows the file system it shows: a tmpfs or a
     * disk mounted there by someone else is no target of ours).
     */
    private void requirePublishedFrom(String volumeId, Path target) throws IOException {
        MountTable table = MountTable.read();
        Optional<MountEntry> top = table.topmost(target);
        if (top.isEmpty()) {
            return;
        }
        MountEntry mounted = top.get();
        List<StagingState.Staged> records = state.all().stream()
                .filter(r -> r.mount().volumeId().equals(volumeId)).toList();
        boolean belongs = records.isEmpty()
                ? ours(mounted) || table.entries().stream().anyMatch(e -> e.mountId() != mounted.mountId()
                        && mounted.showsPartOf(e))
                : records.stream().anyMatch(r -> (ours(mounted) && mounted.source().equals(r.mount().source()))
                        || table.topmost(r.mount().stagingPath())
                                .map(s -> mounted.showsPartOf(s) && mounted.fsType().equals(s.fsType()))
                                .orElse(false));
        if (!belongs) {
            throw CsiException.failedPrecondition("target " + target + " holds a " + mounted.fsType() + " mount of "
                    + mounted.source() + ", not a published target of volume `" + volumeId + "`; not unmounting it");
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
                Mounter.MountPoint at = mounter.mountPoint(target);
                if (at != Mounter.MountPoint.ABSENT && at != Mounter.MountPoint.NOT_MOUNTED) {
                    requirePublishedFrom(request.getVolumeId(), target);
                }
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
                repair.forget(target);
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
                FsStats stats = statvfs.statvfs(path);
                Optional<java.time.Instant> rebound = repair.reboundAt(path);
                VolumeCondition condition = rebound.isEmpty()
                        ? VolumeCondition.newBuilder().setAbnormal(false).setMessage("mounted and answering").build()
                        : VolumeCondition.newBuilder().setAbnormal(true).setMessage("the staging mount was broken and"
                                + " remounted at " + rebound.get() + "; this target was bound again on the node, but"
                                + " the pod's running containers still hold the dead mount: restart the pod").build();
                return NodeGetVolumeStatsResponse.newBuilder()
                        .addUsage(VolumeUsage.newBuilder().setUnit(VolumeUsage.Unit.BYTES)
                                .setTotal(stats.totalBytes()).setAvailable(stats.availableBytes())
                                .setUsed(stats.usedBytes()))
                        .addUsage(VolumeUsage.newBuilder().setUnit(VolumeUsage.Unit.INODES)
                                .setTotal(stats.totalInodes()).setAvailable(stats.freeInodes())
                                .setUsed(stats.usedInodes()))
                        .setVolumeCondition(condition)
                        .build();
            } catch (MountException e) {
                if (!e.meansBrokenMount() && !e.isTimeout()) {
                    throw e;
                }
                return NodeGetVolumeStatsResponse.newBuilder().setVolumeCondition(VolumeCondition.newBuilder()
                        .setAbnormal(true).setMessage(abnormal(e))).build();
            }
        });
    }

    private static String abnormal(MountException e) {
        if (e.isTimeout()) {
            return "gateway not answering: " + e.getMessage();
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
        Capabilities.requireWritableIfWriter(capability, options);
        String subDir = parameters.resolveSubDir(volumeId);
        if (VolumeParameters.isRecordsDir(subDir)) {
            throw CsiException.invalidArgument("volume context `subDir` is `" + subDir + "`, inside /"
                    + VolumeParameters.RECORDS_DIR + ", where gateway-csi keeps its records on the share; no volume"
                    + " lies there");
        }
        NfsMountRequest mount = new NfsMountRequest(parameters.server(), parameters.share(), subDir,
                options.asStrings(), staging, Capabilities.isReadOnly(capability), volumeId);
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
