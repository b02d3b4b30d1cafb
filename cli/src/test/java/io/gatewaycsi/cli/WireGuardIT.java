package io.gatewaycsi.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.gatewaycsi.common.volume.WireGuardTunnel;
import io.gatewaycsi.csi.v1.ControllerGrpc;
import io.gatewaycsi.csi.v1.CreateVolumeRequest;
import io.gatewaycsi.csi.v1.DeleteVolumeRequest;
import io.gatewaycsi.csi.v1.NodeStageVolumeRequest;
import io.gatewaycsi.csi.v1.Volume;
import io.gatewaycsi.nfs.testing.TestGateway;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A public gateway behind WireGuard (issue 21), with the real parts: the test gateway in WireGuard mode
 * ({@code gwwg}: wireguard-go in its namespace, ganesha bound to the tunnel address 10.213.200.1 only), the
 * packaged controller and node plugin and the mount helper as processes, the tunnel made by the driver (this
 * kernel has no WireGuard: wireguard-go), and tcpdump on the gateway's veth. A plain gateway ({@code gwwgs}) is
 * the control: the same capture shows NFS there, so the check can fail.
 *
 * <p>The controller runs in the host's network namespace here, beside the node plugin (in a cluster it has its
 * own pod namespace): both use one interface to the peer, with one Secret.
 */
class WireGuardIT {

    static final String TUNNEL_GATEWAY = "gwwg";
    static final String PLAIN_GATEWAY = "gwwgs";
    static final int FILE_BYTES = 48 * 1024 * 1024;

    static TestGateway gateway;
    static TestGateway plain;

    @TempDir
    Path dir;

    private final List<AutoCloseable> closing = new ArrayList<>();
    private String interfaceName;

    @BeforeAll
    static void gateways() {
        gateway = TestGateway.startPrivate(TUNNEL_GATEWAY, "10.213.90.0/30", Map.of("GATEWAY_WIREGUARD", "1",
                "GATEWAY_WIREGUARD_SUBNET", "10.213.200.0/30"));
        plain = TestGateway.startPrivate(PLAIN_GATEWAY, "10.213.91.0/30");
    }

    @AfterAll
    static void stopGateways() {
        if (gateway != null) {
            gateway.close();
        }
        if (plain != null) {
            plain.close();
        }
    }

    @AfterEach
    void cleanUp() throws Exception {
        for (AutoCloseable c : closing.reversed()) {
            try {
                c.close();
            } catch (Exception e) {
                // keep closing the rest
            }
        }
        // Whatever the driver left (a failed test): the interface, and wireguard-go with it.
        if (interfaceName != null) {
            run("ip", "link", "del", "dev", interfaceName);
        }
    }

    // ------------------------------------------------------------------------------------------------------

    String privateKey() throws IOException {
        return Files.readString(Path.of(gateway.printed("WIREGUARD_PRIVATE_KEY_FILE"))).strip();
    }

