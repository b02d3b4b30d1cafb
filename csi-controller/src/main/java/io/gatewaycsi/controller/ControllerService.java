package io.gatewaycsi.controller;

import io.gatewaycsi.common.CsiException;
import io.gatewaycsi.common.InFlight;
import io.gatewaycsi.common.Rpcs;
import io.gatewaycsi.common.events.EventRecorder;
import io.gatewaycsi.common.events.EventType;
import io.gatewaycsi.common.events.ObjectRef;
import io.gatewaycsi.common.volume.Capabilities;
import io.gatewaycsi.common.volume.VolumeId;
import io.gatewaycsi.csi.v1.ControllerExpandVolumeRequest;
import io.gatewaycsi.csi.v1.ControllerExpandVolumeResponse;
import io.gatewaycsi.csi.v1.ControllerGetCapabilitiesRequest;
import io.gatewaycsi.csi.v1.ControllerGetCapabilitiesResponse;
import io.gatewaycsi.csi.v1.ControllerGetVolumeRequest;
import io.gatewaycsi.csi.v1.ControllerGetVolumeResponse;
import io.gatewaycsi.csi.v1.ControllerGrpc;
import io.gatewaycsi.csi.v1.ControllerServiceCapability;
import io.gatewaycsi.csi.v1.CreateSnapshotRequest;
import io.gatewaycsi.csi.v1.CreateSnapshotResponse;
import io.gatewaycsi.csi.v1.CreateVolumeRequest;
import io.gatewaycsi.csi.v1.CreateVolumeResponse;
import io.gatewaycsi.csi.v1.DeleteSnapshotRequest;
import io.gatewaycsi.csi.v1.DeleteSnapshotResponse;
import io.gatewaycsi.csi.v1.DeleteVolumeRequest;
import io.gatewaycsi.csi.v1.DeleteVolumeResponse;
import io.gatewaycsi.csi.v1.GetCapacityRequest;
import io.gatewaycsi.csi.v1.GetCapacityResponse;
import io.gatewaycsi.csi.v1.GetSnapshotRequest;
import io.gatewaycsi.csi.v1.GetSnapshotResponse;
import io.gatewaycsi.csi.v1.ListSnapshotsRequest;
import io.gatewaycsi.csi.v1.ListSnapshotsResponse;
import io.gatewaycsi.csi.v1.Snapshot;
import io.gatewaycsi.csi.v1.ValidateVolumeCapabilitiesRequest;
import io.gatewaycsi.csi.v1.ValidateVolumeCapabilitiesResponse;
import io.gatewaycsi.csi.v1.Volume;
import io.gatewaycsi.csi.v1.VolumeCondition;
import io.grpc.stub.StreamObserver;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import io.gatewaycsi.common.volume.VolumeParameters;
import io.gatewaycsi.common.volume.WireGuardTunnel;
import io.gatewaycsi.common.wireguard.TunnelException;
import io.gatewaycsi.common.wireguard.Tunnels;
import java.util.Set;

/**
 * The CSI Controller service (CSI spec, "Controller Service RPC"): volumes and snapshots as directories on
 * the gateway, reached through the user-space NFS client. It needs no mount and no privilege. Operations on
 * one volume name, volume ID or snapshot name in flight at once get ABORTED; different ones run in parallel.
 * Capabilities: CREATE_DELETE_VOLUME, CREATE_DELETE_SNAPSHOT, GET_CAPACITY, LIST_SNAPSHOTS, GET_SNAPSHOT, CLONE_VOLUME,
 * EXPAND_VOLUME, GET_VOLUME, VOLUME_CONDITION, SINGLE_NODE_MULTI_WRITER.
 *
 * <p>Events: with csi-provisioner's {@code --extra-create-metadata}, CreateVolume knows the claim and reports
 * on it {@value #CREATED} (Normal: the directory made on the gateway) or {@value #FAILED} (Warning: why the
 * gateway refused, classified by status code, and the fix). The claim is also passed on in the volume context
 * ({@code csi.storage.k8s.io/pvc/name}, {@code …/namespace}) so that the node can address its events to it.
 */
public final class ControllerService extends ControllerGrpc.ControllerImplBase {

