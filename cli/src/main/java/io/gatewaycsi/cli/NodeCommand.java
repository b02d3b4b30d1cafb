package io.gatewaycsi.cli;

import io.gatewaycsi.common.DriverVersion;
import io.gatewaycsi.common.IdentityService;
import java.util.List;
import java.util.concurrent.Callable;
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

    @Override
    public Integer call() throws Exception {
        common.apply(spec.commandLine());
        Observability observability = common.observability("gateway-csi-node", nodeId);
        NodeOptions.Built built = node.build(nodeId, common.allowedMountOptions(), observability);
        IdentityService identity = new IdentityService(common.driverName, DriverVersion.get(), false, () -> true);
        return Serving.serve(List.of(new Serving.Listener(common.endpoint, List.of(identity, built.service()))),
                observability.rpcMetrics, () -> {
                    built.close();
                    observability.close();
                });
    }
}