    Map<String, String> parameters(String subDir) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("server", gateway.server());
        p.put("share", gateway.share());
        p.put("subDir", subDir);
        p.put("nfsVersion", "4");
        p.put("wireguardPeerPublicKey", gateway.printed("WIREGUARD_PUBLIC_KEY"));
        p.put("wireguardEndpoint", gateway.printed("WIREGUARD_ENDPOINT"));
        interfaceName = WireGuardTunnel.interfaceName(gateway.printed("WIREGUARD_PUBLIC_KEY"));
        return p;
    }

    Map<String, String> secrets() throws IOException {
        return Map.of("wireguardPrivateKey", privateKey(), "wireguardAddress", gateway.printed("WIREGUARD_ADDRESS"));
    }

    /** The node plugin's metrics address (a free loopback port). */
    int metricsPort;

    NodeRig rig(TestGateway on) throws Exception {
        try (java.net.ServerSocket free = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            metricsPort = free.getLocalPort();
        }
        // wireguard-go even where the kernel has WireGuard: the userspace tunnel is the one whose process must
        // outlive the node plugin (this kernel has no WireGuard anyway).
        NodeRig rig = new NodeRig(dir.resolve("node"), on, "--wireguard", "wireguard-go",
                "--wireguard-handshake-timeout", "15", "--metrics-address", "127.0.0.1:" + metricsPort);
        closing.add(rig);
        return rig;
    }

    /** The controller's metrics address (a free loopback port). */
    int controllerMetricsPort;

    ControllerGrpc.ControllerBlockingStub controller() throws Exception {
        Path socket = dir.resolve("controller.sock");
        try (java.net.ServerSocket free = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            controllerMetricsPort = free.getLocalPort();
        }
        DriverProcess controller = DriverProcess.start(socket, dir.resolve("controller.log"), -1, "controller",
                "--metrics-address", "127.0.0.1:" + controllerMetricsPort, "--endpoint", "unix://" + socket, "--controller-wireguard", "wireguard-go", "--controller-wireguard-state-dir",
                dir.resolve("controller-tunnels").toString());
        closing.add(controller);
        ManagedChannel channel = controller.channel();
        closing.add(channel::shutdownNow);
        logs.add(controller);
        return ControllerGrpc.newBlockingStub(channel).withDeadlineAfter(120, TimeUnit.SECONDS);
    }

    private final List<DriverProcess> logs = new ArrayList<>();

    NodeStageVolumeRequest stageRequest(String volumeId, Path staging, Map<String, String> context,
                                        Map<String, String> secrets) {
        return NodeStageVolumeRequest.newBuilder().setVolumeId(volumeId).setStagingTargetPath(staging.toString())
                .setVolumeCapability(NodeRig.RWX).putAllVolumeContext(context).putAllSecrets(secrets).build();
    }

    /** tcpdump on a veth, writing to a file until closed. */
    final class Capture implements AutoCloseable {
        /** A pcap file's global header; a file no longer than this holds no packet. */
        static final long PCAP_HEADER_BYTES = 24;
        final Path file;
        final Process process;

        Capture(String device) throws Exception {
            file = dir.resolve(device + ".pcap");
            process = new ProcessBuilder("tcpdump", "-i", device, "-nn", "-U", "-w", file.toString())
                    .redirectErrorStream(true).redirectOutput(dir.resolve(device + ".tcpdump.log").toFile()).start();
            // tcpdump says "listening on" once it captures.
            for (int i = 0; i < 200 && !Files.readString(dir.resolve(device + ".tcpdump.log")).contains("listening on"); i++) {
                Thread.sleep(50);
            }
            closing.add(this);
        }

        /**
         * Waits until the capture has written a packet, knocking on TCP port 9 (discard: refused, so a SYN and a
         * RST, neither NFS nor WireGuard) of {@code address} on the captured link once a second: tcpdump's
         * "listening on" can come before packets reach the file.
         */
        Capture primedWith(String address) throws Exception {
            for (int i = 0; i < 60 && (!Files.exists(file) || Files.size(file) <= PCAP_HEADER_BYTES); i++) {
                try (java.net.Socket knock = new java.net.Socket()) {
                    knock.connect(new java.net.InetSocketAddress(address, 9), 1000);
                } catch (IOException refused) {
                    // expected: the knock is only there to put a packet on the wire
                }
                Thread.sleep(1000);
            }
            assertThat(Files.exists(file) ? Files.size(file) : 0).as("tcpdump on " + file + " writes packets: "
                    + Files.readString(Path.of(file.toString().replace(".pcap", ".tcpdump.log"))))
                    .isGreaterThan(PCAP_HEADER_BYTES);
            return this;
        }

        /** Stops the capture and returns tcpdump's one line per IPv4 packet. */
        List<String> ipv4Packets() throws Exception {
            close();
            Process read = new ProcessBuilder("tcpdump", "-nn", "-r", file.toString()).redirectErrorStream(false).start();
            String text = new String(read.getInputStream().readAllBytes());
            read.waitFor(30, TimeUnit.SECONDS);
            return text.lines().filter(l -> l.contains(" IP ")).toList();
        }

        @Override
        public void close() throws Exception {
            if (process.isAlive()) {
                process.destroy();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    /** The Prometheus text served on a loopback port. */
    static String scrape(int port) throws Exception {
        java.net.http.HttpResponse<String> response = java.net.http.HttpClient.newHttpClient().send(
                java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + "/metrics"))
                        .timeout(java.time.Duration.ofSeconds(30)).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        return response.body();
    }

    static boolean isWireGuard(String packet) {
        return packet.contains(" UDP") && packet.matches(".*\\.51820[: ].*");
    }

    static boolean isNfs(String packet) {
        return packet.matches(".*\\.2049[: ].*");
    }

    static boolean linkExists(String name) throws Exception {
        return run("ip", "link", "show", "dev", name) == 0;
    }

    static int run(String... argv) throws Exception {
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return -1;
        }
        return p.exitValue();
    }

    static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }

    // ------------------------------------------------------------------------------------------------------

    @Test
    void theWholeLifecycleOverTheTunnelPutsOnlyWireGuardOnTheWire() throws Exception {
        Capture capture = new Capture(TUNNEL_GATEWAY + "-h");
        ControllerGrpc.ControllerBlockingStub controller = controller();
        NodeRig rig = rig(gateway);
        logs.add(rig.node());

        Volume volume = controller.createVolume(CreateVolumeRequest.newBuilder().setName("pvc-wg-1")
                .addVolumeCapabilities(NodeRig.RWX).putAllParameters(parameters("wg-lifecycle"))
                .putAllSecrets(secrets()).build()).getVolume();
        assertThat(gateway.local("/wg-lifecycle")).isDirectory();
        assertThat(scrape(controllerMetricsPort)).as("the controller's tunnel metrics")
                .contains("gatewaycsi_tunnel_sent_bytes_total{interface=\"" + interfaceName).doesNotContain(privateKey());

        Path staging = dir.resolve("node/staging");
        Path target = dir.resolve("node/target");
        Files.createDirectories(staging);
        Map<String, String> secrets = secrets();
        rig.untilOk("NodeStageVolume", java.time.Duration.ofSeconds(120), n -> n.nodeStageVolume(
                stageRequest(volume.getVolumeId(), staging, volume.getVolumeContextMap(), secrets)));
        assertThat(linkExists(interfaceName)).as("the tunnel interface is up").isTrue();
        rig.publish(volume.getVolumeId(), staging, target);

        String metrics = scrape(metricsPort);
        assertThat(metrics).as("tunnel metrics, labelled by interface and the gateway's public key")
                .containsPattern("gatewaycsi_tunnel_latest_handshake_age_seconds\\{interface=\"" + interfaceName
                        + "\",peer=\"[^\"]+\"} [0-9]")
                .contains("gatewaycsi_tunnel_received_bytes_total{interface=\"" + interfaceName)
                .contains("gatewaycsi_tunnel_sent_bytes_total{interface=\"" + interfaceName)
                .doesNotContain(privateKey());

        byte[] checkpoint = new byte[4 * 1024 * 1024 + 17];
        new Random(21).nextBytes(checkpoint);
        Files.write(target.resolve("checkpoint.pt"), checkpoint);
        assertThat(sha256(Files.readAllBytes(gateway.local("/wg-lifecycle/checkpoint.pt")))).isEqualTo(sha256(checkpoint));
        Files.write(gateway.local("/wg-lifecycle/from-gateway.txt"), "written on the gateway".getBytes());
        assertThat(Files.readString(target.resolve("from-gateway.txt"))).isEqualTo("written on the gateway");

        rig.unpublish(volume.getVolumeId(), target);
        rig.unstage(volume.getVolumeId(), staging);
        assertThat(rig.stateDir().resolve("tunnels")).isDirectory();
        assertThat(Files.list(rig.stateDir().resolve("tunnels")).filter(f -> f.toString().endsWith(".properties")))
                .as("no tunnel recorded after the last unstage").isEmpty();

        controller.deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId(volume.getVolumeId())
                .putAllSecrets(secrets()).build());
        assertThat(gateway.local("/wg-lifecycle")).doesNotExist();

        List<String> packets = capture.ipv4Packets();
        assertThat(packets).as("packets on the gateway's veth during the lifecycle").hasSizeGreaterThan(20);
        assertThat(packets).as("every IPv4 packet on the veth is WireGuard (UDP 51820): no NFS in the clear")
                .allMatch(WireGuardIT::isWireGuard);
        for (DriverProcess process : logs) {
            assertThat(process.log()).as("no private key in a log line").doesNotContain(privateKey());
        }
    }

    @Test
    void withoutATunnelTheSameCaptureShowsNfs() throws Exception {
        Capture capture = new Capture(PLAIN_GATEWAY + "-h").primedWith(plain.server());
        NodeRig rig = rig(plain);
        Path staging = dir.resolve("node/staging");
        Path target = dir.resolve("node/target");
        Files.createDirectories(plain.local("/plain"));
        rig.stage("vol-plain", staging, rig.context("plain"));
        rig.publish("vol-plain", staging, target);
        Files.writeString(target.resolve("x.txt"), "in the clear");
        assertThat(Files.readString(plain.local("/plain/x.txt"))).isEqualTo("in the clear");
        rig.unpublish("vol-plain", target);
        rig.unstage("vol-plain", staging);
        List<String> packets = capture.ipv4Packets();
        assertThat(packets).as("NFS (TCP 2049) is on the wire without a tunnel").anyMatch(WireGuardIT::isNfs);
        assertThat(packets).noneMatch(WireGuardIT::isWireGuard);
    }

    @Test
    void aNodePluginRestartDuringReadsOverTheTunnelIsNotSeenByTheReader() throws Exception {
        NodeRig rig = rig(gateway);
        Map<String, String> context = parameters("wg-restart");
        Files.createDirectories(gateway.local("/wg-restart"));
        byte[] shard = new byte[FILE_BYTES];
        new Random(3).nextBytes(shard);
        Files.write(gateway.local("/wg-restart/shard-0.bin"), shard);
        String expected = sha256(shard);

        Path staging = dir.resolve("node/staging");
        Path target = dir.resolve("node/target");
        Files.createDirectories(staging);
        Map<String, String> secrets = secrets();
        rig.untilOk("NodeStageVolume", java.time.Duration.ofSeconds(120), n -> n.nodeStageVolume(
                stageRequest("vol-wg-restart", staging, context, secrets)));
        rig.publish("vol-wg-restart", staging, target);
        long wireguardGo = wireguardGoPid();

        CompletableFuture<String> reading = CompletableFuture.supplyAsync(() -> {
            try {
                MessageDigest digest = MessageDigest.getInstance("SHA-256");
                byte[] buffer = new byte[1024 * 1024];
                long read = 0;
                boolean killed = false;
                try (InputStream in = Files.newInputStream(target.resolve("shard-0.bin"))) {
                    for (int n; (n = in.read(buffer)) > 0; ) {
                        digest.update(buffer, 0, n);
                        read += n;
                        if (!killed && read >= FILE_BYTES / 4) {
                            killed = true;
                            rig.killNode();
                        }
                        Thread.sleep(5);
                    }
                }
                return HexFormat.of().formatHex(digest.digest());
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        assertThat(reading.get(180, TimeUnit.SECONDS)).as("the reader saw every byte, no error").isEqualTo(expected);
        assertThat(running(wireguardGo)).as("wireguard-go outlived the node plugin").isTrue();
        rig.restartNode();
        // The restarted node plugin adopts the tunnel: NodeStageVolume again reuses it, unstage removes it.
        rig.untilOk("NodeStageVolume again", java.time.Duration.ofSeconds(60), n -> n.nodeStageVolume(
                stageRequest("vol-wg-restart", staging, context, secrets)));
        assertThat(wireguardGoPid()).as("the same wireguard-go").isEqualTo(wireguardGo);
        rig.unpublish("vol-wg-restart", target);
        rig.unstage("vol-wg-restart", staging);
        assertThat(linkExists(interfaceName)).as("the tunnel is gone after the last unstage").isFalse();
        assertThat(running(wireguardGo)).as("wireguard-go ended with its interface").isFalse();
    }

    @Test
    void aRotatedKeyTakesEffectAtTheNextStageWhileTheStagedVolumeKeepsServing() throws Exception {
        NodeRig rig = rig(gateway);
        Map<String, String> context = parameters("wg-rotate");
        Files.createDirectories(gateway.local("/wg-rotate"));
        Path stagingA = Files.createDirectories(dir.resolve("node/staging-a"));
        Path targetA = dir.resolve("node/target-a");
        Map<String, String> before = secrets();
        rig.untilOk("NodeStageVolume a", java.time.Duration.ofSeconds(120), n -> n.nodeStageVolume(
                stageRequest("vol-rotate-a", stagingA, context, before)));
        rig.publish("vol-rotate-a", stagingA, targetA);
        Files.writeString(targetA.resolve("before.txt"), "old key");

        // The gateway's operator swaps this peer's key for a new one (same tunnel address).
        String newKey = runOut("wg", "genkey").strip();
        String newPublic = runIn(newKey + "\n", "wg", "pubkey").strip();
        String gw = "gwwg-ns";
        String oldPublic = runIn(before.get("wireguardPrivateKey") + "\n", "wg", "pubkey").strip();
        try {
            assertThat(run("ip", "netns", "exec", gw, "wg", "set", "gwwg-w", "peer", oldPublic, "remove")).isZero();
            assertThat(run("ip", "netns", "exec", gw, "wg", "set", "gwwg-w", "peer", newPublic, "allowed-ips",
                    gateway.printed("WIREGUARD_ADDRESS"))).isZero();
            Map<String, String> after = Map.of("wireguardPrivateKey", newKey, "wireguardAddress",
                    gateway.printed("WIREGUARD_ADDRESS"));
            Path stagingB = Files.createDirectories(dir.resolve("node/staging-b"));
            rig.untilOk("NodeStageVolume b with the new key", java.time.Duration.ofSeconds(120), n ->
                    n.nodeStageVolume(stageRequest("vol-rotate-b", stagingB, context, after)));
            assertThat(runOut("wg", "show", interfaceName, "public-key").strip()).as("the interface has the new key")
                    .isEqualTo(newPublic);
            // The volume staged before the rotation is served over the same, reconfigured interface.
            assertThat(Files.readString(targetA.resolve("before.txt"))).isEqualTo("old key");
            Files.writeString(targetA.resolve("after.txt"), "new key");
            assertThat(Files.readString(gateway.local("/wg-rotate/after.txt"))).isEqualTo("new key");
            rig.unpublish("vol-rotate-a", targetA);
            rig.unstage("vol-rotate-a", stagingA);
            assertThat(linkExists(interfaceName)).as("kept for the other volume of the peer").isTrue();
            rig.unstage("vol-rotate-b", stagingB);
            assertThat(linkExists(interfaceName)).as("gone after the last unstage of the peer").isFalse();
        } finally {
            // The gateway as the other tests expect it.
            run("ip", "netns", "exec", gw, "wg", "set", "gwwg-w", "peer", newPublic, "remove");
            run("ip", "netns", "exec", gw, "wg", "set", "gwwg-w", "peer", oldPublic, "allowed-ips",
                    gateway.printed("WIREGUARD_ADDRESS"));
        }
    }

    static String runOut(String... argv) throws Exception {
        return runIn(null, argv);
    }

    static String runIn(String stdin, String... argv) throws Exception {
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        try (var in = p.getOutputStream()) {
            if (stdin != null) {
                in.write(stdin.getBytes());
            }
        }
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return out;
    }

    @Test
    void aTunnelThatCannotBeEstablishedIsUnavailableNamingTheCauseAndLeavesNothing() throws Exception {
        NodeRig rig = rig(gateway);
        Map<String, String> context = parameters("wg-wrong");
        // A well-formed key the gateway does not know: no handshake ever completes.
        String stranger = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        Path staging = Files.createDirectories(dir.resolve("node/staging"));
        Map<String, String> wrong = Map.of("wireguardPrivateKey", stranger, "wireguardAddress",
                gateway.printed("WIREGUARD_ADDRESS"));
        StatusRuntimeException e = org.assertj.core.api.Assertions.catchThrowableOfType(StatusRuntimeException.class,
                () -> rig.stub().nodeStageVolume(stageRequest("vol-wg-wrong", staging, context, wrong)));
        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(e.getStatus().getDescription()).contains("no WireGuard handshake with the gateway")
                .contains(gateway.printed("WIREGUARD_ENDPOINT")).doesNotContain(stranger);
        assertThat(linkExists(interfaceName)).as("a tunnel nobody uses is removed").isFalse();
        assertThat(rig.node().log()).contains("event=tunnel_failed").doesNotContain(stranger);
    }

    /** Whether {@code pid} runs: not gone, not a zombie waiting for its parent (proc(5) stat field 3). */
    static boolean running(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            return state != 'Z' && state != 'X';
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private long wireguardGoPid() throws IOException {
        Path record = rig0StateFile();
        java.util.Properties p = new java.util.Properties();
        p.load(new java.io.StringReader(Files.readString(record)));
        assertThat(p.getProperty("implementation")).isEqualTo("wireguard-go");
        return Long.parseLong(p.getProperty("pid"));
    }

    private Path rig0StateFile() {
        return dir.resolve("node/state/tunnels/" + interfaceName + ".properties");
    }
}
