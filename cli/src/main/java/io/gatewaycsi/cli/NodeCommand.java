package io.gatewaycsi.cli;

import io.gatewaycsi.common.DriverVersion;
import io.gatewaycsi.common.HealthServer;
import io.gatewaycsi.common.IdentityService;
import io.gatewaycsi.node.KubeletRegistration;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code gateway-csi node}: the node plugin (a DaemonSet on every GPU node). */
@Command(name = "node", mixinStandardHelpOptions = true,
        description = "Serve the CSI Identity and Node services: one staging mount per volume and node,"
                + " bind mounts into pods, and the fallback to the mount helper.")
final class NodeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Mixin
    NodeOptions node;

    @Option(names = "--node-id", paramLabel = "ID", required = true,
            defaultValue = "${env:NODE_ID}",
            description = "This node's ID as reported by NodeGetInfo, usually the Kubernetes node name"
                    + " (default: $NODE_ID).")
    String nodeId;

    @Option(names = "--plugin-registration-dir", paramLabel = "DIR",
            description = "Register with kubelet by serving its plugin registration API (v1) on"
                    + " DIR/<driver name>-reg.sock, DIR being kubelet's <kubelet root>/plugins_registry as this"
                    + " process sees it; then no node-driver-registrar is needed. Off when not given.")
    Path pluginRegistrationDir;

    @Option(names = "--kubelet-registration-path", paramLabel = "PATH",
            description = "The CSI socket as kubelet sees it on the node, told to kubelet at registration"
                    + " (default: the --endpoint socket's path, when it is the same inside and outside"
                    + " the container).")
    Path kubeletRegistrationPath;

    @Override
    public Integer call() throws Exception {
        common.apply(spec.commandLine());
        List<Serving.Listener> listeners = new ArrayList<>();
        if (pluginRegistrationDir != null) {
            listeners.add(registration());
        }
        Observability observability = common.observability("gateway-csi-node", nodeId);
        NodeOptions.Built built = node.build(nodeId, common.allowedMountOptions(), observability);
        IdentityService identity = new IdentityService(common.driverName, DriverVersion.get(), false, () -> true);
        // The CSI socket first: kubelet calls it as soon as it has registered the plugin.
        listeners.addFirst(new Serving.Listener(common.endpoint, List.of(identity, built.service())));
        HealthServer health = common.health();
        return Serving.serve(listeners, observability.rpcMetrics, () -> {
            if (health != null) {
                health.close();
            }
            built.close();
            observability.close();
        });
    }

    /** The registration socket's listener, from the two registration options. */
    private Serving.Listener registration() {
        try {
            Path csiSocketOnNode = kubeletRegistrationPath;
            if (csiSocketOnNode == null) {
                if (!common.endpoint.isUnix()) {
                    throw new IllegalArgumentException("--plugin-registration-dir needs a unix --endpoint or"
                            + " --kubelet-registration-path: kubelet reaches CSI drivers through a unix socket");
                }
                csiSocketOnNode = common.endpoint.socketPath();
            }
            return new Serving.Listener(KubeletRegistration.socket(pluginRegistrationDir, common.driverName),
                    List.of(new KubeletRegistration(common.driverName, csiSocketOnNode)));
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
    }
}
