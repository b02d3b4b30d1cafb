package io.gatewaycsi.cli;

import io.gatewaycsi.common.CsiServer;
import io.gatewaycsi.common.Endpoint;
import io.gatewaycsi.common.metrics.RpcMetrics;
import io.grpc.BindableService;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs one or more gRPC servers until SIGTERM or SIGINT, then shuts them down gracefully: calls in flight
 * get {@link #GRACE} to finish, then the sockets are removed.
 */
final class Serving {

    /** How long calls in flight may run after SIGTERM. */
    static final Duration GRACE = Duration.ofSeconds(10);

    /** One server to run: where it listens and what it serves. */
    record Listener(Endpoint endpoint, List<? extends BindableService> services) {
    }

    private Serving() {
    }

    /**
     * Starts every listener (all or none), blocks until the process is told to stop, and returns 0.
     *
     * @throws IOException when a listener cannot start; those already started are stopped first
     */
    static int serve(List<Listener> listeners, Runnable onStop) throws IOException, InterruptedException {
        return serve(listeners, RpcMetrics.unregistered(), onStop);
    }

    /** As above, timing every call into {@code metrics}. */
    static int serve(List<Listener> listeners, RpcMetrics metrics, Runnable onStop)
            throws IOException, InterruptedException {
        List<CsiServer> servers = new ArrayList<>();
        try {
            for (Listener listener : listeners) {
                servers.add(CsiServer.start(listener.endpoint(), listener.services(), metrics));
            }
        } catch (IOException e) {
            servers.forEach(server -> server.shutdown(Duration.ZERO));
            onStop.run();
            throw e;
        }
        Thread stopper = Thread.ofPlatform().unstarted(() -> {
            servers.forEach(server -> server.shutdown(GRACE));
            onStop.run();
        });
        Runtime.getRuntime().addShutdownHook(stopper);
        for (CsiServer server : servers) {
            server.awaitTermination();
        }
        return 0;
    }
}
