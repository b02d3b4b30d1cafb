package io.gatewaycsi.common.volume;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A volume ID: everything DeleteVolume needs, with no other state (CSI spec, "CreateVolume": the plugin
 * SHOULD make the ID self-describing when it has no other store). Shape:
 * {@code gw1|<onDelete>|<nfsVersion>|<server>|<share>|<subDir>}, fields separated by {@code |}, with
 * {@code %} and {@code |} inside a field written as {@code %25} and {@code %7C}. The {@code gw1} prefix
 * versions the format. An ID never exceeds {@link #MAX_BYTES} bytes (CSI spec, "Size Limits") and can never
 * address a path outside the share: decoding re-validates share and subDir.
 *
 * @param onDelete   delete, retain or archive
 * @param nfsVersion the volume's {@code nfsVersion} parameter (3, 4, 4.0, 4.1, 4.2)
 * @param server     the gateway
 * @param share      the exported path, absolute
 * @param subDir     the volume's directory below the share, relative, not empty
 */
public record VolumeId(String onDelete, String nfsVersion, String server, String share, String subDir) {

    /** Longest ID the CSI spec allows, in bytes. */
    public static final int MAX_BYTES = 128;
    static final String PREFIX = "gw1";

    public VolumeId {
        onDelete = Parameter.ON_DELETE.normalize(onDelete);
        nfsVersion = Parameter.NFS_VERSION.normalize(nfsVersion);
        server = Parameter.SERVER.normalize(server);
        share = Parameter.SHARE.normalize(share);
        subDir = Values.relativePath(subDir);
    }

    /**
     * The ID string.
     *
     * @throws IllegalArgumentException when it would exceed 128 bytes, naming the length and what to shorten
     */
    public String encode() {
        String id = String.join("|", PREFIX, onDelete, nfsVersion, escape(server), escape(share), escape(subDir));
        int length = id.getBytes(StandardCharsets.UTF_8).length;
        if (length > MAX_BYTES) {
            throw new IllegalArgumentException("the volume ID for " + server + ":" + share + "/" + subDir + " would be "
                    + length + " bytes; CSI allows " + MAX_BYTES + ": use a shorter share, subDir or server name");
        }
        return id;
    }

    /**
     * Decodes an ID made by {@link #encode}; empty for anything else (a foreign, malformed or unsafe ID).
     */
    public static Optional<VolumeId> decode(String id) {
        if (id == null || id.getBytes(StandardCharsets.UTF_8).length > MAX_BYTES) {
            return Optional.empty();
        }
        String[] fields = id.split("\\|", -1);
        if (fields.length != 6 || !fields[0].equals(PREFIX)) {
            return Optional.empty();
        }
        try {
            return Optional.of(new VolumeId(fields[1], fields[2], unescape(fields[3]), unescape(fields[4]),
                    unescape(fields[5])));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /** The volume's directory as a path on the gateway's export: {@code <share>/<subDir>}. */
    public String exportPath() {
        return share.equals("/") ? "/" + subDir : share + "/" + subDir;
    }

    static String escape(String field) {
        return field.replace("%", "%25").replace("|", "%7C");
    }

    static String unescape(String field) {
        List<String> parts = new ArrayList<>();
        int from = 0;
        int at;
        while ((at = field.indexOf('%', from)) >= 0) {
            parts.add(field.substring(from, at));
            String code = at + 3 <= field.length() ? field.substring(at, at + 3) : "";
            parts.add(switch (code) {
                case "%25" -> "%";
                case "%7C" -> "|";
                default -> throw new IllegalArgumentException("bad escape");
            });
            from = at + 3;
        }
        parts.add(field.substring(from));
        return String.join("", parts);
    }
}
