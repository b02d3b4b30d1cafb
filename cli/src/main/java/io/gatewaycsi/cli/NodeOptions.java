package io.gatewaycsi.cli;

import io.gatewaycsi.common.Endpoint;
import io.gatewaycsi.common.wireguard.TunnelMetrics;
import io.gatewaycsi.common.wireguard.Tunnels;
import io.gatewaycsi.node.KernelBackend;
import io.gatewaycsi.node.Mounter;
import io.gatewaycsi.node.NodeConfig;
import io.gatewaycsi.node.NodeMetrics;
import io.gatewaycsi.node.NodeService;
import io.gatewaycsi.node.SidecarBackend;
import io.gatewaycsi.node.StagingState;

import io.gatewaycsi.node.Teardown;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import picocli.CommandLine.Option;

/** Flags of the node role (also part of {@code all}). */
final class NodeOptions {

    @Option(names = "--mount-helper-endpoint", paramLabel = "URL", converter = CommonOptions.EndpointConverter.class,
            defaultValue = MountHelperOptions.DEFAULT_ENDPOINT,
            description = "The mount helper's socket, used for mountBackend=sidecar and for the fallback of"
                    + " mountBackend=auto (default: ${DEFAULT-VALUE}).")
    Endpoint mountHelperEndpoint;

    @Option(names = "--mount-timeout", paramLabel = "SECONDS", defaultValue = "60",
            description = "Deadline of one staging mount, in seconds; the mount command's process group is"
                    + " killed after it (default: ${DEFAULT-VALUE}).")
    int mountTimeoutSeconds;

    @Option(names = "--state-dir", paramLabel = "DIR", defaultValue = "/var/lib/gateway-csi/node",
            description = "Where the node plugin records its staging mounts, so that it can restore them after"
                    + " a restart of itself or of the mount helper (default: ${DEFAULT-VALUE}).")
    Path stateDir;

    @Option(names = "--wireguard", paramLabel = "auto|wireguard-go|off", defaultValue = "auto",
            description = "WireGuard tunnels for StorageClasses with wireguardPeerPublicKey: `auto` uses kernel"
                    + " WireGuard where `ip link add type wireguard` works and wireguard-go elsewhere; `wireguard-go`"
                    + " always the userspace one; `off` refuses such volumes (default: ${DEFAULT-VALUE}).")
    String wireguard;

    @Option(names = "--wireguard-handshake-timeout", paramLabel = "SECONDS", defaultValue = "20",
            description = "How long a new tunnel may take to complete its first handshake before NodeStageVolume"
                    + " fails with UNAVAILABLE and a TunnelFailed event (default: ${DEFAULT-VALUE}).")
    int wireguardHandshakeSeconds;

    @Option(names = "--allowed-dir", paramLabel = "DIR",
            description = "A directory below which staging and target paths must lie: kubelet's root directory"
                    + " in a cluster (e.g. /var/lib/kubelet); repeatable. Paths elsewhere, through a symbolic"
                    + " link, or in /proc, /sys or /dev are refused (default: /, anywhere else).")
    List<Path> allowedDirs;

    @Option(names = "--topology", paramLabel = "KEY=VALUE",
            description = "A topology segment NodeGetInfo reports; repeatable. None by default.")
    Map<String, String> topology = new LinkedHashMap<>();


    /** The node service these flags describe, and the sidecar backend it owns (both closed at shutdown). */
    record Built(NodeService service, SidecarBackend sidecar) implements AutoCloseable {
        @Override
        public void close() {
            service.close();
            sidecar.close();
        }
    }

    /** The node's WireGuard tunnels, recorded in {@code <state-dir>/tunnels}; none with --wireguard=off. */
    Optional<Tunnels> tunnels() throws IOException {
        return switch (wireguard) {
            case "off" -> Optional.empty();
            case "auto", "wireguard-go" -> Optional.of(new Tunnels(stateDir.resolve("tunnels"), Duration.ofSeconds(10),
                    Duration.ofSeconds(wireguardHandshakeSeconds), wireguard.equals("auto")));
            default -> throw new IllegalArgumentException("--wireguard must be auto, wireguard-go or off, got `"
                    + wireguard + "`");
        };
    }

    Built build(String nodeId, Set<String> allowedMountOptions, Observability observability) throws IOException {
        Mounter mounter = new Mounter();
        Teardown teardown = new Teardown(mounter);
        Duration deadline = Duration.ofSeconds(mountTimeoutSeconds);
        SidecarBackend sidecar = new SidecarBackend(mountHelperEndpoint, deadline, teardown);
        NodeConfig config = new NodeConfig(nodeId, topology, allowedMountOptions,
                allowedDirs == null || allowedDirs.isEmpty() ? List.of(Path.of("/")) : allowedDirs);
        Optional<Tunnels> tunnels = tunnels();
        tunnels.ifPresent(t -> TunnelMetrics.register(observability.registry, t));
        NodeService service = new NodeService(config, new KernelBackend(KernelBackend.MOUNT, deadline, teardown),
                Optional.of(sidecar), mounter, new StagingState(stateDir),
                NodeMetrics.register(observability.registry), observability.events, tunnels);
        service.startRepairs();
        return new Built(service, sidecar);
    }
}
