package io.gatewaycsi.common.volume;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Optional;

/**
 * A volume ID: what DeleteVolume needs to find and remove a volume, with no state in the controller (CSI
 * spec, "CreateVolume": the ID identifies the volume in later calls). Two shapes, fields separated by
 * {@code |}, with {@code %} and {@code |} inside a field written as {@code %25} and {@code %7C}:
 * <ul>
 *   <li>{@code gw1|<onDelete>|<nfsVersion>|<server>|<share>|<subDir>} when it fits in {@link #MAX_BYTES};</li>
 *   <li>{@code gw1h|<onDelete>|<nfsVersion>|<server>|<share>|<digest>} otherwise, where the digest (32 hex
 *   digits of the SHA-256 of subDir) names the volume's record on the gateway, which holds subDir.</li>
 * </ul>
 * The prefix versions the format. An ID never exceeds 128 bytes (CSI spec, "Size Limits"): when even the
 * digest form does not fit, encoding is refused. Decoding re-validates every field, so an ID can never
 * address a path outside its share.
 *
 * @param onDelete   delete, retain or archive
 * @param nfsVersion the volume's {@code nfsVersion} parameter (3, 4, 4.0, 4.1, 4.2)
 * @param server     the gateway
 * @param share      the exported path, absolute
 * @param subDir     the volume's directory below the share, relative; {@code null} when the ID carries only
 *                   its digest
 * @param digest     32 hex digits of SHA-256(subDir)
 */
public record VolumeId(String onDelete, String nfsVersion, String server, String share, String subDir,
                       String digest) {

    /** Longest ID the CSI spec allows, in bytes. */
    public static final int MAX_BYTES = 128;
    static final String INLINE = "gw1";
    static final String DIGESTED = "gw1h";

    public VolumeId {
        onDelete = Parameter.ON_DELETE.normalize(onDelete);
        nfsVersion = Parameter.NFS_VERSION.normalize(nfsVersion);
        server = Parameter.SERVER.normalize(server);
        share = Parameter.SHARE.normalize(share);
        if (subDir != null) {
            subDir = Values.relativePath(subDir);
            if (digest != null && !digest.equals(digestOf(subDir))) {
                throw new IllegalArgumentException("digest does not match subDir");
            }
            digest = digestOf(subDir);
        } else if (digest == null || !digest.matches("[0-9a-f]{32}")) {
            throw new IllegalArgumentException("a volume ID needs subDir or its digest");
        }
    }

    /** The ID of the volume in {@code <share>/<subDir>}. */
    public static VolumeId of(String onDelete, String nfsVersion, String server, String share, String subDir) {
        return new VolumeId(onDelete, nfsVersion, server, share, Objects.requireNonNull(subDir, "subDir"), null);
    }

    /** The subDir, when the ID carries it. */
    public Optional<String> knownSubDir() {
        return Optional.ofNullable(subDir);
    }

    /**
     * The ID string: the inline shape when it fits, else the digest shape.
     *
     * @throws IllegalArgumentException when even the digest shape exceeds 128 bytes, naming what to shorten
     */
    public String encode() {
        String head = String.join("|", onDelete, nfsVersion, IdFields.escape(server), IdFields.escape(share));
        if (subDir != null) {
            String inline = INLINE + "|" + head + "|" + IdFields.escape(subDir);
            if (bytes(inline) <= MAX_BYTES) {
                return inline;
            }
        }
        String digested = DIGESTED + "|" + head + "|" + digest;
        if (bytes(digested) > MAX_BYTES) {
            throw new IllegalArgumentException("the volume ID for " + server + ":" + share + " would be "
                    + bytes(digested) + " bytes; CSI allows " + MAX_BYTES + ": use a shorter share or server name");
        }
        return digested;
    }

    /** Decodes an ID made by {@link #encode}; empty for anything else (a foreign, malformed or unsafe ID). */
    public static Optional<VolumeId> decode(String id) {
        if (id == null || bytes(id) > MAX_BYTES) {
            return Optional.empty();
        }
        String[] fields = id.split("\\|", -1);
        if (fields.length != 6 || !(fields[0].equals(INLINE) || fields[0].equals(DIGESTED))) {
            return Optional.empty();
        }
        try {
            boolean inline = fields[0].equals(INLINE);
            return Optional.of(new VolumeId(fields[1], fields[2], IdFields.unescape(fields[3]), IdFields.unescape(fields[4]),
                    inline ? IdFields.unescape(fields[5]) : null, inline ? null : fields[5]));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /** The volume's directory on the export, {@code <share>/<subDir>}, when the ID carries subDir. */
    public Optional<String> exportPath() {
        return knownSubDir().map(dir -> join(share, dir));
    }

    /** {@code <share>/<relative>}. */
    public static String join(String share, String relative) {
        return share.equals("/") ? "/" + relative : share + "/" + relative;
    }

    /** 32 hex digits of the SHA-256 of {@code text} (UTF-8). */
    public static String digestOf(String text) {
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(hash, 0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static int bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8).length;
    }
}
