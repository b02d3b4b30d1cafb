package io.gatewaycsi.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.gatewaycsi.common.Endpoint;
import io.gatewaycsi.common.events.EventRecorder;
import io.gatewaycsi.common.testing.LogCapture;
import io.gatewaycsi.common.volume.WireGuardTunnel;
import io.gatewaycsi.common.wireguard.Tunnels;
import io.gatewaycsi.csi.v1.NodeGrpc;
import io.gatewaycsi.csi.v1.NodeStageVolumeRequest;
import io.gatewaycsi.csi.v1.VolumeCapability;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * NodeStageVolume of a volume behind a WireGuard peer that never answers (its endpoint is a loopback port nobody
 * listens on), with a real tunnel (wireguard-go here: this kernel has no WireGuard): UNAVAILABLE naming the cause,
 * a TunnelFailed Event on the claim, no interface left, and the private key in no error, Event or log line.
 */
class NodeTunnelTest {

    @TempDir
    Path dir;

    private final Mounter mounter = new Mounter(Duration.ofSeconds(5));
    private final List<String> events = new ArrayList<>();
    private Server server;
    private ManagedChannel channel;
    private NodeGrpc.NodeBlockingStub node;
    private SidecarBackend absentHelper;
    private String peer;

    static String key() {
        byte[] bytes = new byte[32];
        new SecureRandom().nextBytes(bytes);
        return Base64.getEncoder().encodeToString(bytes);
    }

    @BeforeEach
    void start() throws Exception {
        String name = "node-tunnel-" + UUID.randomUUID();
        absentHelper = new SidecarBackend(Endpoint.parse("unix://" + dir.resolve("no-helper.sock")),
                Duration.ofSeconds(2), new Teardown(mounter));
        EventRecorder recorder = (object, type, reason, message) -> {
            synchronized (events) {
                events.add(object + " " + type + " " + reason + " " + message);
            }
        };
        NodeService service = new NodeService(new NodeConfig("node-t", Map.of(), Set.of()),
                new KernelBackend(KernelBackend.MOUNT, Duration.ofSeconds(20), new Teardown(mounter)),
                Optional.of(absentHelper), mounter, new StagingState(dir.resolve("state")), NodeMetrics.unregistered(),
                recorder, Optional.of(new Tunnels(dir.resolve("state/tunnels"), Duration.ofSeconds(10),
                        Duration.ofSeconds(2), true)));
        server = InProcessServerBuilder.forName(name).addService(service).build().start();
        channel = InProcessChannelBuilder.forName(name).build();
        node = NodeGrpc.newBlockingStub(channel);
        peer = key();
    }

    @AfterEach
    void stop() throws Exception {
        channel.shutdownNow();
        server.shutdownNow();
        absentHelper.close();
        new ProcessBuilder("ip", "link", "del", "dev", WireGuardTunnel.interfaceName(peer)).start().waitFor();
    }

    @Test
    void aTunnelWithoutHandshakeIsUnavailableWithAnEventAndNoKeyAnywhere() throws Exception {
        String privateKey = key();
        Map<String, String> context = Map.of("server", "10.213.200.241", "share", "/export", "subDir", "v",
                "mountBackend", "sidecar", "wireguardPeerPublicKey", peer, "wireguardEndpoint", "127.0.0.1:9",
                "csi.storage.k8s.io/pvc/name", "claim-1", "csi.storage.k8s.io/pvc/namespace", "team-a");
        Path staging = Files.createDirectories(dir.resolve("staging"));
        StatusRuntimeException error;
        try (LogCapture logs = new LogCapture()) {
            error = org.assertj.core.api.Assertions.catchThrowableOfType(StatusRuntimeException.class, () ->
                    node.nodeStageVolume(NodeStageVolumeRequest.newBuilder().setVolumeId("vol-t")
                            .setStagingTargetPath(staging.toString()).setVolumeCapability(VolumeCapability.newBuilder()
                                    .setMount(VolumeCapability.MountVolume.getDefaultInstance())
                                    .setAccessMode(VolumeCapability.AccessMode.newBuilder()
                                            .setMode(VolumeCapability.AccessMode.Mode.MULTI_NODE_MULTI_WRITER)))
                            .putAllVolumeContext(context).putSecrets("wireguardPrivateKey", privateKey)
                            .putSecrets("wireguardAddress", "10.213.200.242/32").build()));
            assertThat(logs.text()).contains("event=tunnel_failed").doesNotContain(privateKey);
        }
        assertThat(error.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(error.getStatus().getDescription()).contains("no WireGuard handshake with the gateway")
                .contains("127.0.0.1:9").doesNotContain(privateKey);
        assertThat(events).singleElement().asString().contains("TunnelFailed").contains("claim-1")
                .contains("no WireGuard handshake").doesNotContain(privateKey);
        assertThat(new ProcessBuilder("ip", "link", "show", "dev", WireGuardTunnel.interfaceName(peer)).start()
                .waitFor()).as("no interface left").isNotZero();
        assertThat(dir.resolve("state/tunnels")).isDirectoryNotContaining("glob:**.properties");
    }

    @Test
    void aBadSecretIsInvalidArgumentNamingTheKeyNeverTheValue() {
        String bad = "Zq9SECRET-not-a-key";
        Map<String, String> context = Map.of("server", "10.213.200.241", "share", "/export",
                "wireguardPeerPublicKey", peer, "wireguardEndpoint", "127.0.0.1:9");
        StatusRuntimeException error = org.assertj.core.api.Assertions.catchThrowableOfType(StatusRuntimeException.class,
                () -> node.nodeStageVolume(NodeStageVolumeRequest.newBuilder().setVolumeId("vol-t")
                        .setStagingTargetPath(dir.resolve("s").toString()).setVolumeCapability(VolumeCapability.newBuilder()
                                .setMount(VolumeCapability.MountVolume.getDefaultInstance())
                                .setAccessMode(VolumeCapability.AccessMode.newBuilder()
                                        .setMode(VolumeCapability.AccessMode.Mode.MULTI_NODE_MULTI_WRITER)))
                        .putAllVolumeContext(context).putSecrets("wireguardPrivateKey", bad)
                        .putSecrets("wireguardAddress", "10.213.200.242/32").build()));
        assertThat(error.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(error.getStatus().getDescription()).contains("secret key `wireguardPrivateKey` of the node-stage"
                + " secret").doesNotContain("Zq9SECRET");
        assertThat(events).isEmpty();
    }
}
