package io.gatewaycsi.controller;

import com.google.protobuf.Timestamp;
import io.gatewaycsi.common.CsiException;
import io.gatewaycsi.common.LogLine;
import io.gatewaycsi.common.volume.VolumeId;
import io.gatewaycsi.csi.v1.Snapshot;
import io.gatewaycsi.nfs.NfsException;
import io.gatewaycsi.nfs.NfsSession;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * Snapshots kept on the gateway: a snapshot is a full copy of a volume's tree (files with their bytes,
 * directories, symlinks as symlinks, modes), made into a temporary directory with a bounded buffer and
 * renamed into {@code /.gateway-csi/snapshots/<digest>.data} only when complete, so a snapshot is either
 * whole or absent. Writers active during the copy may or may not be captured: quiesce the workload for an
 * application-consistent snapshot.
 */
final class Snapshots {

    private static final Logger LOG = Logger.getLogger(Snapshots.class.getName());

    private final GatewaySessions sessions;

    Snapshots(GatewaySessions sessions) {
        this.sessions = sessions;
    }

    /** CreateSnapshot: idempotent by name; ALREADY_EXISTS when the name is taken by another volume's snapshot. */
    Snapshot create(String name, Provisioner.Located source) {
        SnapshotId id = SnapshotId.of(source.id(), name);
        String encodedId = id.encode();
        String sourceId = source.id().encode();
        NfsSession session = source.session();
        String recordPath = GatewayLayout.snapshotRecord(id.digest());
        try {
            GatewayFiles.requireRealDirectory(session, source.dir(), "CreateSnapshot of " + sourceId);
            Optional<SnapshotRecord> existing = read(session, recordPath);
            if (existing.isPresent()) {
                if (!existing.get().sourceVolumeId().equals(sourceId)) {
                    throw CsiException.alreadyExists("snapshot `" + name + "` already exists for volume `"
                            + existing.get().sourceVolumeId() + "`; use another name");
                }
                if (existing.get().ready()) {
                    return snapshot(encodedId, existing.get());
                }
            }
            SnapshotRecord started = existing.orElse(new SnapshotRecord(name, sourceId, Instant.now(), 0, false));
            GatewayFiles.mkdirs(session, GatewayLayout.SNAPSHOTS, GatewayLayout.PRIVATE_DIR_MODE);
            GatewayFiles.mkdirs(session, GatewayLayout.TMP, GatewayLayout.PRIVATE_DIR_MODE);
            GatewayFiles.writeAtomically(session, recordPath, started.toBytes());
            String data = GatewayLayout.snapshotData(id.digest());
            if (session.exists(data)) {
                GatewayFiles.removeTree(session, data);
            }
            String copy = GatewayLayout.temporary("snapshot", id.digest());
            if (session.exists(copy)) {
                GatewayFiles.removeTree(session, copy);
            }
            long bytes;
            try {
                bytes = GatewayFiles.copyTree(session, source.dir(), copy);
                session.rename(copy, data);
            } catch (NfsException | RuntimeException e) {
                discard(session, copy, recordPath, e);
                throw e;
            }
            SnapshotRecord ready = new SnapshotRecord(name, sourceId, started.createdAt(), bytes, true);
            GatewayFiles.writeAtomically(session, recordPath, ready.toBytes());
            LOG.info(LogLine.event("snapshot-created").with("name", name).with("snapshot_id", encodedId)
                    .with("volume_id", sourceId).with("size_bytes", bytes).toString());
            return snapshot(encodedId, ready);
        } catch (NfsException e) {
            throw GatewayFailures.of(e, "snapshotting volume " + sourceId);
        }
    }

    /**
     * After a failed copy: removes the partial copy and the unfinished record, so that nothing of the failed
     * snapshot stays on the gateway (a retry starts again). A failure to clean up is added to {@code cause}.
     */
    private static void discard(NfsSession session, String copy, String recordPath, Exception cause) {
        try {
            GatewayFiles.removeTree(session, copy);
            GatewayFiles.unlinkIfExists(session, recordPath);
        } catch (NfsException | RuntimeException e) {
            cause.addSuppressed(e);
        }
    }

