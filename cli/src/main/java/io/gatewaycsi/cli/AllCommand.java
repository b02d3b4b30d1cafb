package io.gatewaycsi.cli;

import io.gatewaycsi.common.DriverVersion;
import io.gatewaycsi.common.Endpoint;
import io.gatewaycsi.common.IdentityService;
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

    @Option(names = "--node-id", paramLabel = "ID", defaultValue = "${env:NODE_ID:-local}",
            description = "This node's ID as reported by NodeGetInfo (default: $NODE_ID, else local).")
    String nodeId;

    @Option(names = "--mount-helper-endpoint", paramLabel = "URL", converter = CommonOptions.EndpointConverter.class,
            defaultValue = MountHelperOptions.DEFAULT_ENDPOINT,
            description = "Where the mount helper listens (default: ${DEFAULT-VALUE}).")
    Endpoint mountHelperEndpoint;

    @Override
    public Integer call() throws Exception {
        common.apply(spec.commandLine());
        IdentityService identity = new IdentityService(common.driverName, DriverVersion.get(), false, () -> true);
        return Serving.serve(List.of(
                new Serving.Listener(mountHelperEndpoint, List.of(MountHelperOptions.service())),
                new Serving.Listener(common.endpoint, List.of(identity))), () -> { });
    }
}