    private static final List<ControllerServiceCapability.RPC.Type> CAPABILITIES = List.of(
            ControllerServiceCapability.RPC.Type.CREATE_DELETE_VOLUME,
            ControllerServiceCapability.RPC.Type.CREATE_DELETE_SNAPSHOT,
            ControllerServiceCapability.RPC.Type.GET_CAPACITY,
            ControllerServiceCapability.RPC.Type.LIST_SNAPSHOTS,
            ControllerServiceCapability.RPC.Type.GET_SNAPSHOT,
            ControllerServiceCapability.RPC.Type.CLONE_VOLUME,
            ControllerServiceCapability.RPC.Type.EXPAND_VOLUME,
            ControllerServiceCapability.RPC.Type.GET_VOLUME,
            ControllerServiceCapability.RPC.Type.VOLUME_CONDITION,
            ControllerServiceCapability.RPC.Type.SINGLE_NODE_MULTI_WRITER);

    private final GatewaySessions sessions;
    private final Provisioner provisioner;
    private final Snapshots snapshots;
    private final Capacity capacity;
    private final InFlight inFlight = new InFlight();

    private final Map<String, String> defaultParameters;
    private final EventRecorder events;
    private final Optional<Tunnels> tunnels;
    /** Who the controller's tunnels are recorded for: it keeps them while it runs. */
    private static final String TUNNEL_USER = "controller";

    /** Event reason: CreateVolume made the volume's directory on the gateway. */
    public static final String CREATED = "GatewayDirectoryCreated";
    /** Event reason: CreateVolume failed on the gateway. */
    public static final String FAILED = "GatewayProvisioningFailed";

    /**
     * @param sessions            the gateway sessions (owned by the caller, closed at shutdown)
     * @param allowedMountOptions mount option names allowed beyond nfs(5)'s known ones
     * @param defaultParameters   StorageClass parameters applied where a request does not give them (e.g.
     *                            the {@code server} and {@code share} of {@code gateway-csi all --gateway});
     *                            usually empty
     */
    public ControllerService(GatewaySessions sessions, Set<String> allowedMountOptions,
                             Map<String, String> defaultParameters) {
        this(sessions, allowedMountOptions, defaultParameters, EventRecorder.none());
    }

    /**
     * As above, reporting CreateVolume's outcome as Kubernetes Events on the claim through {@code events}.
     */
    public ControllerService(GatewaySessions sessions, Set<String> allowedMountOptions,
                             Map<String, String> defaultParameters, EventRecorder events) {
        this(sessions, allowedMountOptions, defaultParameters, events, Optional.empty());
    }

    /**
     * As above, reaching gateways whose StorageClass names a WireGuard peer through {@code tunnels} (in the
     * controller's own network namespace, with the provisioner secret's keys); without it such a CreateVolume is
     * FAILED_PRECONDITION.
     */
    public ControllerService(GatewaySessions sessions, Set<String> allowedMountOptions,
                             Map<String, String> defaultParameters, EventRecorder events, Optional<Tunnels> tunnels) {
        this.tunnels = tunnels;
        this.events = events;
        this.sessions = sessions;
        this.snapshots = new Snapshots(sessions);
        this.provisioner = new Provisioner(sessions, allowedMountOptions, snapshots);
        this.capacity = new Capacity(sessions);
        this.defaultParameters = Map.copyOf(defaultParameters);
    }

    private Map<String, String> withDefaults(Map<String, String> parameters) {
        if (defaultParameters.isEmpty()) {
            return parameters;
        }
        Map<String, String> merged = new HashMap<>(defaultParameters);
        merged.putAll(parameters);
        return merged;
    }

    /** The request with the controller's default parameters under its own; the request itself without any. */
    private CreateVolumeRequest withDefaults(CreateVolumeRequest request) {
        return defaultParameters.isEmpty() ? request : request.toBuilder().clearParameters()
                .putAllParameters(withDefaults(request.getParametersMap())).build();
    }

    @Override
    public void controllerGetCapabilities(ControllerGetCapabilitiesRequest request,
                                          StreamObserver<ControllerGetCapabilitiesResponse> responses) {
        Rpcs.unary(responses, () -> {
            ControllerGetCapabilitiesResponse.Builder response = ControllerGetCapabilitiesResponse.newBuilder();
            for (ControllerServiceCapability.RPC.Type type : CAPABILITIES) {
                response.addCapabilities(ControllerServiceCapability.newBuilder()
                        .setRpc(ControllerServiceCapability.RPC.newBuilder().setType(type)));
            }
            return response.build();
        });
    }