    /** DeleteSnapshot: removes data and record; unknown IDs succeed. */
    void delete(String snapshotId) {
        Optional<SnapshotId> decoded = decode(snapshotId);
        if (decoded.isEmpty()) {
            return;
        }
        SnapshotId id = decoded.get();
        try {
            NfsSession session = sessions.session(id.gatewayShare());
            String data = GatewayLayout.snapshotData(id.digest());
            if (session.exists(data)) {
                GatewayFiles.removeTree(session, data);
            }
            GatewayFiles.unlinkIfExists(session, GatewayLayout.snapshotRecord(id.digest()));
            LOG.info(LogLine.event("snapshot-deleted").with("snapshot_id", snapshotId).toString());
        } catch (NfsException e) {
            throw GatewayFailures.of(e, "deleting snapshot " + snapshotId);
        }
    }

    /** The snapshot {@code snapshotId}, when it exists and is complete. */
    Optional<Snapshot> get(String snapshotId) {
        return decode(snapshotId).flatMap(id -> {
            try {
                return read(sessions.session(id.gatewayShare()), GatewayLayout.snapshotRecord(id.digest()))
                        .filter(SnapshotRecord::ready).map(record -> snapshot(snapshotId, record));
            } catch (NfsException e) {
                throw GatewayFailures.of(e, "reading snapshot " + snapshotId);
            }
        });
    }

    /** The data directory of a complete snapshot on {@code share}, for restoring it into a new volume. */
    Optional<String> dataDirectory(String snapshotId, GatewaySessions.Share share) {
        return decode(snapshotId)
                .filter(id -> id.server().equals(share.server()) && id.share().equals(share.share()))
                .flatMap(id -> get(snapshotId).map(found -> GatewayLayout.snapshotData(id.digest())));
    }

    /**
     * Every complete snapshot on the shares given, or on every share this controller has reached when
     * {@code shares} is empty, sorted by ID (a stable order for pagination).
     */
    List<Snapshot> list(List<GatewaySessions.Share> shares) {
        List<Snapshot> found = new ArrayList<>();
        for (GatewaySessions.Share share : shares.isEmpty() ? List.copyOf(sessions.knownShares()) : shares) {
            try {
                NfsSession session = sessions.session(share);
                for (String file : GatewayFiles.listOrEmpty(session, GatewayLayout.SNAPSHOTS)) {
                    if (!file.endsWith(".properties")) {
                        continue;
                    }
                    String digest = file.substring(0, file.length() - ".properties".length());
                    Optional<SnapshotRecord> record = read(session, GatewayLayout.snapshotRecord(digest));
                    if (record.isPresent() && record.get().ready()) {
                        VolumeId source = VolumeId.decode(record.get().sourceVolumeId()).orElseThrow();
                        String id = new SnapshotId(source.nfsVersion(), share.server(), share.share(), digest).encode();
                        found.add(snapshot(id, record.get()));
                    }
                }
            } catch (NfsException e) {
                throw GatewayFailures.of(e, "listing snapshots on " + share.server() + ":" + share.share());
            }
        }
        found.sort(Comparator.comparing(Snapshot::getSnapshotId));
        return found;
    }

    /** The ID decoded, when it names a gateway this controller may reach (never dialed otherwise). */
    private Optional<SnapshotId> decode(String snapshotId) {
        return SnapshotId.decode(snapshotId).filter(id -> sessions.mayReach(id.server()));
    }

    private static Snapshot snapshot(String id, SnapshotRecord record) {
        return Snapshot.newBuilder().setSnapshotId(id).setSourceVolumeId(record.sourceVolumeId())
                .setSizeBytes(record.sizeBytes()).setReadyToUse(record.ready())
                .setCreationTime(Timestamp.newBuilder().setSeconds(record.createdAt().getEpochSecond())
                        .setNanos(record.createdAt().getNano()))
                .build();
    }

    private static Optional<SnapshotRecord> read(NfsSession session, String path) throws NfsException {
        try {
            return GatewayFiles.readSmallIfExists(session, path).map(SnapshotRecord::parse);
        } catch (IllegalArgumentException e) {
            throw CsiException.internal("the snapshot record " + path + " on the gateway is damaged: "
                    + e.getMessage() + "; delete the snapshot", e);
        }
    }
}
