package io.gatewaycsi.node;

import io.gatewaycsi.common.Endpoint;
import io.gatewaycsi.common.LogLine;
import io.gatewaycsi.common.Rpcs;
import io.gatewaycsi.pluginregistration.v1.InfoRequest;
import io.gatewaycsi.pluginregistration.v1.PluginInfo;
import io.gatewaycsi.pluginregistration.v1.RegistrationGrpc;
import io.gatewaycsi.pluginregistration.v1.RegistrationStatus;
import io.gatewaycsi.pluginregistration.v1.RegistrationStatusResponse;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Logger;

/**
 * kubelet's plugin registration API v1 ({@code pluginregistration.Registration}), served by the node plugin
 * itself on {@link #socket} so that a node needs no node-driver-registrar container. kubelet's plugin watcher
 * finds the socket in its {@code plugins_registry} directory, calls {@code GetInfo} (answered with type
 * {@value #CSI_PLUGIN}, the driver name, the CSI socket's path on the node and the CSI versions served), then
 * {@code NotifyRegistrationStatus} with the outcome, which is logged: an error as a warning naming kubelet's
 * reason. kubelet unregisters the driver when the socket goes (the node plugin removes it when it stops) and
 * registers it again when a new one appears.
 */
public final class KubeletRegistration extends RegistrationGrpc.RegistrationImplBase {

    /** The plugin type kubelet's CSI plugin handler takes. */
    public static final String CSI_PLUGIN = "CSIPlugin";

    /** The CSI spec versions served, as kubelet's CSI handler parses them. */
    public static final String CSI_VERSION = "1.0.0";

    private static final Logger LOG = Logger.getLogger(KubeletRegistration.class.getName());

    private final String driverName;
    private final Path csiSocketOnNode;
    private final AtomicReference<RegistrationStatus> status = new AtomicReference<>();

    /**
     * @param driverName      the CSI driver name kubelet registers the plugin under
     * @param csiSocketOnNode the node plugin's CSI socket as kubelet sees it on the node (absolute), e.g.
     *                        {@code /var/lib/kubelet/plugins/nfs.gateway-csi.io/csi.sock}
     * @throws IllegalArgumentException when the path is not absolute
     */
    public KubeletRegistration(String driverName, Path csiSocketOnNode) {
        this.driverName = Objects.requireNonNull(driverName, "driverName");
        if (!csiSocketOnNode.isAbsolute()) {
            throw new IllegalArgumentException("the CSI socket path kubelet connects to must be absolute, not `"
                    + csiSocketOnNode + "`");
        }
        this.csiSocketOnNode = csiSocketOnNode;
    }

    /**
     * The registration socket of {@code driverName} in kubelet's registration directory (the name
     * node-driver-registrar uses, {@code <driver name>-reg.sock}).
     *
     * @param registrationDir kubelet's {@code <kubelet root>/plugins_registry} as this process sees it
     * @throws IllegalArgumentException when the path is too long for a unix socket (see {@link Endpoint})
     */
    public static Endpoint socket(Path registrationDir, String driverName) {
        return Endpoint.parse("unix://" + registrationDir.resolve(driverName + "-reg.sock").toAbsolutePath());
    }

    @Override
    public void getInfo(InfoRequest request, StreamObserver<PluginInfo> responses) {
        Rpcs.unary(responses, () -> PluginInfo.newBuilder().setType(CSI_PLUGIN).setName(driverName)
                .setEndpoint(csiSocketOnNode.toString()).addSupportedVersions(CSI_VERSION).build());
    }

    @Override
    public void notifyRegistrationStatus(RegistrationStatus request,
                                         StreamObserver<RegistrationStatusResponse> responses) {
        Rpcs.unary(responses, () -> {
            status.set(request);
            if (request.getPluginRegistered()) {
                LOG.info(LogLine.event("kubelet-registered").with("driver", driverName)
                        .with("endpoint", csiSocketOnNode).toString());
            } else {
                LOG.warning(LogLine.event("kubelet-registration-failed").with("driver", driverName)
                        .with("endpoint", csiSocketOnNode).with("error", request.getError())
                        .with("hint", "kubelet refused the plugin; fix what it names (driver name,"
                                + " socket path as seen on the node: --kubelet-registration-path)").toString());
            }
            return RegistrationStatusResponse.getDefaultInstance();
        });
    }

    /** What kubelet last said in NotifyRegistrationStatus; empty before its first call. */
    public Optional<RegistrationStatus> lastStatus() {
        return Optional.ofNullable(status.get());
    }
}
