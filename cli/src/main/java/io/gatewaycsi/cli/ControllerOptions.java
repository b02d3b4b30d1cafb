package io.gatewaycsi.cli;

import io.gatewaycsi.common.events.EventRecorder;
import io.gatewaycsi.controller.ControllerService;
import io.gatewaycsi.controller.GatewaySessions;
import io.gatewaycsi.nfs.NfsClient;
import io.gatewaycsi.nfs.NfsSessionOptions;
import io.gatewaycsi.common.wireguard.TunnelMetrics;
import io.gatewaycsi.common.wireguard.Tunnels;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.Option;

/** Flags of the controller role (also part of {@code all}). */
final class ControllerOptions {

    /** As many NFS contexts per share as the server has RPC threads (CsiServer's pool). */
    private static final int RPC_THREADS = 64;

    @Option(names = "--nfs-timeout", paramLabel = "SECONDS", defaultValue = "30",
            description = "Deadline of each NFS call the controller makes to a gateway, in seconds"
                    + " (default: ${DEFAULT-VALUE}).")
    int nfsTimeoutSeconds;

    @Option(names = "--nfs-uid", paramLabel = "UID", defaultValue = "0",
            description = "User id the controller presents to gateways in AUTH_SYS credentials; the process"
                    + " itself stays unprivileged (default: ${DEFAULT-VALUE}).")
    int nfsUid;

    @Option(names = "--nfs-gid", paramLabel = "GID", defaultValue = "0",
            description = "Group id presented likewise (default: ${DEFAULT-VALUE}).")
    int nfsGid;


    @Option(names = "--gateways", paramLabel = "HOST[,HOST...]", split = ",",
            description = "The gateways (servers, as StorageClasses name them) this controller serves. Volume and"
                    + " snapshot IDs naming any other server name nothing and are never dialed; CreateVolume refuses"
                    + " other servers. Default: any server but the controller's own host (localhost, loopback,"
                    + " link-local addresses).")
    List<String> gateways = List.of();

    @Option(names = "--controller-wireguard", paramLabel = "off|auto|wireguard-go", defaultValue = "off",
            description = "Reach gateways whose StorageClass names a WireGuard peer through a tunnel in the"
                    + " controller's own network namespace (needs CAP_NET_ADMIN there): `auto` uses kernel WireGuard"
                    + " where it can and wireguard-go elsewhere; `off` refuses such StorageClasses"
                    + " (default: ${DEFAULT-VALUE}).")
    String wireguard;

    @Option(names = "--controller-wireguard-state-dir", paramLabel = "DIR", defaultValue = "/run/gateway-csi/controller-tunnels",
            description = "Where the controller records its tunnels (default: ${DEFAULT-VALUE}).")
    Path wireguardStateDir;

    /** The controller's tunnels, or none with --wireguard=off. */
    Optional<Tunnels> tunnels() throws IOException {
        return switch (wireguard) {
            case "off" -> Optional.empty();
            case "auto", "wireguard-go" -> Optional.of(new Tunnels(wireguardStateDir, Duration.ofSeconds(10),
                    Duration.ofSeconds(20), wireguard.equals("auto")));
            default -> throw new IllegalArgumentException("--controller-wireguard must be off, auto or wireguard-go, got `"
                    + wireguard + "`");
        };
    }

    /** The gateway sessions these flags describe. */
    GatewaySessions sessions() {
        return new GatewaySessions(NfsClient.libnfs(), NfsSessionOptions.defaults()
                .withTimeout(Duration.ofSeconds(nfsTimeoutSeconds)).withCredentials(nfsUid, nfsGid)
                // Up to one context per RPC thread, opened as concurrent calls need them: no RPC waits for
                // another's gateway round trips.
                .withMaxContexts(RPC_THREADS), Set.copyOf(gateways));
    }

    /**
     * The Controller service over {@code sessions}, with {@code defaults} for missing parameters; its tunnels'
     * metrics go to {@code tunnelMetrics} when given (not in {@code all}, where the node plugin's have the names).
     */
    ControllerService service(GatewaySessions sessions, Set<String> allowedMountOptions, Map<String, String> defaults,
                              EventRecorder events, PrometheusRegistry tunnelMetrics) {
        try {
            Optional<Tunnels> tunnels = tunnels();
            if (tunnelMetrics != null) {
                tunnels.ifPresent(t -> TunnelMetrics.register(tunnelMetrics, t));
            }
            return new ControllerService(sessions, allowedMountOptions, defaults, events, tunnels);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot set up WireGuard tunnels in " + wireguardStateDir, e);
        }
    }
}
