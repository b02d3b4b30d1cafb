package io.gatewaycsi.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.gatewaycsi.common.CsiChannels;
import io.gatewaycsi.common.Endpoint;
import io.gatewaycsi.csi.v1.NodeGetInfoRequest;
import io.gatewaycsi.csi.v1.NodeGrpc;
import io.gatewaycsi.pluginregistration.v1.InfoRequest;
import io.gatewaycsi.pluginregistration.v1.PluginInfo;
import io.gatewaycsi.pluginregistration.v1.RegistrationGrpc;
import io.gatewaycsi.pluginregistration.v1.RegistrationStatus;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code gateway-csi node --plugin-registration-dir --health-address}, a real process, met as kubelet meets
 * it: the registration socket appears in plugins_registry, GetInfo names the CSI socket, which answers
 * NodeGetInfo; /healthz answers 200 from the node's own Probe; on SIGTERM the registration socket goes, so
 * kubelet unregisters the driver.
 */
class KubeletRegistrationIT {

    @TempDir
    Path dir;

    @Test
    void kubeletFindsRegistersAndProbesTheNodePlugin() throws Exception {
        Path registry = Files.createDirectory(dir.resolve("plugins_registry"));
        Path csiSocket = dir.resolve("csi.sock");
        Path registrationSocket = registry.resolve("nfs.gateway-csi.io-reg.sock");
        int healthPort = freePort();
        DriverProcess node = DriverProcess.start(registrationSocket, dir.resolve("node.log"), -1,
                "node", "--endpoint", "unix://" + csiSocket, "--node-id", "registration-node",
                "--mount-helper-endpoint", "unix://" + dir.resolve("helper.sock"),
                "--state-dir", dir.resolve("state").toString(), "--events", "off",
                "--plugin-registration-dir", registry.toString(), "--health-address", "127.0.0.1:" + healthPort);
        try (node) {
            // kubelet's plugin watcher: GetInfo on the new socket, then the plugin's own endpoint.
            ManagedChannel registration = CsiChannels.open(Endpoint.parse("unix://" + registrationSocket));
            PluginInfo info;
            try {
                info = RegistrationGrpc.newBlockingStub(registration).withDeadlineAfter(60, TimeUnit.SECONDS)
                        .getInfo(InfoRequest.getDefaultInstance());
                assertThat(info.getType()).isEqualTo("CSIPlugin");
                assertThat(info.getName()).isEqualTo("nfs.gateway-csi.io");
                assertThat(info.getEndpoint()).isEqualTo(csiSocket.toString());
                assertThat(info.getSupportedVersionsList()).containsExactly("1.0.0");
                ManagedChannel csi = CsiChannels.open(Endpoint.parse("unix://" + info.getEndpoint()));
                try {
                    assertThat(NodeGrpc.newBlockingStub(csi).withDeadlineAfter(60, TimeUnit.SECONDS)
                            .nodeGetInfo(NodeGetInfoRequest.getDefaultInstance()).getNodeId()).isEqualTo("registration-node");
                } finally {
                    CsiChannels.close(csi);
                }
                RegistrationGrpc.newBlockingStub(registration).withDeadlineAfter(60, TimeUnit.SECONDS)
                        .notifyRegistrationStatus(RegistrationStatus.newBuilder().setPluginRegistered(true).build());
            } finally {
                CsiChannels.close(registration);
            }
            assertThat(node.log()).contains("event=kubelet-registered");

            HttpResponse<String> health = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + healthPort + "/healthz")).timeout(Duration.ofSeconds(60)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(health.statusCode()).as(health.body()).isEqualTo(200);
        }
        assertThat(registrationSocket).as("removed at SIGTERM: kubelet then unregisters the driver").doesNotExist();
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
