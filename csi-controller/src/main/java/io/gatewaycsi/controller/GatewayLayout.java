package io.gatewaycsi.controller;

import io.gatewaycsi.common.volume.VolumeId;
import io.gatewaycsi.common.volume.VolumeParameters;

/**
 * Where gateway-csi keeps its own files in a share, beside the volumes: {@code /.gateway-csi/volumes/} (one
 * record per volume, named by the digest of its subDir), {@code /.gateway-csi/snapshots/} (one record and
 * one data directory per snapshot, named by the digest of the snapshot's name) and
 * {@code /.gateway-csi/parents/} (one marker per parent directory gateway-csi made for a nested subDir,
 * named by the digest of its path) and {@code /.gateway-csi/tmp/} (copies and removals in progress). Paths
 * are absolute within the share.
 */
final class GatewayLayout {

    static final String ROOT = "/" + VolumeParameters.RECORDS_DIR;
    static final String VOLUMES = ROOT + "/volumes";
    static final String SNAPSHOTS = ROOT + "/snapshots";
    static final String TMP = ROOT + "/tmp";
    static final String PARENTS = ROOT + "/parents";
    /** Mode of gateway-csi's own directories. */
    static final int PRIVATE_DIR_MODE = 0700;

    private GatewayLayout() {
    }

    /** Whether a volume's {@code subDir} would lie in gateway-csi's own directory (refused). */
    static boolean isReserved(String subDir) {
        return VolumeParameters.isRecordsDir(subDir);
    }

    static String volumeDir(String subDir) {
        return "/" + subDir;
    }

    static String volumeRecord(String digest) {
        return VOLUMES + "/" + digest;
    }

    static String snapshotRecord(String digest) {
        return SNAPSHOTS + "/" + digest + ".properties";
    }

    static String snapshotData(String digest) {
        return SNAPSHOTS + "/" + digest + ".data";
    }

    /** The marker that says gateway-csi made the parent directory {@code relative} (below the share). */
    static String parentMarker(String relative) {
        return PARENTS + "/" + VolumeId.digestOf(relative);
    }

    static String temporary(String purpose, String digest) {
        return TMP + "/" + purpose + "-" + digest;
    }

    /** The digest that names a volume's record. */
    static String volumeDigest(String subDir) {
        return VolumeId.digestOf(subDir);
    }
}
