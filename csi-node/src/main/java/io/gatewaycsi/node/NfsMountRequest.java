package io.gatewaycsi.node;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One staging mount to make: the gateway's export {@code server:/share/subDir} at {@code stagingPath}, with
 * nfs(5) options (as resolved by {@code MountOptions.asStrings()}).
 *
 * <p>Validated so that no field can smuggle an argument or an option into the mount command: the server is
 * a host name, an IPv4 address or an IPv6 address (bare or in brackets) and does not start with {@code -};
 * share is absolute; subDir is relative without {@code .} or {@code ..} segments; options are non-empty and
 * hold no comma, white space or control character; the staging path is absolute.
 *
 * @param server      the gateway, e.g. {@code gateway-us-east-1.trainingpipes.com}, {@code 10.0.0.2},
 *                    {@code fd00::2}
 * @param share       the exported path, e.g. {@code /my-bucket}
 * @param subDir      the volume's directory under the share, e.g. {@code pvc-123}; empty for the share itself
 * @param options     nfs(5) options such as {@code vers=4.1}, {@code hard}, {@code timeo=600} (deciseconds)
 * @param stagingPath the CSI {@code staging_target_path}
 * @param readOnly    whether to mount read-only ({@code ro} is added and any {@code rw} dropped)
 * @param volumeId    the CSI volume ID the mount serves (for the mount helper's bookkeeping); may be empty
 */
public record NfsMountRequest(String server, String share, String subDir, List<String> options, Path stagingPath,
                              boolean readOnly, String volumeId) {

    /** A request without a volume ID. */
    public NfsMountRequest(String server, String share, String subDir, List<String> options, Path stagingPath,
                           boolean readOnly) {
        this(server, share, subDir, options, stagingPath, readOnly, "");
    }

    /**
     * Validates the request; a {@code null} subDir means the share itself.
     *
     * @throws IllegalArgumentException naming the field that could not be passed safely to mount(8)
     */
    public NfsMountRequest {
        Objects.requireNonNull(server, "server");
        Objects.requireNonNull(share, "share");
        subDir = subDir == null ? "" : subDir;
        options = List.copyOf(options);
        Objects.requireNonNull(stagingPath, "stagingPath");
        Objects.requireNonNull(volumeId, "volumeId");
        if (server.isEmpty() || server.startsWith("-") || !server.matches("[A-Za-z0-9.:\\[\\]%_-]+")) {
            throw new IllegalArgumentException("server `" + server + "` is not a host name or an IP address");
        }
        if (!share.startsWith("/") || hasControl(share)) {
            throw new IllegalArgumentException("share `" + share + "` must be an absolute path such as /my-bucket");
        }
        if (subDir.startsWith("/") || hasControl(subDir) || hasDotSegment(subDir)) {
            throw new IllegalArgumentException("subDir `" + subDir + "` must be a relative path without . or .."
                    + " segments");
        }
        for (String option : options) {
            if (option.isEmpty() || option.chars().anyMatch(c -> c == ',' || Character.isWhitespace(c) || c < 32)) {
                throw new IllegalArgumentException("mount option `" + option + "` must be one non-empty nfs(5)"
                        + " option without commas or white space");
            }
        }
        if (!stagingPath.isAbsolute()) {
            throw new IllegalArgumentException("staging path `" + stagingPath + "` must be absolute");
        }
    }

    /**
     * The mount source, {@code server:/share/subDir}, with an IPv6 server in brackets
     * ({@code [fd00::2]:/export/vol}) as nfs(5) requires, and no doubled or trailing slash.
     */
    public String source() {
        String host = server.contains(":") && !server.startsWith("[") ? "[" + server + "]" : server;
        String path = share.replaceAll("/+$", "");
        String sub = subDir.replaceAll("^/+|/+$", "");
        if (!sub.isEmpty()) {
            path = path + "/" + sub;
        }
        return host + ":" + (path.isEmpty() ? "/" : path);
    }

    /**
     * The mount(8) file-system type: {@code nfs} for NFSv2/v3 ({@code vers=} or {@code nfsvers=} 2 or 3) and
     * when no version is given (mount.nfs then negotiates), {@code nfs4} for any 4.x.
     */
    public String fsType() {
        String version = version();
        return version != null && version.startsWith("4") ? "nfs4" : "nfs";
    }

    /** The options passed with {@code -o}: {@link #options()}, plus {@code ro} (and minus {@code rw}) if read-only. */
    public List<String> effectiveOptions() {
        List<String> effective = new ArrayList<>();
        for (String option : options) {
            if (readOnly && option.equals("rw")) {
                continue;
            }
            if (!effective.contains(option)) {
                effective.add(option);
            }
        }
        if (readOnly && !effective.contains("ro")) {
            effective.add("ro");
        }
        return effective;
    }

    private String version() {
        String version = null;
        for (String option : options) {
            if (option.startsWith("vers=")) {
                version = option.substring("vers=".length());
            } else if (option.startsWith("nfsvers=")) {
                version = option.substring("nfsvers=".length());
            }
        }
        return version;
    }

    private static boolean hasControl(String text) {
        return text.chars().anyMatch(c -> c < 32 || c == 127);
    }

    private static boolean hasDotSegment(String path) {
        for (String segment : path.split("/")) {
            if (segment.equals(".") || segment.equals("..")) {
                return true;
            }
        }
        return false;
    }
}