    @Override
    public void createVolume(CreateVolumeRequest request, StreamObserver<CreateVolumeResponse> responses) {
        Rpcs.unary(responses, () -> {
            require(!request.getName().isEmpty(), "name must not be empty");
            Capabilities.require(request.getVolumeCapabilitiesList());
            require(request.getModifiableParametersCount() == 0, "mutable_parameters are not supported:"
                    + " gateway-csi has no VolumeAttributesClass parameters");
            long required = request.getCapacityRange().getRequiredBytes();
            long limit = request.getCapacityRange().getLimitBytes();
            require(required >= 0 && limit >= 0, "capacity_range bytes must not be negative");
            require(limit == 0 || limit >= required, "capacity_range.limit_bytes (" + limit
                    + ") is below required_bytes (" + required + ")");
            try (InFlight.Lock ignored = inFlight.acquire("volume-name:" + request.getName(), "CreateVolume")) {
                CreateVolumeRequest completed = withDefaults(request);
                Optional<ObjectRef> claim = ObjectRef.claimOf(request.getParametersMap());
                Volume volume;
                try {
                    Optional<WireGuardTunnel> tunnel = WireGuardTunnel.of(VolumeParameters.parse(
                            completed.getParametersMap(), VolumeParameters.Source.STORAGE_CLASS),
                            request.getSecretsMap(), "provisioner");
                    if (tunnel.isPresent()) {
                        bringUp(tunnel.get());
                    }
                    volume = provisioner.create(completed);
                } catch (RuntimeException e) {
                    claim.ifPresent(c -> events.record(c, EventType.WARNING, FAILED, "CreateVolume " + request.getName()
                            + " failed (" + CsiException.toStatus(e).getCode() + "): " + e.getMessage()));
                    throw e;
                }
                claim.ifPresent(c -> events.record(c, EventType.NORMAL, CREATED, "volume " + request.getName()
                        + " is directory " + volume.getVolumeContextMap().get("server") + ":"
                        + VolumeId.join(volume.getVolumeContextMap().get("share"),
                                volume.getVolumeContextMap().getOrDefault("subDir", ""))
                        + " on the gateway (volume_id " + volume.getVolumeId() + ")"));
                return CreateVolumeResponse.newBuilder().setVolume(volume).build();
            }
        });
    }

    @Override
    public void deleteVolume(DeleteVolumeRequest request, StreamObserver<DeleteVolumeResponse> responses) {
        Rpcs.unary(responses, () -> {
            require(!request.getVolumeId().isEmpty(), "volume_id must not be empty");
            try (InFlight.Lock ignored = inFlight.acquire("volume:" + request.getVolumeId(), "DeleteVolume")) {
                tunnelFor(request.getVolumeId(), request.getSecretsMap());
                provisioner.delete(request.getVolumeId());
            }
            return DeleteVolumeResponse.getDefaultInstance();
        });
    }

    /**
     * Brings up (or reuses) the controller's tunnel to a gateway; UNAVAILABLE when it cannot be established (the
     * message says what to check), FAILED_PRECONDITION when this controller runs without tunnels.
     */
    private void bringUp(WireGuardTunnel tunnel) throws java.io.IOException {
        Tunnels here = tunnels.orElseThrow(() -> CsiException.failedPrecondition("the StorageClass reaches gateway "
                + tunnel.gatewayAddress() + " through a WireGuard tunnel (parameter wireguardPeerPublicKey), but this"
                + " controller runs with --controller-wireguard=off; start it with --controller-wireguard=auto (chart: wireguard.enabled=true,"
                + " which grants it NET_ADMIN)"));
        try {
            here.acquire(tunnel, TUNNEL_USER);
        } catch (TunnelException e) {
            throw CsiException.unavailable("the WireGuard tunnel to gateway " + tunnel.gatewayAddress() + " could not"
                    + " be established: " + e.getMessage(), e);
        }
    }

    /**
     * Before DeleteVolume: when this controller has a tunnel routing the volume's server, brings it up again
     * with the provisioner secret's keys (the request carries no parameters; peer and endpoint come from the
     * tunnel's record).
     */
    private void tunnelFor(String volumeId, Map<String, String> secrets) throws java.io.IOException {
        if (tunnels.isEmpty()) {
            return;
        }
        Optional<VolumeId> id = VolumeId.decode(volumeId);
        if (id.isEmpty()) {
            return;
        }
        for (Tunnels.Recorded recorded : tunnels.get().all()) {
            if (recorded.gatewayRoute().equals(id.get().server() + "/32")
                    || recorded.gatewayRoute().equals(id.get().server() + "/128")) {
                bringUp(WireGuardTunnel.of(recorded.peerPublicKey(), recorded.endpoint(), id.get().server(), secrets,
                        "provisioner"));
                return;
            }
        }
    }

