package io.gatewaycsi.nfs;

import java.util.Locale;

/**
 * The NFS protocol versions this client speaks: those of libnfs 4.0, which are NFSv3 (RFC 1813) and NFSv4.0
 * (RFC 7530). NFSv4.1 and later are not available from libnfs 4.0.
 */
public enum NfsVersion {
    /** NFSv3: needs the gateway's portmapper (rpcbind) and MOUNT service unless a port is given. */
    V3(3, "3"),
    /** NFSv4.0: one TCP connection to port 2049 (by default), no portmapper. */
    V4(4, "4.0");

    private final int major;
    private final String label;

    NfsVersion(int major, String label) {
        this.major = major;
        this.label = label;
    }

    /** The version as nfs(5)'s {@code vers=} option writes it: {@code "3"} or {@code "4.0"}. */
    public String label() {
        return label;
    }

    /** The major version number as libnfs's {@code nfs_set_version} takes it (3 or 4). */
    public int major() {
        return major;
    }

    /**
     * Parses an nfs(5) {@code vers=} value: {@code "3"}, {@code "4"} or {@code "4.0"} (case-insensitive, an
     * optional {@code "v"}/{@code "nfsv"} prefix allowed).
     *
     * @throws IllegalArgumentException for anything else, including {@code "4.1"} and {@code "4.2"}, which
     *     libnfs 4.0 cannot speak; the message names the accepted values
     */
    public static NfsVersion parse(String value) {
        if (value == null) {
            throw new IllegalArgumentException("NFS version is missing; use one of 3, 4, 4.0");
        }
        String v = value.trim().toLowerCase(Locale.ROOT);
        if (v.startsWith("nfsv")) {
            v = v.substring(4);
        } else if (v.startsWith("v")) {
            v = v.substring(1);
        }
        return switch (v) {
            case "3" -> V3;
            case "4", "4.0" -> V4;
            default -> throw new IllegalArgumentException("unsupported NFS version \"" + value
                    + "\": this client (libnfs 4.0) speaks 3, 4 and 4.0 only");
        };
    }

    /** {@code "NFSv3"} or {@code "NFSv4.0"}. */
    @Override
    public String toString() {
        return "NFSv" + label;
    }
}
