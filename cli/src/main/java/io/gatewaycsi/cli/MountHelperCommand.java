package io.gatewaycsi.cli;

import io.gatewaycsi.common.Endpoint;
import io.gatewaycsi.common.LogSetup;
import io.gatewaycsi.common.metrics.MetricsServer;
import io.gatewaycsi.mounthelper.MountHelperService;
import io.gatewaycsi.mounthelper.Privileges;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code gateway-csi mount-helper}: the sidecar that mounts shares in user space (NFS client + FUSE). */
@Command(name = "mount-helper", mixinStandardHelpOptions = true,
        description = "Serve the mount helper API: user-space NFS mounts over FUSE for nodes that cannot"
                + " mount NFS in the kernel.")
final class MountHelperCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--endpoint", paramLabel = "URL", converter = CommonOptions.EndpointConverter.class,
            defaultValue = MountHelperOptions.DEFAULT_ENDPOINT,
            description = "Where to serve the mount helper API (default: ${DEFAULT-VALUE}).")
    Endpoint endpoint;

    @Option(names = "--log-level", paramLabel = "LEVEL", defaultValue = "info",
            description = "error, warn, info or debug (default: ${DEFAULT-VALUE}).")
    String logLevel;

    @Option(names = "--metrics-address", paramLabel = "HOST:PORT", defaultValue = "${env:METRICS_ADDRESS}",
            description = "Serve Prometheus metrics at http://HOST:PORT/metrics (e.g. 0.0.0.0:29812, or :29812);"
                    + " off when not given (default: $METRICS_ADDRESS).")
    String metricsAddress;

    @Option(names = "--keep-capabilities",
            description = "Keep every capability the process starts with. By default a mount helper running as"
                    + " root keeps only CAP_SYS_ADMIN (FUSE mounts) and CAP_NET_BIND_SERVICE (reserved source ports"
                    + " to the gateway) and sets no_new_privs, re-executing itself to do so.")
    boolean keepCapabilities;

    @Override
    public Integer call() throws Exception {
        try {
            LogSetup.configure(logLevel);
            if (metricsAddress != null && !metricsAddress.isBlank()) {
                MetricsServer.parseAddress(metricsAddress);
            }
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        if (!keepCapabilities) {
            // Returns at once when there is nothing to drop; otherwise the process starts over without them.
            Privileges.dropToWhatFuseNeeds();
        }
        // The helper emits no Kubernetes Events (the node plugin reports what its mounts do).
        Observability observability = Observability.start(metricsAddress, Observability.EventsMode.OFF,
                "gateway-csi-mount-helper", Hosts.podOrHostName());
        MountHelperService helper = MountHelperOptions.service(observability.registry);
        return Serving.serve(List.of(new Serving.Listener(endpoint, List.of(helper))), observability.rpcMetrics,
                () -> {
                    helper.close();
                    observability.close();
                });
    }
}
