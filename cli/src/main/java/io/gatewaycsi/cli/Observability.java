package io.gatewaycsi.cli;

import io.gatewaycsi.common.LogLine;
import io.gatewaycsi.common.events.EventPublisher;
import io.gatewaycsi.common.events.Events;
import io.gatewaycsi.common.events.KubernetesEventPublisher;
import io.gatewaycsi.common.metrics.MetricsServer;
import io.gatewaycsi.common.metrics.RpcMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.util.Locale;
import java.util.logging.Logger;

/**
 * What one process observes itself with: one Prometheus registry (served on {@code --metrics-address} when
 * given, else kept unexported), the RPC interceptor of its gRPC servers, and its Kubernetes Events
 * ({@code --events}). Closed at shutdown.
 */
final class Observability implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(Observability.class.getName());

    /** {@code --events}: whether Kubernetes Events are sent to the API server. */
    enum EventsMode {
        /** On when running in a cluster (KUBERNETES_SERVICE_HOST is set), else off. */
        AUTO,
        /** Always try (API server from the in-cluster config, KUBERNETES_MASTER or a kubeconfig). */
        ON,
        /** Never: events are only logged. */
        OFF;

        /** Parses {@code auto}, {@code on}, {@code off} (any case). */
        static EventsMode parse(String value) {
            try {
                return valueOf(value.strip().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--events `" + value + "` is invalid; choose auto, on or off");
            }
        }
    }

    final PrometheusRegistry registry;
    final RpcMetrics rpcMetrics;
    final Events events;
    private final MetricsServer server;

    private Observability(PrometheusRegistry registry, MetricsServer server, Events events) {
        this.registry = registry;
        this.rpcMetrics = RpcMetrics.register(registry);
        this.server = server;
        this.events = events;
    }

    /**
     * Starts the metrics endpoint (when {@code metricsAddress} is not null) and the event recorder.
     *
     * @param component the events' {@code source.component}, e.g. {@code gateway-csi-node}
     * @param host      the events' {@code source.host}: the node name or the pod name
     * @throws IOException when the metrics address cannot be bound
     */
    static Observability start(String metricsAddress, EventsMode mode, String component, String host)
            throws IOException {
        PrometheusRegistry registry = new PrometheusRegistry();
        MetricsServer server = metricsAddress == null || metricsAddress.isBlank() ? null
                : MetricsServer.start(metricsAddress, registry);
        EventPublisher publisher = null;
        boolean inCluster = System.getenv("KUBERNETES_SERVICE_HOST") != null;
        if (mode == EventsMode.ON || (mode == EventsMode.AUTO && inCluster)) {
            try {
                publisher = KubernetesEventPublisher.autoConfigured(component, host);
                LOG.info(LogLine.event("events").with("mode", mode.name().toLowerCase(Locale.ROOT))
                        .with("delivery", "api server (connects on the first event)").with("component", component)
                        .toString());
            } catch (RuntimeException | LinkageError e) {
                LOG.warning(LogLine.event("events-unavailable").with("error", e.getMessage())
                        .with("hint", "Kubernetes Events are only logged").toString());
            }
        } else {
            LOG.fine(LogLine.event("events").with("mode", mode.name().toLowerCase(Locale.ROOT))
                    .with("delivery", "logged only").toString());
        }
        return new Observability(registry, server, Events.start(publisher, registry));
    }

    @Override
    public void close() {
        events.close();
        if (server != null) {
            server.close();
        }
    }
}
