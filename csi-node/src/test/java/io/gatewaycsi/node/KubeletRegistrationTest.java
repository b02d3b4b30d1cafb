package io.gatewaycsi.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gatewaycsi.common.CsiChannels;
import io.gatewaycsi.common.CsiServer;
import io.gatewaycsi.common.Endpoint;
import io.gatewaycsi.pluginregistration.v1.InfoRequest;
import io.gatewaycsi.pluginregistration.v1.PluginInfo;
import io.gatewaycsi.pluginregistration.v1.RegistrationGrpc;
import io.gatewaycsi.pluginregistration.v1.RegistrationStatus;
import io.grpc.ManagedChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kubelet's side of the plugin registration API v1, played by a real gRPC client over the real unix socket in
 * a {@code plugins_registry} directory: the calls kubelet's plugin watcher makes, by their wire names.
 */
class KubeletRegistrationTest {

    private static final String DRIVER = "nfs.gateway-csi.io";
    private static final Path CSI_SOCKET = Path.of("/var/lib/kubelet/plugins/nfs.gateway-csi.io/csi.sock");

    @TempDir
    Path kubeletRoot;

    private KubeletRegistration registration;
    private CsiServer server;
    private ManagedChannel channel;

    @BeforeEach
    void serve() throws Exception {
        Path registry = Files.createDirectory(kubeletRoot.resolve("plugins_registry"));
        registration = new KubeletRegistration(DRIVER, CSI_SOCKET);
        Endpoint socket = KubeletRegistration.socket(registry, DRIVER);
        server = CsiServer.start(socket, List.of(registration));
        channel = CsiChannels.open(socket);
    }

    @AfterEach
    void stop() {
        CsiChannels.close(channel);
        server.close();
    }

    private RegistrationGrpc.RegistrationBlockingStub kubelet() {
        return RegistrationGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    @Test
    void theSocketIsWhereKubeletsPluginWatcherLooks() {
        assertThat(kubeletRoot.resolve("plugins_registry/nfs.gateway-csi.io-reg.sock")).exists();
        assertThat(server.endpoint().socketPath())
                .isEqualTo(kubeletRoot.resolve("plugins_registry/nfs.gateway-csi.io-reg.sock"));
    }

    @Test
    void getInfoNamesACsiPluginItsDriverNameItsSocketOnTheNodeAndCsi1() {
        PluginInfo info = kubelet().getInfo(InfoRequest.getDefaultInstance());
        assertThat(info.getType()).isEqualTo("CSIPlugin");
        assertThat(info.getName()).isEqualTo(DRIVER);
        assertThat(info.getEndpoint()).isEqualTo(CSI_SOCKET.toString());
        assertThat(info.getSupportedVersionsList()).containsExactly("1.0.0");
    }

    @Test
    void theServiceHasKubeletsWireNames() {
        assertThat(RegistrationGrpc.getGetInfoMethod().getFullMethodName())
                .isEqualTo("pluginregistration.Registration/GetInfo");
        assertThat(RegistrationGrpc.getNotifyRegistrationStatusMethod().getFullMethodName())
                .isEqualTo("pluginregistration.Registration/NotifyRegistrationStatus");
    }

    @Test
    void registrationStatusIsKeptSuccessOrRefusal() {
        assertThat(registration.lastStatus()).isEmpty();
        kubelet().notifyRegistrationStatus(RegistrationStatus.newBuilder().setPluginRegistered(true).build());
        assertThat(registration.lastStatus()).get().extracting(RegistrationStatus::getPluginRegistered).isEqualTo(true);
        kubelet().notifyRegistrationStatus(RegistrationStatus.newBuilder().setPluginRegistered(false)
                .setError("plugin registration failed: unsupported version").build());
        assertThat(registration.lastStatus()).get().extracting(RegistrationStatus::getError)
                .isEqualTo("plugin registration failed: unsupported version");
    }

    @Test
    void aRelativeCsiSocketPathIsRefused() {
        assertThatThrownBy(() -> new KubeletRegistration(DRIVER, Path.of("csi.sock")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("absolute");
    }
}
