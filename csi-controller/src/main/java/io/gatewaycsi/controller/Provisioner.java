package io.gatewaycsi.controller;

import io.gatewaycsi.common.CsiException;
import io.gatewaycsi.common.LogLine;
import io.gatewaycsi.common.events.ObjectRef;
import io.gatewaycsi.common.volume.Capabilities;
import io.gatewaycsi.common.volume.MountOptions;
import io.gatewaycsi.common.volume.Parameter;
import io.gatewaycsi.common.volume.VolumeId;
import io.gatewaycsi.common.volume.VolumeParameters;
import io.gatewaycsi.csi.v1.CreateVolumeRequest;
import io.gatewaycsi.csi.v1.Volume;
import io.gatewaycsi.csi.v1.VolumeContentSource;
import io.gatewaycsi.nfs.NfsException;
import io.gatewaycsi.nfs.NfsPaths;
import io.gatewaycsi.nfs.NfsSession;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Optional;
import java.util.Set;
import java.util.logging.Logger;

/**
 * Creates and deletes volumes as directories on the gateway, through the user-space NFS client: no mount and
 * no privilege. A volume is {@code <share>/<subDir>}; its record under {@code /.gateway-csi/volumes/} holds
 * the request that made it (DESIGN §4, "CreateVolume", "DeleteVolume").
 *
 * <p>Creation is resumable: the record is written first (not ready), then the directory (with content
 * copied into a temporary directory and renamed into place), then the record is marked ready. A retry of an
 * interrupted CreateVolume finds its own unready record and finishes the work.
 */
final class Provisioner {

    private static final Logger LOG = Logger.getLogger(Provisioner.class.getName());
    /** Mode of a new volume directory unless mountPermissions says otherwise. */
    static final int DEFAULT_MODE = 0777;
    private static final DateTimeFormatter ARCHIVE_STAMP = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'");

    private final GatewaySessions sessions;
    private final Set<String> allowedMountOptions;
    private final Snapshots snapshots;
    private final VolumeTrees trees = new VolumeTrees();

    Provisioner(GatewaySessions sessions, Set<String> allowedMountOptions, Snapshots snapshots) {
        this.sessions = sessions;
        this.allowedMountOptions = allowedMountOptions;
        this.snapshots = snapshots;
    }

    /** A volume found from its ID: its session, its directory and its record (if any). */
    record Located(VolumeId id, NfsSession session, String subDir, Optional<VolumeRecord> record) {
        String dir() {
            return GatewayLayout.volumeDir(subDir);
        }
    }

