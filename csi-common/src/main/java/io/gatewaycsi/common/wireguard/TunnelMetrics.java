package io.gatewaycsi.common.wireguard;

import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;

/**
 * The WireGuard tunnels' metrics, read at scrape time from wg(8) ({@code latest-handshakes}, {@code transfer};
 * never a key of this side), labelled by interface and the gateway's public key ({@code peer}, public):
 * <ul>
 *   <li>{@code gatewaycsi_tunnel_latest_handshake_age_seconds{interface, peer}} gauge: seconds since the latest
 *   handshake completed, -1 when none has (WireGuard renews a session every 2 minutes while traffic flows, so
 *   an age far above 180 s with traffic waiting means the gateway is not answering);</li>
 *   <li>{@code gatewaycsi_tunnel_received_bytes_total} and {@code gatewaycsi_tunnel_sent_bytes_total}
 *   {@code {interface, peer}}: bytes through the tunnel since its interface was made.</li>
 * </ul>
 */
public final class TunnelMetrics {

    private static final Logger LOG = Logger.getLogger(TunnelMetrics.class.getName());

    private TunnelMetrics() {
    }

    /** Registers the tunnel metrics of {@code tunnels} in {@code registry}. */
    public static void register(PrometheusRegistry registry, Tunnels tunnels) {
        GaugeWithCallback.builder().name("gatewaycsi_tunnel_latest_handshake_age_seconds")
                .help("Seconds since the latest WireGuard handshake with the gateway completed; -1 when none has.")
                .labelNames("interface", "peer")
                .callback(callback -> {
                    for (Tunnels.Status status : statuses(tunnels)) {
                        callback.call(status.latestHandshake()
                                .map(at -> (double) Math.max(0, Duration.between(at, Instant.now()).toSeconds()))
                                .orElse(-1.0), status.tunnel().interfaceName(), status.tunnel().peerPublicKey());
                    }
                }).register(registry);
        CounterWithCallback.builder().name("gatewaycsi_tunnel_received_bytes")
                .help("Bytes received from the gateway through the WireGuard tunnel.")
                .labelNames("interface", "peer")
                .callback(callback -> {
                    for (Tunnels.Status status : statuses(tunnels)) {
                        callback.call(status.receivedBytes(), status.tunnel().interfaceName(),
                                status.tunnel().peerPublicKey());
                    }
                }).register(registry);
        CounterWithCallback.builder().name("gatewaycsi_tunnel_sent_bytes")
                .help("Bytes sent to the gateway through the WireGuard tunnel.")
                .labelNames("interface", "peer")
                .callback(callback -> {
                    for (Tunnels.Status status : statuses(tunnels)) {
                        callback.call(status.sentBytes(), status.tunnel().interfaceName(),
                                status.tunnel().peerPublicKey());
                    }
                }).register(registry);
    }

    private static List<Tunnels.Status> statuses(Tunnels tunnels) {
        List<Tunnels.Status> statuses = new ArrayList<>();
        try {
            for (Tunnels.Recorded recorded : tunnels.all()) {
                Tunnels.Status status = tunnels.status(recorded);
                if (status.present()) {
                    statuses.add(status);
                }
            }
        } catch (Exception e) {
            LOG.fine("tunnel metrics: " + e);
        }
        return statuses;
    }
}
