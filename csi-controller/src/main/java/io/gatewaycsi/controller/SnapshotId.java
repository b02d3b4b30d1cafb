package io.gatewaycsi.controller;

import io.gatewaycsi.common.volume.IdFields;
import io.gatewaycsi.common.volume.Parameter;
import io.gatewaycsi.common.volume.VolumeId;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * A snapshot ID: {@code gs1|<nfsVersion>|<server>|<share>|<digest>}, where the digest (32 hex digits of
 * SHA-256 of the snapshot's name) names the snapshot's record and data under {@code /.gateway-csi/snapshots/}
 * of the share. {@code %} and {@code |} inside server and share are escaped as in {@link VolumeId}. At most
 * 128 bytes; decoding re-validates every field.
 *
 * @param nfsVersion the source volume's NFS version
 * @param server     the gateway
 * @param share      the share holding the snapshot
 * @param digest     32 hex digits
 */
record SnapshotId(String nfsVersion, String server, String share, String digest) {

    static final String PREFIX = "gs1";

    SnapshotId {
        nfsVersion = Parameter.NFS_VERSION.normalize(nfsVersion);
        server = Parameter.SERVER.normalize(server);
        share = Parameter.SHARE.normalize(share);
        if (!digest.matches("[0-9a-f]{32}")) {
            throw new IllegalArgumentException("bad snapshot digest");
        }
    }

    /** The ID of snapshot {@code name} of a volume. */
    static SnapshotId of(VolumeId source, String name) {
        return new SnapshotId(source.nfsVersion(), source.server(), source.share(), VolumeId.digestOf(name));
    }

    /**
     * The ID string.
     *
     * @throws IllegalArgumentException over 128 bytes
     */
    String encode() {
        String id = String.join("|", PREFIX, nfsVersion, IdFields.escape(server), IdFields.escape(share), digest);
        if (id.getBytes(StandardCharsets.UTF_8).length > VolumeId.MAX_BYTES) {
            throw new IllegalArgumentException("the snapshot ID would exceed " + VolumeId.MAX_BYTES
                    + " bytes: use a shorter share or server name");
        }
        return id;
    }

    /** Decodes an ID made by {@link #encode}; empty for anything else. */
    static Optional<SnapshotId> decode(String id) {
        if (id == null || id.getBytes(StandardCharsets.UTF_8).length > VolumeId.MAX_BYTES) {
            return Optional.empty();
        }
        String[] fields = id.split("\\|", -1);
        if (fields.length != 5 || !fields[0].equals(PREFIX)) {
            return Optional.empty();
        }
        try {
            return Optional.of(new SnapshotId(fields[1], IdFields.unescape(fields[2]), IdFields.unescape(fields[3]), fields[4]));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    GatewaySessions.Share gatewayShare() {
        return GatewaySessions.Share.of(server, share, nfsVersion);
    }
}
