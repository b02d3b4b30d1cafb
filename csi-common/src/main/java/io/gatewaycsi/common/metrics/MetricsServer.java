package io.gatewaycsi.common.metrics;

import io.gatewaycsi.common.DriverVersion;
import io.gatewaycsi.common.LogLine;
import io.prometheus.metrics.core.metrics.Info;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.logging.Logger;

/**
 * The process's {@code /metrics} endpoint: client_java's built-in HTTP server (the JDK's
 * {@code com.sun.net.httpserver}) serving {@code registry} in the Prometheus text format (and OpenMetrics or
 * protobuf when the scraper asks), plus {@code /-/healthy}. One thread serves scrapes. The registry also gets
 * {@code gatewaycsi_build_info{version}} (always 1).
 */
public final class MetricsServer implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(MetricsServer.class.getName());

    private final HTTPServer server;
    private final String address;

    private MetricsServer(HTTPServer server, String address) {
        this.server = server;
        this.address = address;
    }

    /**
     * Parses a {@code --metrics-address}: {@code host:port}, {@code [ipv6]:port} or {@code :port} (every
     * interface).
     *
     * @return the host ({@code ""} for every interface) and the port (0 picks a free one)
     * @throws IllegalArgumentException naming the value and the accepted forms
     */
    public static HostPort parseAddress(String value) {
        String text = value == null ? "" : value.strip();
        int colon = text.lastIndexOf(':');
        if (colon < 0) {
            throw invalid(value);
        }
        String host = text.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.indexOf(':') >= 0) {
            throw invalid(value);
        }
        int port;
        try {
            port = Integer.parseInt(text.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw invalid(value);
        }
        if (port < 0 || port > 65535) {
            throw invalid(value);
        }
        return new HostPort(host, port);
    }

    private static IllegalArgumentException invalid(String value) {
        return new IllegalArgumentException("metrics address `" + value + "` is invalid: use host:port"
                + " (e.g. 0.0.0.0:9811 or 127.0.0.1:9811), [ipv6]:port or :port");
    }

    /** A parsed address: {@code host} is empty for every interface. */
    public record HostPort(String host, int port) {
    }

    /**
     * Registers {@code gatewaycsi_build_info} in {@code registry} and serves it at {@code address}.
     *
     * @throws IllegalArgumentException for an invalid address (see {@link #parseAddress})
     * @throws IOException naming the address when it cannot be bound
     */
    public static MetricsServer start(String address, PrometheusRegistry registry) throws IOException {
        HostPort hostPort = parseAddress(address);
        Info.builder().name("gatewaycsi_build_info").help("The gateway-csi version; always 1.")
                .labelNames("version").register(registry).addLabelValues(DriverVersion.get());
        ExecutorService executor = Executors.newSingleThreadExecutor(
                Thread.ofPlatform().daemon().name("metrics-http").stackSize(256 * 1024).factory());
        HTTPServer.Builder builder = HTTPServer.builder().port(hostPort.port()).registry(registry)
                .executorService(executor);
        try {
            builder.inetAddress(hostPort.host().isEmpty() ? InetAddress.getByName("0.0.0.0")
                    : InetAddress.getByName(hostPort.host()));
        } catch (UnknownHostException e) {
            executor.shutdownNow();
            throw new IOException("cannot serve metrics on " + address + ": unknown host " + hostPort.host(), e);
        }
        HTTPServer server;
        try {
            server = builder.buildAndStart();
        } catch (IOException | RuntimeException e) {
            executor.shutdownNow();
            throw new IOException("cannot serve metrics on " + address + ": " + e.getMessage()
                    + "; check that the address is local and the port is free", e);
        }
        String bound = (hostPort.host().isEmpty() ? "" : hostPort.host().contains(":") ? "[" + hostPort.host() + "]"
                : hostPort.host()) + ":" + server.getPort();
        LOG.info(LogLine.event("metrics-listening").with("address", bound).with("path", "/metrics").toString());
        return new MetricsServer(server, bound);
    }

    /** The port the server is bound to (the chosen one when asked for port 0). */
    public int port() {
        return server.getPort();
    }

    /** The bound address, {@code host:port}. */
    public String address() {
        return address;
    }

    @Override
    public void close() {
        server.close();
    }
}
