package io.gatewaycsi.common;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Where a gRPC server listens or a client connects: a unix domain socket ({@code unix:///abs/path}) or a
 * TCP address ({@code tcp://host:port}), the two forms the CSI sidecars pass in {@code --csi-address}
 * (CSI spec, "Supervised Lifecycle Management": the CO supplies {@code CSI_ENDPOINT}).
 *
 * <p>A unix path must be absolute and at most {@value #MAX_UNIX_PATH_BYTES} bytes (the kernel's
 * {@code sun_path} limit, unix(7)). A TCP port must be 1..65535.
 *
 * @param socketPath the socket file, for {@code unix://}; {@code null} for TCP
 * @param host       the host name or address, for {@code tcp://}; {@code null} for unix
 * @param port       the TCP port, 0 for unix
 */
public record Endpoint(Path socketPath, String host, int port) {

    /** Longest unix socket path the kernel accepts, in bytes, without the terminating NUL. */
    public static final int MAX_UNIX_PATH_BYTES = 107;

    public Endpoint {
        if ((socketPath == null) == (host == null)) {
            throw new IllegalArgumentException("an endpoint is either a unix socket path or a TCP host");
        }
    }

    /**
     * Parses {@code unix:///abs/path}, {@code unix:/abs/path} or {@code tcp://host:port}.
     *
     * @throws IllegalArgumentException naming the endpoint, what is wrong and the accepted forms
     */
    public static Endpoint parse(String endpoint) {
        Objects.requireNonNull(endpoint, "endpoint");
        String value = endpoint.strip();
        if (value.startsWith("unix:")) {
            return unix(value, value.substring("unix:".length()).replaceFirst("^//", ""));
        }
        if (value.startsWith("tcp://")) {
            return tcp(value);
        }
        throw invalid(endpoint, "unknown scheme");
    }

    private static Endpoint unix(String endpoint, String path) {
        if (path.isEmpty()) {
            throw invalid(endpoint, "the socket path is empty");
        }
        if (!path.startsWith("/")) {
            throw invalid(endpoint, "the socket path must be absolute");
        }
        if (path.indexOf('\0') >= 0) {
            throw invalid(endpoint, "the socket path contains a NUL byte");
        }
        if (path.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > MAX_UNIX_PATH_BYTES) {
            throw invalid(endpoint, "the socket path is longer than " + MAX_UNIX_PATH_BYTES + " bytes");
        }
        if (path.endsWith("/")) {
            throw invalid(endpoint, "the socket path names a directory");
        }
        return new Endpoint(Path.of(path).normalize(), null, 0);
    }

    private static Endpoint tcp(String endpoint) {
        URI uri;
        try {
            uri = new URI(endpoint);
        } catch (URISyntaxException e) {
            throw invalid(endpoint, e.getReason());
        }
        if (uri.getHost() == null || uri.getPort() < 1 || uri.getPort() > 65535) {
            throw invalid(endpoint, "a TCP endpoint needs a host and a port 1..65535");
        }
        if ((uri.getRawPath() != null && !uri.getRawPath().isEmpty()) || uri.getRawQuery() != null) {
            throw invalid(endpoint, "a TCP endpoint has no path or query");
        }
        String host = uri.getHost();
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        return new Endpoint(null, host, uri.getPort());
    }

    private static IllegalArgumentException invalid(String endpoint, String why) {
        return new IllegalArgumentException("endpoint `" + endpoint + "` is invalid: " + why
                + "; use unix:///absolute/path.sock or tcp://host:port");
    }

    /** True for a unix domain socket endpoint. */
    public boolean isUnix() {
        return socketPath != null;
    }

    @Override
    public String toString() {
        return isUnix() ? "unix://" + socketPath : "tcp://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
}
