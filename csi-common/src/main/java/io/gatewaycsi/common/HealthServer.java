package io.gatewaycsi.common;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.gatewaycsi.common.metrics.MetricsServer;
import io.gatewaycsi.csi.v1.IdentityGrpc;
import io.gatewaycsi.csi.v1.ProbeRequest;
import io.gatewaycsi.csi.v1.ProbeResponse;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * The process's liveness endpoint, {@code GET /healthz}, served by the driver process itself where a CSI
 * deployment would run the livenessprobe sidecar, and answered the same way: by calling the CSI Identity
 * {@code Probe} RPC on the process's own CSI endpoint (so a wedged gRPC server fails the probe), with a
 * deadline of {@link #PROBE_DEADLINE}.
 *
 * <p>Answers: 200 {@code ok} when Probe succeeds and reports ready (or leaves {@code ready} unset, which the
 * CSI spec reads as ready); 503 naming the reason when Probe fails, times out or reports not ready; 404 for
 * any other path; 405 for any method but GET and HEAD. One thread serves the requests.
 */
public final class HealthServer implements AutoCloseable {

    /**
     * Deadline of the Probe call behind each request, by default: below the chart's liveness probe timeout
     * (10 s), with room for a busy node.
     */
    public static final Duration PROBE_DEADLINE = Duration.ofSeconds(8);

    private static final Logger LOG = Logger.getLogger(HealthServer.class.getName());

    private final HttpServer server;
    private final ExecutorService executor;
    private final ManagedChannel channel;
    private final Duration deadline;

    private HealthServer(HttpServer server, ExecutorService executor, ManagedChannel channel, Duration deadline) {
        this.server = server;
        this.executor = executor;
        this.channel = channel;
        this.deadline = deadline;
    }

    /**
     * Serves {@code /healthz} at {@code address} ({@code host:port}, {@code [ipv6]:port} or {@code :port} for
     * every interface, as {@link MetricsServer#parseAddress}), probing {@code csiEndpoint} with a deadline of
     * {@link #PROBE_DEADLINE}.
     *
     * @throws IllegalArgumentException for an invalid address
     * @throws IOException              naming the address when it cannot be bound
     */
    public static HealthServer start(String address, Endpoint csiEndpoint) throws IOException {
        return start(address, csiEndpoint, PROBE_DEADLINE);
    }

    /** As above, with {@code deadline} for each Probe call. */
    public static HealthServer start(String address, Endpoint csiEndpoint, Duration deadline) throws IOException {
        MetricsServer.HostPort hostPort = MetricsServer.parseAddress(address);
        InetSocketAddress bind = new InetSocketAddress(
                hostPort.host().isEmpty() ? InetAddress.getByName("0.0.0.0") : InetAddress.getByName(hostPort.host()),
                hostPort.port());
        HttpServer server;
        try {
            server = HttpServer.create(bind, 8);
        } catch (IOException e) {
            throw new IOException("cannot serve /healthz on " + address + ": " + e.getMessage()
                    + "; check that the address is local and the port is free", e);
        }
        ExecutorService executor = Executors.newSingleThreadExecutor(
                Thread.ofPlatform().daemon().name("healthz-http").stackSize(256 * 1024).factory());
        ManagedChannel channel = CsiChannels.open(csiEndpoint);
        HealthServer health = new HealthServer(server, executor, channel, deadline);
        server.createContext("/", health::handle);
        server.setExecutor(executor);
        server.start();
        LOG.info(LogLine.event("healthz-listening").with("address", hostPort.host() + ":" + server.getAddress().getPort())
                .with("probes", csiEndpoint).toString());
        return health;
    }

    /** The port the server is bound to (the chosen one when asked for port 0). */
    public int port() {
        return server.getAddress().getPort();
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            if (!exchange.getRequestURI().getPath().equals("/healthz")) {
                respond(exchange, 404, "not found: the liveness endpoint is /healthz\n");
            } else if (!exchange.getRequestMethod().equals("GET") && !exchange.getRequestMethod().equals("HEAD")) {
                respond(exchange, 405, "method not allowed: use GET\n");
            } else {
                String failure = probe();
                if (failure == null) {
                    respond(exchange, 200, "ok\n");
                } else {
                    LOG.warning(LogLine.event("healthz-failed").with("reason", failure).toString());
                    respond(exchange, 503, failure + "\n");
                }
            }
        }
    }

    /** Calls Probe; null when healthy, else why not. */
    private String probe() {
        try {
            ProbeResponse response = IdentityGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS)
                    .probe(ProbeRequest.getDefaultInstance());
            if (response.hasReady() && !response.getReady().getValue()) {
                return "Probe answered ready=false";
            }
            return null;
        } catch (StatusRuntimeException e) {
            return "Probe failed: " + e.getStatus().getCode() + (e.getStatus().getDescription() == null ? ""
                    : ": " + e.getStatus().getDescription());
        }
    }

    private static void respond(HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
        boolean head = exchange.getRequestMethod().equals("HEAD");
        exchange.sendResponseHeaders(status, head ? -1 : bytes.length);
        if (!head) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
        CsiChannels.close(channel);
    }
}
