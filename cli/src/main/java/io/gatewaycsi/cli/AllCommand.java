package io.gatewaycsi.cli;

import io.gatewaycsi.common.DriverVersion;
import io.gatewaycsi.common.IdentityService;
import io.gatewaycsi.controller.GatewaySessions;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code gateway-csi all}: every role in one process, for a single machine. */
@Command(name = "all", mixinStandardHelpOptions = true,
        description = "Serve every CSI service (Identity, Controller, Node) on one endpoint and the mount"
                + " helper on its own, in one process: for a single machine and for trying the driver out.")
final class AllCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Mixin
    ControllerOptions controller;

    @Option(names = "--node-id", paramLabel = "ID", defaultValue = "${env:NODE_ID:-local}",
            description = "This node's ID as reported by NodeGetInfo (default: $NODE_ID, else local).")
    String nodeId;

    @Mixin
    NodeOptions node;

    @Override
    public Integer call() throws Exception {
        common.apply(spec.commandLine());
        GatewaySessions sessions = controller.sessions();
        NodeOptions.Built built = node.build(nodeId, common.allowedMountOptions());
        IdentityService identity = new IdentityService(common.driverName, DriverVersion.get(), true, () -> true);
        return Serving.serve(List.of(
                new Serving.Listener(node.mountHelperEndpoint, List.of(MountHelperOptions.service())),
                new Serving.Listener(common.endpoint, List.of(identity, controller.service(sessions, common.allowedMountOptions()), built.service()))),
                () -> {
                    built.sidecar().close();
                    sessions.close();
                });
    }
}
