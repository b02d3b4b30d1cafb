package io.gatewaycsi.nfs;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * One share on one gateway, as nfs(5) names it: {@code server:/export} plus the port and the protocol
 * version.
 *
 * @param server the gateway's host name, IPv4 address or IPv6 address (with or without brackets; stored
 *     without)
 * @param port the TCP port of the NFS service, 1–65535, or 0 for the default (2049 for NFSv4; for NFSv3 the
 *     port the gateway's portmapper names). For NFSv3 the MOUNT protocol always goes through the portmapper.
 * @param export the exported path (for NFSv4 the path in the gateway's pseudo file system), absolute; a
 *     trailing slash is dropped
 * @param version the protocol version
 */
public record NfsTarget(String server, int port, String export, NfsVersion version) {
    private static final Pattern HOST = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?");
    private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?");

    /**
     * Validates and normalizes the components.
     *
     * @throws IllegalArgumentException naming the bad component and why
     */
    public NfsTarget {
        Objects.requireNonNull(version, "version");
        if (server == null || server.isBlank()) {
            throw new IllegalArgumentException("NFS server is empty");
        }
        server = server.strip();
        if (server.startsWith("[") && server.endsWith("]")) {
            server = server.substring(1, server.length() - 1);
        }
        if (server.indexOf(':') >= 0) {
            if (!IPV6.matcher(server).matches()) {
                throw new IllegalArgumentException("NFS server \"" + server + "\" is neither a host name nor an IP address");
            }
        } else if (server.length() > 253 || !HOST.matcher(server).matches()) {
            throw new IllegalArgumentException("NFS server \"" + server
                    + "\" is not a valid host name or IPv4 address (letters, digits, '.', '-', '_')");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("NFS port " + port + " is out of range (0 = default, 1-65535)");
        }
        if (export == null || export.isEmpty()) {
            throw new IllegalArgumentException("NFS export path is empty");
        }
        if (export.length() > 1 && export.endsWith("/")) {
            export = export.substring(0, export.length() - 1);
        }
        if (export.length() > 1024) {
            throw new IllegalArgumentException("NFS export path is longer than 1024 characters");
        }
        try {
            NfsPaths.requireValid(export);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("invalid NFS export: " + e.getMessage(), e);
        }
    }

    /** An NFSv4.0 target on the default port. */
    public static NfsTarget v4(String server, String export) {
        return new NfsTarget(server, 0, export, NfsVersion.V4);
    }

    /** An NFSv3 target on the portmapper's port. */
    public static NfsTarget v3(String server, String export) {
        return new NfsTarget(server, 0, export, NfsVersion.V3);
    }

    /** This target with another version. */
    public NfsTarget withVersion(NfsVersion newVersion) {
        return new NfsTarget(server, port, export, newVersion);
    }

    /** {@code server:/export} as mount(8) writes it; an IPv6 address in brackets. */
    public String spec() {
        String host = server.indexOf(':') >= 0 ? "[" + server + "]" : server;
        return host + ":" + export;
    }

    /** For example {@code 10.0.0.2:/export (NFSv4.0)} or {@code gw:/export (NFSv3, port 2050)}. */
    @Override
    public String toString() {
        return spec() + " (" + version + (port != 0 ? ", port " + port : "") + ")";
    }
}