    @Override
    public void validateVolumeCapabilities(ValidateVolumeCapabilitiesRequest request,
                                           StreamObserver<ValidateVolumeCapabilitiesResponse> responses) {
        Rpcs.unary(responses, () -> {
            require(!request.getVolumeId().isEmpty(), "volume_id must not be empty");
            require(request.getVolumeCapabilitiesCount() > 0, "volume_capabilities must not be empty");
            existing(request.getVolumeId());
            for (var capability : request.getVolumeCapabilitiesList()) {
                Optional<String> problem = Capabilities.problem(capability);
                if (problem.isPresent()) {
                    return ValidateVolumeCapabilitiesResponse.newBuilder().setMessage(problem.get()).build();
                }
            }
            return ValidateVolumeCapabilitiesResponse.newBuilder().setConfirmed(
                    ValidateVolumeCapabilitiesResponse.Confirmed.newBuilder()
                            .addAllVolumeCapabilities(request.getVolumeCapabilitiesList())
                            .putAllVolumeContext(request.getVolumeContextMap())
                            .putAllParameters(request.getParametersMap())).build();
        });
    }

    @Override
    public void controllerGetVolume(ControllerGetVolumeRequest request,
                                    StreamObserver<ControllerGetVolumeResponse> responses) {
        Rpcs.unary(responses, () -> {
            require(!request.getVolumeId().isEmpty(), "volume_id must not be empty");
            Provisioner.Located volume = provisioner.locate(request.getVolumeId()).orElseThrow(() ->
                    CsiException.notFound("volume `" + request.getVolumeId() + "` does not exist"));
            VolumeCondition condition;
            try {
                if (!provisioner.exists(volume)) {
                    throw CsiException.notFound("volume `" + request.getVolumeId() + "` has no directory on the gateway");
                }
                condition = VolumeCondition.newBuilder().setAbnormal(false)
                        .setMessage("directory reachable on the gateway").build();
            } catch (CsiException e) {
                if (e.code() == io.grpc.Status.Code.NOT_FOUND) {
                    throw e;
                }
                condition = VolumeCondition.newBuilder().setAbnormal(true).setMessage(e.getMessage()).build();
            }
            Volume.Builder described = Volume.newBuilder().setVolumeId(request.getVolumeId());
            volume.record().ifPresent(record -> described.setCapacityBytes(record.requiredBytes())
                    .putAllVolumeContext(record.context()));
            return ControllerGetVolumeResponse.newBuilder().setVolume(described)
                    .setStatus(ControllerGetVolumeResponse.VolumeStatus.newBuilder().setVolumeCondition(condition))
                    .build();
        });
    }

    @Override
    public void controllerExpandVolume(ControllerExpandVolumeRequest request,
                                       StreamObserver<ControllerExpandVolumeResponse> responses) {
        Rpcs.unary(responses, () -> {
            require(!request.getVolumeId().isEmpty(), "volume_id must not be empty");
            require(request.hasCapacityRange(), "capacity_range must be given");
            if (request.hasVolumeCapability()) {
                Capabilities.require(request.getVolumeCapability());
            }
            try (InFlight.Lock ignored = inFlight.acquire("volume:" + request.getVolumeId(), "ControllerExpandVolume")) {
                existing(request.getVolumeId());
            }
            // The capacity is the bucket's: there is no quota to grow, and nothing for the node to do.
            return ControllerExpandVolumeResponse.newBuilder()
                    .setCapacityBytes(request.getCapacityRange().getRequiredBytes())
                    .setNodeExpansionRequired(false).build();
        });
    }

    /**
     * GetCapacity: the bytes available on the gateway share the StorageClass parameters name (statvfs of the
     * share); without parameters, the most available on any share this controller has reached (0 before
     * the first). The gateway caches object storage, so this is the cache file system's view.
     */
    @Override
    public void getCapacity(GetCapacityRequest request, StreamObserver<GetCapacityResponse> responses) {
        Rpcs.unary(responses, () -> {
            for (var capability : request.getVolumeCapabilitiesList()) {
                if (Capabilities.problem(capability).isPresent()) {
                    return GetCapacityResponse.newBuilder().setAvailableCapacity(0).build();
                }
            }
            return GetCapacityResponse.newBuilder().setAvailableCapacity(capacity.available(request.getParametersCount() == 0 ? Map.of()
                    : withDefaults(request.getParametersMap())))
                    .build();
        });
    }