    /** CreateVolume, after the request's presence checks. */
    Volume create(CreateVolumeRequest request) {
        VolumeParameters parameters = VolumeParameters.parse(request.getParametersMap(),
                VolumeParameters.Source.STORAGE_CLASS);
        MountOptions options = MountOptions.resolve(parameters, Capabilities.mountFlags(request.getVolumeCapabilitiesList()),
                allowedMountOptions);
        request.getVolumeCapabilitiesList().forEach(capability -> Capabilities.requireWritableIfWriter(capability, options));
        String subDir = parameters.resolveSubDir(request.getName());
        if (GatewayLayout.isReserved(subDir)) {
            throw CsiException.invalidArgument("parameter `subDir` resolves to `" + subDir + "`, inside "
                    + GatewayLayout.ROOT + ", where gateway-csi keeps its records; choose another subDir");
        }
        if (!sessions.mayReach(parameters.server())) {
            throw CsiException.invalidArgument("parameter `server` names " + parameters.server() + ", which is not a"
                    + " gateway this controller serves (the controller's own host never is; with --gateways, only"
                    + " those listed); correct the StorageClass or the controller's --gateways");
        }
        VolumeId id = VolumeId.of(parameters.value(Parameter.ON_DELETE), parameters.value(Parameter.NFS_VERSION),
                parameters.server(), parameters.share(), subDir);
        String encodedId = id.encode();
        VolumeRecord wanted = new VolumeRecord(request.getName(), subDir,
                request.getCapacityRange().getRequiredBytes(), request.getCapacityRange().getLimitBytes(),
                source(request), parameters.volumeContext(subDir, options), false);
        GatewaySessions.Share share = GatewaySessions.Share.of(id.server(), id.share(), id.nfsVersion());
        String where = id.server() + ":" + VolumeId.join(id.share(), subDir);
        try {
            NfsSession session = sessions.session(share);
            String recordPath = GatewayLayout.volumeRecord(id.digest());
            Optional<VolumeRecord> existing = readRecord(session, recordPath);
            if (existing.isPresent() && existing.get().ready()) {
                if (!existing.get().name().equals(wanted.name())) {
                    throw CsiException.alreadyExists("volume directory " + where + " already belongs to another"
                            + " volume, `" + existing.get().name() + "` (a claim of the same name in another"
                            + " namespace, or an earlier claim whose volume was kept); give each volume its own"
                            + " subDir, e.g. with ${pvc.metadata.namespace}/${pvc.metadata.name} or"
                            + " ${pv.metadata.name}");
                }
                if (!existing.get().sameRequestAs(wanted)) {
                    throw CsiException.alreadyExists("volume directory " + where + " already belongs to volume `"
                            + existing.get().name() + "` created with a different request (capacity, parameters"
                            + " or source); use another name or subDir");
                }
                return volume(encodedId, wanted, request);
            }
            // Checked before anything is written, so a bad source leaves nothing behind.
            Optional<String> content = request.hasVolumeContentSource()
                    ? Optional.of(contentDirectory(share, request.getVolumeContentSource())) : Optional.empty();
            GatewayFiles.requireNoSymlinkOnTheWay(session, GatewayLayout.volumeDir(subDir), "CreateVolume");
            if (existing.isEmpty() && session.exists(GatewayLayout.volumeDir(subDir))) {
                if (session.exists(GatewayLayout.parentMarker(subDir))) {
                    throw CsiException.failedPrecondition("directory " + where + " holds other volumes (gateway-csi"
                            + " made it as their parent); choose a subDir that no volume lies inside");
                }
                throw CsiException.alreadyExists("directory " + where + " exists and is not a gateway-csi"
                        + " volume; choose another subDir, or use it through a static PersistentVolume");
            }
            VolumeTrees.requireFreeAncestors(session, subDir, id.share());
            // An unfinished record (an interrupted CreateVolume) is ours to resume or to take over.
            GatewayFiles.mkdirs(session, GatewayLayout.VOLUMES, GatewayLayout.PRIVATE_DIR_MODE);
            GatewayFiles.writeAtomically(session, recordPath, wanted.toBytes());
            int mode = parameters.get(Parameter.MOUNT_PERMISSIONS).map(m -> Integer.parseInt(m, 8)).orElse(DEFAULT_MODE);
            makeDirectory(session, content, subDir, mode, trees);
            GatewayFiles.writeAtomically(session, recordPath, wanted.markReady().toBytes());
            LOG.info(LogLine.event("volume-created").with("name", request.getName()).with("volume_id", encodedId)
                    .with("path", where).with("source", wanted.source().isEmpty() ? null : wanted.source()).toString());
            return volume(encodedId, wanted, request);
        } catch (NfsException e) {
            throw GatewayFailures.of(e, "creating volume directory " + where);
        }
    }

