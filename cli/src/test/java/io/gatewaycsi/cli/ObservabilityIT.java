package io.gatewaycsi.cli;

import io.gatewaycsi.common.testing.TestCapabilities;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMixedDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.gatewaycsi.common.testing.Scrape;
import io.gatewaycsi.csi.v1.ControllerGrpc;
import io.gatewaycsi.csi.v1.CreateVolumeRequest;
import io.gatewaycsi.csi.v1.DeleteVolumeRequest;
import io.gatewaycsi.csi.v1.NodeGetVolumeStatsRequest;
import io.gatewaycsi.csi.v1.NodeGetVolumeStatsResponse;
import io.gatewaycsi.csi.v1.NodeGrpc;
import io.gatewaycsi.csi.v1.NodePublishVolumeRequest;
import io.gatewaycsi.csi.v1.NodeStageVolumeRequest;
import io.gatewaycsi.csi.v1.NodeUnpublishVolumeRequest;
import io.gatewaycsi.csi.v1.NodeUnstageVolumeRequest;
import io.gatewaycsi.csi.v1.Volume;
import io.gatewaycsi.csi.v1.VolumeCapability;
import io.gatewaycsi.nfs.testing.TestGateway;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The done-when test of observability: the controller, the node plugin and the mount helper as separate
 * processes (as in the chart's pods), each with {@code --metrics-address}, the controller and the node with
 * {@code --events on} against fabric8's mock API server (CRUD mode). One volume goes through its whole life on
 * the real gateway — created for a claim, staged through the mount helper fallback (this machine has no NFS
 * in the kernel), published for a pod, written and read, its mount helper killed and restarted (the node
 * repairs the staging mount), unpublished, unstaged, deleted — and then:
 * <ul>
 *   <li>the node's /metrics counts exactly one fallback with its reason, one sidecar staging, one repair, and
 *   one call of each Node RPC; the controller's and the helper's count theirs;</li>
 *   <li>the mock API server holds the fallback, repair and provisioning events on the right Pod and claim;</li>
 *   <li>every gatewaycsi_* metric the Grafana dashboard queries is exposed by one of the three processes.</li>
 * </ul>
 */
@ExtendWith(TestGateway.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ObservabilityIT {

    private static final VolumeCapability RWX = TestCapabilities.RWX;
    private static final String NAMESPACE = "team-a";
    private static final String CLAIM = "train-data";
    private static final String POD = "trainer-0";
    private static final String POD_UID = "6a1c1f9e-0000-4000-8000-00000000a001";

    private final TestGateway gateway = TestGateway.get();
    private final String suffix = UUID.randomUUID().toString().substring(0, 8);
    private final String pvName = "pvc-obs-" + suffix;
    private Path dir;
    private KubernetesMockServer apiServer;
    private KubernetesClient api;
    private DriverProcess helper;
    private DriverProcess controller;
    private DriverProcess node;
    private Path staging;
    private Path target;
    private String helperMetrics;
    private String nodeMetrics;
    private String controllerMetrics;
    private Scrape nodeScrape;
    private Scrape controllerScrape;
    private Scrape helperScrape;
    private List<Event> events;
    private NodeGetVolumeStatsResponse statsOfTheReboundTarget;

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    private DriverProcess startHelper(String metrics) throws Exception {
        Path socket = dir.resolve("helper.sock");
        return DriverProcess.start(socket, dir.resolve("helper-" + Instant.now().toEpochMilli() + ".log"), -1,
                "mount-helper", "--endpoint", "unix://" + socket, "--metrics-address", metrics);
    }

    private <T> T call(DriverProcess process, Function<ManagedChannel, T> body) {
        ManagedChannel channel = process.channel();
        try {
            return body.apply(channel);
        } finally {
            channel.shutdownNow();
        }
    }

    private <T> T onNode(Function<NodeGrpc.NodeBlockingStub, T> body) {
        return call(node, c -> body.apply(NodeGrpc.newBlockingStub(c).withDeadlineAfter(60, TimeUnit.SECONDS)));
    }

    private <T> T onController(Function<ControllerGrpc.ControllerBlockingStub, T> body) {
        return call(controller, c -> body.apply(ControllerGrpc.newBlockingStub(c).withDeadlineAfter(60, TimeUnit.SECONDS)));
    }

    @BeforeAll
    void driveAVolumeThroughItsLife() throws Exception {
        dir = Files.createTempDirectory("gateway-csi-observability-");
        apiServer = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
                new KubernetesMixedDispatcher(new HashMap<>()), false);
        apiServer.init(InetAddress.getLoopbackAddress(), 0);
        api = apiServer.createClient();
        Map<String, String> kube = Map.of("KUBERNETES_MASTER", "http://127.0.0.1:" + apiServer.getPort(),
                "KUBERNETES_AUTH_TRYKUBECONFIG", "false", "KUBERNETES_AUTH_TRYSERVICEACCOUNT", "false",
                "KUBERNETES_NAMESPACE", "gateway-csi");

        helperMetrics = "127.0.0.1:" + freePort();
        nodeMetrics = "127.0.0.1:" + freePort();
        controllerMetrics = "127.0.0.1:" + freePort();
        helper = startHelper(helperMetrics);
        controller = DriverProcess.start(dir.resolve("controller.sock"), dir.resolve("controller.log"), -1, kube,
                "controller", "--endpoint", "unix://" + dir.resolve("controller.sock"),
                "--metrics-address", controllerMetrics, "--events", "on");
        node = DriverProcess.start(dir.resolve("node.sock"), dir.resolve("node.log"), -1, kube,
                "node", "--endpoint", "unix://" + dir.resolve("node.sock"), "--node-id", "obs-node",
                "--mount-helper-endpoint", "unix://" + dir.resolve("helper.sock"),
                "--state-dir", dir.resolve("state").toString(), "--metrics-address", nodeMetrics, "--events", "on");

        // CreateVolume for a claim, as csi-provisioner --extra-create-metadata calls it.
        Map<String, String> parameters = new LinkedHashMap<>();
        parameters.put("server", gateway.server());
        parameters.put("share", gateway.share());
        parameters.put("nfsVersion", "4");
        parameters.put("subDir", "observability-${pv.metadata.name}");
        parameters.put("csi.storage.k8s.io/pvc/name", CLAIM);
        parameters.put("csi.storage.k8s.io/pvc/namespace", NAMESPACE);
        parameters.put("csi.storage.k8s.io/pv/name", pvName);
        Volume volume = onController(c -> c.createVolume(CreateVolumeRequest.newBuilder().setName(pvName)
                .addVolumeCapabilities(RWX).putAllParameters(parameters).build())).getVolume();
        assertThat(volume.getVolumeContextMap()).containsEntry("csi.storage.k8s.io/pvc/name", CLAIM)
                .containsEntry("csi.storage.k8s.io/pvc/namespace", NAMESPACE);

        staging = Files.createDirectories(dir.resolve("staging"));
        target = dir.resolve("pod/volume");
        Map<String, String> podContext = new LinkedHashMap<>(volume.getVolumeContextMap());
        podContext.put("csi.storage.k8s.io/pod.name", POD);
        podContext.put("csi.storage.k8s.io/pod.namespace", NAMESPACE);
        podContext.put("csi.storage.k8s.io/pod.uid", POD_UID);
        podContext.put("csi.storage.k8s.io/ephemeral", "false");
        onNode(n -> n.nodeStageVolume(NodeStageVolumeRequest.newBuilder().setVolumeId(volume.getVolumeId())
                .setStagingTargetPath(staging.toString()).setVolumeCapability(RWX)
                .putAllVolumeContext(volume.getVolumeContextMap()).build()));
        onNode(n -> n.nodePublishVolume(NodePublishVolumeRequest.newBuilder().setVolumeId(volume.getVolumeId())
                .setStagingTargetPath(staging.toString()).setTargetPath(target.toString()).setVolumeCapability(RWX)
                .putAllVolumeContext(podContext).build()));
        byte[] checkpoint = ("checkpoint " + suffix + "\n").repeat(4096).getBytes(StandardCharsets.UTF_8);
        Files.write(target.resolve("checkpoint.bin"), checkpoint);
        assertThat(Files.readAllBytes(target.resolve("checkpoint.bin"))).isEqualTo(checkpoint);

        // The mount helper dies; the node's repair watcher remounts once a helper answers again.
        new ProcessBuilder("kill", "-9", Long.toString(helper.pid())).start().waitFor();
        helper.close();
        // Waits are generous: the test must hold on a machine whose cores are busy with other work.
        waitUntil(() -> !canRead(target, checkpoint.length), Duration.ofSeconds(30), "the dead helper's mount breaks");
        helperMetrics = "127.0.0.1:" + freePort();
        helper = startHelper(helperMetrics);
        if (!waitFor(() -> canRead(target, checkpoint.length), Duration.ofSeconds(90))) {
            throw new AssertionError("the repaired mount serves again: not within 90 s; node log:\n" + node.log());
        }
        assertThat(Files.readAllBytes(target.resolve("checkpoint.bin"))).isEqualTo(checkpoint);
        assertThat(Files.exists(target.resolve("no-such-file"))).isFalse(); // an ENOENT from the gateway
        statsOfTheReboundTarget = onNode(n -> n.nodeGetVolumeStats(NodeGetVolumeStatsRequest.newBuilder()
                .setVolumeId(volume.getVolumeId()).setVolumePath(target.toString()).build()));

        helperScrape = Scrape.of(helperMetrics); // while the volume is still mounted
        onNode(n -> n.nodeUnpublishVolume(NodeUnpublishVolumeRequest.newBuilder().setVolumeId(volume.getVolumeId())
                .setTargetPath(target.toString()).build()));
        onNode(n -> n.nodeUnstageVolume(NodeUnstageVolumeRequest.newBuilder().setVolumeId(volume.getVolumeId())
                .setStagingTargetPath(staging.toString()).build()));
        onController(c -> c.deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId(volume.getVolumeId()).build()));

        nodeScrape = Scrape.of(nodeMetrics);
        controllerScrape = Scrape.of(controllerMetrics);
        waitUntil(() -> api.v1().events().inNamespace(NAMESPACE).list().getItems().size() >= 5, Duration.ofSeconds(30),
                "the events reach the API server");
        events = api.v1().events().inNamespace(NAMESPACE).list().getItems();
    }

    @AfterAll
    void stopEverything() throws Exception {
        try {
            for (DriverProcess process : new DriverProcess[] {node, controller, helper}) {
                if (process != null) {
                    process.close();
                }
            }
        } finally {
            for (Path path : new Path[] {target, staging}) {
                if (path != null) {
                    new ProcessBuilder("umount", "-l", path.toString()).start().waitFor(10, TimeUnit.SECONDS);
                }
            }
            if (api != null) {
                api.close();
            }
            if (apiServer != null) {
                apiServer.destroy();
            }
            if (dir != null) {
                new ProcessBuilder("rm", "-rf", "--one-file-system", dir.toString()).start().waitFor(30, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void theNodeCountsOneFallbackWithItsReasonOneSidecarStagingAndOneRepair() throws IOException {
        assertThat(nodeScrape.sum("gatewaycsi_node_fallbacks_total")).as(node.log()).isEqualTo(1);
        assertThat(nodeScrape.sum("gatewaycsi_node_fallbacks_total", "reason", "no_kernel_nfs")).isEqualTo(1);
        assertThat(nodeScrape.sum("gatewaycsi_node_stages_total", "backend", "sidecar")).isEqualTo(1);
        assertThat(nodeScrape.sum("gatewaycsi_node_stages_total", "backend", "kernel")).isZero();
        assertThat(nodeScrape.sum("gatewaycsi_node_repairs_total", "result", "repaired")).isEqualTo(1);
        assertThat(nodeScrape.sum("gatewaycsi_node_repairs_total", "backend", "sidecar", "cause", "enotconn",
                "result", "repaired")).isEqualTo(1);
        assertThat(nodeScrape.sum("gatewaycsi_node_repairs_total", "result", "failed")).isZero();
        assertThat(nodeScrape.sum("gatewaycsi_node_unstages_total", "backend", "sidecar")).isEqualTo(1);
        assertThat(nodeScrape.sum("gatewaycsi_node_unmounts_total", "mount", "target", "step", "normal"))
                .as("unpublish, and the repair's unmount of the dead target").isGreaterThanOrEqualTo(1);
        assertThat(nodeScrape.sum("gatewaycsi_node_unmounts_total", "mount", "staging", "step", "normal"))
                .as("NodeUnstageVolume through the helper's Unmount").isEqualTo(1);
        assertThat(nodeScrape.sum("gatewaycsi_node_unmounts_total", "mount", "staging", "step", "lazy"))
                .as("the repair: the dead FUSE mount detached by the new helper").isEqualTo(1);
        assertThat(nodeScrape.sum("gatewaycsi_node_staging_mounts")).as("all unstaged").isZero();
        assertThat(nodeScrape.sum("gatewaycsi_node_mount_failures_total")).isZero();
        for (String method : List.of("NodeStageVolume", "NodePublishVolume", "NodeUnpublishVolume",
                "NodeUnstageVolume")) {
            assertThat(nodeScrape.sum("gatewaycsi_rpc_duration_seconds_count", "service", "csi.v1.Node",
                    "method", method, "code", "OK")).as(method).isEqualTo(1);
        }
        assertThat(nodeScrape.sum("gatewaycsi_rpc_duration_seconds_count", "service", "csi.v1.Node",
                "method", "NodeGetVolumeStats", "code", "OK")).isEqualTo(1);
        assertThat(nodeScrape.sum("gatewaycsi_rpc_duration_seconds_count", "code", "OK")).isEqualTo(5);
        assertThat(nodeScrape.sum("gatewaycsi_events_total", "reason", "MountHelperFallback", "result", "sent"))
                .isEqualTo(2);
        assertThat(nodeScrape.sum("gatewaycsi_build_info")).isEqualTo(1);
    }

    @Test
    void theControllerAndTheRestartedHelperCountTheirCalls() {
        assertThat(controllerScrape.sum("gatewaycsi_rpc_duration_seconds_count", "service", "csi.v1.Controller",
                "method", "CreateVolume", "code", "OK")).isEqualTo(1);
        assertThat(controllerScrape.sum("gatewaycsi_rpc_duration_seconds_count", "method", "DeleteVolume",
                "code", "OK")).isEqualTo(1);
        assertThat(helperScrape.sum("gatewaycsi_rpc_duration_seconds_count",
                "service", "gatewaycsi.mounthelper.v1.MountHelper", "method", "Mount", "code", "OK"))
                .as("the repair's mount").isEqualTo(1);
        assertThat(helperScrape.sum("gatewaycsi_helper_mounts")).isEqualTo(1);
        assertThat(helperScrape.sum("gatewaycsi_fuse_read_bytes_total")).isPositive();
        assertThat(helperScrape.sum("gatewaycsi_fuse_operation_duration_seconds_count", "operation", "read"))
                .isPositive();
        assertThat(helperScrape.sum("gatewaycsi_fuse_operation_duration_seconds_count", "operation", "getattr"))
                .isPositive();
        assertThat(helperScrape.sum("gatewaycsi_nfs_errors_total", "errno", "ENOENT")).isPositive();
        assertThat(helperScrape.sum("gatewaycsi_nfs_reconnects_total")).isZero();
    }

    private List<Event> eventsAbout(String kind, String name, String reason) {
        return events.stream().filter(e -> e.getInvolvedObject().getKind().equals(kind)
                && e.getInvolvedObject().getName().equals(name) && e.getReason().equals(reason)).toList();
    }

    @Test
    void theEventsAreOnThePodAndTheClaimWithTheirReasons() {
        assertThat(events).allSatisfy(e -> {
            assertThat(e.getInvolvedObject().getNamespace()).isEqualTo(NAMESPACE);
            assertThat(e.getMetadata().getNamespace()).isEqualTo(NAMESPACE);
        });
        List<Event> podFallback = eventsAbout("Pod", POD, "MountHelperFallback");
        assertThat(podFallback).singleElement().satisfies(e -> {
            assertThat(e.getType()).isEqualTo("Normal");
            assertThat(e.getInvolvedObject().getUid()).isEqualTo(POD_UID);
            assertThat(e.getMessage()).contains("mounted by the mount helper").contains("[no_kernel_nfs]");
            assertThat(e.getSource().getComponent()).isEqualTo("gateway-csi-node");
            assertThat(e.getSource().getHost()).isEqualTo("obs-node");
        });
        assertThat(eventsAbout("PersistentVolumeClaim", CLAIM, "MountHelperFallback")).singleElement()
                .satisfies(e -> assertThat(e.getMessage()).contains("[no_kernel_nfs]").contains("No such device"));
        // The node re-binds the target, but the pod's running containers keep the dead mount they started with:
        // the pod is told so (a Warning), not that all is well.
        assertThat(eventsAbout("Pod", POD, "MountRepaired")).isEmpty();
        assertThat(eventsAbout("Pod", POD, "PodRestartRequired")).singleElement().satisfies(e -> {
            assertThat(e.getType()).isEqualTo("Warning");
            assertThat(e.getMessage()).contains("ENOTCONN").contains("1 published target bound again")
                    .contains("restart this pod");
        });
        assertThat(eventsAbout("PersistentVolumeClaim", CLAIM, "MountRepaired")).singleElement()
                .satisfies(e -> assertThat(e.getType()).isEqualTo("Normal"));
        assertThat(eventsAbout("PersistentVolumeClaim", CLAIM, "GatewayDirectoryCreated")).singleElement()
                .satisfies(e -> {
                    assertThat(e.getSource().getComponent()).isEqualTo("gateway-csi-controller");
                    assertThat(e.getMessage()).contains(gateway.server() + ":" + gateway.share() + "/observability-"
                            + pvName);
                });
        assertThat(events).filteredOn(e -> e.getType().equals("Warning")).extracting(Event::getReason)
                .containsExactly("PodRestartRequired");
    }

    @Test
    void aTargetBoundAgainAfterAHelperRestartIsReportedAbnormalSayingThePodMustBeRestarted() {
        assertThat(statsOfTheReboundTarget.getVolumeCondition().getAbnormal()).isTrue();
        assertThat(statsOfTheReboundTarget.getVolumeCondition().getMessage()).contains("restart the pod");
    }

    @Test
    void everyMetricTheDashboardQueriesIsExposed() throws IOException {
        JsonNode dashboard = new ObjectMapper().readTree(Path.of(System.getProperty("gatewaycsi.repo"),
                "observability", "dashboard.json").toFile());
        Set<String> queried = new TreeSet<>();
        Pattern name = Pattern.compile("gatewaycsi_[a-zA-Z0-9_]+");
        List<String> expressions = new ArrayList<>();
        dashboard.findValues("expr").forEach(e -> expressions.add(e.asText()));
        dashboard.findValues("query").forEach(q -> expressions.add(q.isTextual() ? q.asText() : q.path("query").asText()));
        for (String expression : expressions) {
            Matcher m = name.matcher(expression);
            while (m.find()) {
                queried.add(m.group());
            }
        }
        assertThat(queried).hasSizeGreaterThan(12);
        Set<String> exposed = new TreeSet<>();
        exposed.addAll(nodeScrape.names());
        exposed.addAll(controllerScrape.names());
        exposed.addAll(helperScrape.names());
        assertThat(exposed).containsAll(queried);
    }

    private static boolean canRead(Path target, long size) {
        try {
            return Files.size(target.resolve("checkpoint.bin")) == size;
        } catch (IOException e) {
            return false;
        }
    }

    private static void waitUntil(java.util.function.BooleanSupplier condition, Duration limit, String what)
            throws InterruptedException {
        if (!waitFor(condition, limit)) {
            throw new AssertionError(what + ": not within " + limit);
        }
    }

    /** Whether {@code condition} held within {@code limit}, polled every 100 ms. */
    private static boolean waitFor(java.util.function.BooleanSupplier condition, Duration limit)
            throws InterruptedException {
        Instant end = Instant.now().plus(limit);
        while (!condition.getAsBoolean()) {
            if (Instant.now().isAfter(end)) {
                return false;
            }
            Thread.sleep(100);
        }
        return true;
    }
}