    @Override
    public void createSnapshot(CreateSnapshotRequest request, StreamObserver<CreateSnapshotResponse> responses) {
        Rpcs.unary(responses, () -> {
            require(!request.getName().isEmpty(), "name must not be empty");
            require(!request.getSourceVolumeId().isEmpty(), "source_volume_id must not be empty");
            for (String key : request.getParametersMap().keySet()) {
                // csi-snapshotter's --extra-create-metadata keys are the only ones: VolumeSnapshotClass
                // parameters have no meaning for gateway-csi.
                require(key.startsWith("csi.storage.k8s.io/"), "unknown CreateSnapshot parameter `"
                        + key.replaceAll("\\p{Cntrl}", "?") + "`: gateway-csi takes no VolumeSnapshotClass parameters;"
                        + " remove it from the VolumeSnapshotClass");
            }
            try (InFlight.Lock ignored = inFlight.acquire("snapshot-name:" + request.getName(), "CreateSnapshot")) {
                Provisioner.Located source = existing(request.getSourceVolumeId());
                return CreateSnapshotResponse.newBuilder().setSnapshot(snapshots.create(request.getName(), source))
                        .build();
            }
        });
    }

    @Override
    public void deleteSnapshot(DeleteSnapshotRequest request, StreamObserver<DeleteSnapshotResponse> responses) {
        Rpcs.unary(responses, () -> {
            require(!request.getSnapshotId().isEmpty(), "snapshot_id must not be empty");
            try (InFlight.Lock ignored = inFlight.acquire("snapshot:" + request.getSnapshotId(), "DeleteSnapshot")) {
                snapshots.delete(request.getSnapshotId());
            }
            return DeleteSnapshotResponse.getDefaultInstance();
        });
    }

    @Override
    public void getSnapshot(GetSnapshotRequest request, StreamObserver<GetSnapshotResponse> responses) {
        Rpcs.unary(responses, () -> {
            require(!request.getSnapshotId().isEmpty(), "snapshot_id must not be empty");
            Snapshot snapshot = snapshots.get(request.getSnapshotId()).orElseThrow(() ->
                    CsiException.notFound("snapshot `" + request.getSnapshotId() + "` does not exist"));
            return GetSnapshotResponse.newBuilder().setSnapshot(snapshot).build();
        });
    }

    @Override
    public void listSnapshots(ListSnapshotsRequest request, StreamObserver<ListSnapshotsResponse> responses) {
        Rpcs.unary(responses, () -> {
            require(request.getMaxEntries() >= 0, "max_entries must not be negative, got " + request.getMaxEntries());
            List<Snapshot> matching = matchingSnapshots(request);
            int start = startIndex(request.getStartingToken(), matching.size());
            int end = request.getMaxEntries() > 0 ? Math.min(matching.size(), start + request.getMaxEntries())
                    : matching.size();
            ListSnapshotsResponse.Builder response = ListSnapshotsResponse.newBuilder();
            matching.subList(start, end).forEach(snapshot ->
                    response.addEntries(ListSnapshotsResponse.Entry.newBuilder().setSnapshot(snapshot)));
            if (end < matching.size()) {
                response.setNextToken(Integer.toString(end));
            }
            return response.build();
        });
    }

    private List<Snapshot> matchingSnapshots(ListSnapshotsRequest request) {
        if (!request.getSnapshotId().isEmpty()) {
            return snapshots.get(request.getSnapshotId()).stream()
                    .filter(s -> request.getSourceVolumeId().isEmpty()
                            || s.getSourceVolumeId().equals(request.getSourceVolumeId()))
                    .toList();
        }
        if (!request.getSourceVolumeId().isEmpty()) {
            return VolumeId.decode(request.getSourceVolumeId()).filter(id -> sessions.mayReach(id.server()))
                    .map(id -> snapshots.list(List.of(GatewaySessions.Share.of(id.server(), id.share(), id.nfsVersion())))
                            .stream().filter(s -> s.getSourceVolumeId().equals(request.getSourceVolumeId())).toList())
                    .orElse(List.of());
        }
        return snapshots.list(List.of());
    }

    private static int startIndex(String token, int size) {
        if (token.isEmpty()) {
            return 0;
        }
        try {
            int start = Integer.parseInt(token);
            if (start >= 0 && start <= size) {
                return start;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw CsiException.aborted("starting_token `" + token + "` is not valid; start the listing again");
    }

    private Provisioner.Located existing(String volumeId) {
        Provisioner.Located volume = provisioner.locate(volumeId).orElseThrow(() ->
                CsiException.notFound("volume `" + volumeId + "` does not exist"));
        if (!provisioner.exists(volume)) {
            throw CsiException.notFound("volume `" + volumeId + "` has no directory on the gateway");
        }
        return volume;
    }

    private static void require(boolean condition, String message) {
        if (!condition) {
            throw CsiException.invalidArgument(message);
        }
    }
}