    /**
     * Makes the volume's directory (empty, or a copy of {@code content} renamed into place) and the parents it
     * needs ({@link VolumeTrees#makeParents}).
     */
    private static void makeDirectory(NfsSession session, Optional<String> content, String subDir, int mode,
                                      VolumeTrees trees) throws NfsException {
        String dir = GatewayLayout.volumeDir(subDir);
        if (content.isEmpty()) {
            trees.locked(session, () -> {
                VolumeTrees.makeParents(session, subDir);
                GatewayFiles.requireNoSymlinkOnTheWay(session, dir, "CreateVolume");
                try {
                    session.mkdir(dir, mode);
                } catch (NfsException e) {
                    if (!e.isAlreadyExists()) {
                        throw e;
                    }
                }
            });
            session.chmod(dir, mode);
            return;
        }
        if (session.exists(dir)) {
            return; // the copy was renamed into place before an interrupted call could mark the record ready
        }
        String copy = GatewayLayout.temporary("volume", VolumeId.digestOf(subDir));
        GatewayFiles.mkdirs(session, GatewayLayout.TMP, GatewayLayout.PRIVATE_DIR_MODE);
        if (session.exists(copy)) {
            GatewayFiles.removeTree(session, copy);
        }
        try {
            GatewayFiles.copyTree(session, content.get(), copy);
            session.chmod(copy, mode);
        } catch (NfsException | RuntimeException e) {
            try {
                GatewayFiles.removeTree(session, copy); // no partial copy stays behind
            } catch (NfsException | RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
        trees.locked(session, () -> {
            VolumeTrees.makeParents(session, subDir);
            GatewayFiles.requireNoSymlinkOnTheWay(session, dir, "CreateVolume");
            session.rename(copy, dir);
        });
    }

    /** The directory on the same share that holds the requested content. */
    private String contentDirectory(GatewaySessions.Share target, VolumeContentSource source) throws NfsException {
        if (source.hasSnapshot()) {
            String snapshotId = source.getSnapshot().getSnapshotId();
            return snapshots.dataDirectory(snapshotId, target).orElseThrow(() -> CsiException.notFound(
                    "source snapshot `" + snapshotId + "` does not exist on " + target.server() + ":" + target.share()));
        }
        String volumeId = source.getVolume().getVolumeId();
        Located located = locate(volumeId).filter(l -> sameShare(l.id(), target)).orElseThrow(() ->
                CsiException.notFound("source volume `" + volumeId + "` does not exist on " + target.server()
                        + ":" + target.share()));
        if (!located.session().exists(located.dir())) {
            throw CsiException.notFound("source volume `" + volumeId + "` has no directory on the gateway");
        }
        GatewayFiles.requireRealDirectory(located.session(), located.dir(), "cloning volume " + volumeId);
        return located.dir();
    }

    private static boolean sameShare(VolumeId id, GatewaySessions.Share share) {
        return id.server().equals(share.server()) && id.share().equals(share.share());
    }

    private static String source(CreateVolumeRequest request) {
        if (!request.hasVolumeContentSource()) {
            return "";
        }
        VolumeContentSource source = request.getVolumeContentSource();
        return source.hasSnapshot() ? "snapshot:" + source.getSnapshot().getSnapshotId()
                : "volume:" + source.getVolume().getVolumeId();
    }

    private static Volume volume(String id, VolumeRecord record, CreateVolumeRequest request) {
        Volume.Builder volume = Volume.newBuilder().setVolumeId(id)
                // The capacity asked for (0 = unknown when none was): recorded, reported and compared on a
                // repeated CreateVolume, but not enforced — the gateway has no quotas; the bucket is the limit.
                .setCapacityBytes(record.requiredBytes())
                .putAllVolumeContext(record.context());
        // The claim, so that the node can address its events to it (not part of the record: a retry of the
        // same request carries the same claim).
        for (String key : new String[] {ObjectRef.PVC_NAME, ObjectRef.PVC_NAMESPACE}) {
            String value = request.getParametersMap().get(key);
            if (value != null && !value.isEmpty()) {
                volume.putVolumeContext(key, value);
            }
        }
        if (request.hasVolumeContentSource()) {
            volume.setContentSource(request.getVolumeContentSource());
        }
        return volume.build();
    }

    /**
     * Finds the volume {@code volumeId} names, if it is one of ours: its session, subDir and record. A volume
     * is ours only when its record is on the gateway (CreateVolume writes it before it makes the directory):
     * an ID crafted to name some other directory of the share — another team's data, the driver's own
     * {@code /.gateway-csi} — names no volume, so no Delete, snapshot or clone ever acts on it.
     *
     * @throws CsiException UNAVAILABLE and friends when the gateway fails
     */
    Optional<Located> locate(String volumeId) {
        Optional<VolumeId> decoded = VolumeId.decode(volumeId);
        if (decoded.isEmpty()) {
            return Optional.empty();
        }
        VolumeId id = decoded.get();
        if (!sessions.mayReach(id.server())) {
            return Optional.empty(); // never dialed: see GatewaySessions.mayReach
        }
        try {
            NfsSession session = sessions.session(GatewaySessions.Share.of(id.server(), id.share(), id.nfsVersion()));
            Optional<VolumeRecord> record = readRecord(session, GatewayLayout.volumeRecord(id.digest()));
            if (record.isEmpty() || !describes(record.get(), id)) {
                return Optional.empty();
            }
            return Optional.of(new Located(id, session, record.get().subDir(), record));
        } catch (NfsException e) {
            throw GatewayFailures.of(e, "looking up volume " + volumeId);
        }
    }

    /**
     * Whether {@code id} is the ID of the volume {@code record} describes: every field must match what the
     * volume was created with (an ID altered to say {@code delete} where the volume was made with
     * {@code retain} names no volume).
     */
    private static boolean describes(VolumeRecord record, VolumeId id) {
        if (id.knownSubDir().filter(dir -> !dir.equals(record.subDir())).isPresent()) {
            return false;
        }
        return id.onDelete().equals(recorded(record, Parameter.ON_DELETE))
                && id.nfsVersion().equals(recorded(record, Parameter.NFS_VERSION))
                && id.server().equals(recorded(record, Parameter.SERVER))
                && id.share().equals(recorded(record, Parameter.SHARE));
    }

    /**
     * The value the volume was created with: its context's, else the parameter's default (the context leaves
     * out a default that a mount option overrode, e.g. nfsVersion beside {@code vers=4.0}; the ID then holds
     * the default).
     */
    private static String recorded(VolumeRecord record, Parameter parameter) {
        return record.context().getOrDefault(parameter.key(), parameter.defaultValue().orElse(""));
    }

    /**
     * Whether the volume's directory exists on the gateway.
     *
     * @throws CsiException FAILED_PRECONDITION when a directory on the way to it is a symbolic link
     */
    boolean exists(Located volume) {
        try {
            GatewayFiles.requireNoSymlinkOnTheWay(volume.session(), volume.dir(), "volume " + volume.id().encode());
            return volume.session().exists(volume.dir());
        } catch (NfsException e) {
            throw GatewayFailures.of(e, "checking volume directory " + volume.dir());
        }
    }

    /** DeleteVolume: applies the volume's onDelete, then forgets its record. Unknown IDs succeed. */
    void delete(String volumeId) {
        Optional<Located> found = locate(volumeId);
        if (found.isEmpty()) {
            LOG.info(LogLine.event("volume-delete-skipped").with("volume_id", volumeId)
                    .with("reason", "not a volume of this driver, or already deleted").toString());
            return;
        }
        Located volume = found.get();
        String dir = volume.dir();
        String where = volume.id().server() + ":" + VolumeId.join(volume.id().share(), volume.subDir());
        // What the volume was created with decides (locate() found the ID to say the same).
        String onDelete = volume.record().map(r -> recorded(r, Parameter.ON_DELETE)).orElse(volume.id().onDelete());
        try {
            GatewayFiles.requireNoSymlinkOnTheWay(volume.session(), dir, "DeleteVolume of " + volumeId);
            if (volume.session().exists(dir)) {
                if (!onDelete.equals("retain")) {
                    Optional<VolumeTrees.Nested> inside = VolumeTrees.volumeInside(volume.session(), volume.subDir());
                    if (inside.isPresent()) {
                        throw CsiException.failedPrecondition("DeleteVolume of " + volumeId + " (onDelete=" + onDelete
                                + ") refused: its directory " + where + " holds volume `" + inside.get().record().name()
                                + "` (subDir " + inside.get().subDir() + "), which " + onDelete + " would take"
                                + " with it; delete that volume first, or move its data out");
                    }
                }
                switch (onDelete) {
                    case "delete" -> GatewayFiles.removeTree(volume.session(), dir);
                    case "archive" -> volume.session().rename(dir, NfsPaths.join(NfsPaths.parent(dir),
                            "archived-" + NfsPaths.name(dir) + "-" + ZonedDateTime.now(ZoneOffset.UTC).format(ARCHIVE_STAMP)));
                    default -> { } // retain
                }
            }
            GatewayFiles.unlinkIfExists(volume.session(), GatewayLayout.volumeRecord(volume.id().digest()));
            if (!volume.session().exists(dir)) {
                trees.locked(volume.session(), () -> VolumeTrees.removeEmptyParents(volume.session(), volume.subDir()));
            }
            LOG.info(LogLine.event("volume-deleted").with("volume_id", volumeId).with("path", where)
                    .with("on_delete", onDelete).toString());
        } catch (NfsException e) {
            throw GatewayFailures.of(e, "deleting volume " + where + " (onDelete=" + onDelete + ")");
        }
    }

    static Optional<VolumeRecord> readRecord(NfsSession session, String path) throws NfsException {
        try {
            return GatewayFiles.readSmallIfExists(session, path).map(VolumeRecord::parse);
        } catch (IllegalArgumentException e) {
            throw CsiException.internal("the volume record " + path + " on the gateway is damaged: " + e.getMessage()
                    + "; remove it to let the volume be created again", e);
        }
    }
}
