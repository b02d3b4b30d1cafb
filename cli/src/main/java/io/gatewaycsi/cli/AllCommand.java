package io.gatewaycsi.cli;

import io.gatewaycsi.common.DriverVersion;
import io.gatewaycsi.common.IdentityService;
import io.gatewaycsi.common.LogLine;
import io.gatewaycsi.controller.GatewaySessions;
import io.gatewaycsi.mounthelper.MountHelperService;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.logging.Logger;
import picocli.CommandLine;
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

    private static final Logger LOG = Logger.getLogger(AllCommand.class.getName());

    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Mixin
    ControllerOptions controller;

    @Mixin
    NodeOptions node;

    @Option(names = "--node-id", paramLabel = "ID", defaultValue = "${env:NODE_ID:-local}",
            description = "This node's ID as reported by NodeGetInfo (default: $NODE_ID, else local).")
    String nodeId;

    @Option(names = "--gateway", paramLabel = "SERVER:/SHARE", defaultValue = "local",
            description = "The gateway whose server and share apply to volumes whose parameters do not name one:"
                    + " server:/share, or `local` (the default) for a real nfs-ganesha started in a network"
                    + " namespace by the repository's test/gateway/up and stopped with the driver.")
    String gateway;

    @Override
    public Integer call() throws Exception {
        common.apply(spec.commandLine());
        Map<String, String> defaults;
        LocalGateway local = null;
        if (gateway.equals("local")) {
            local = LocalGateway.start(Path.of(System.getProperty("gatewaycsi.home", ".")));
            defaults = Map.of("server", local.server(), "share", local.share());
            LOG.info(LogLine.event("local-gateway").with("server", local.server()).with("share", local.share())
                    .with("export_dir", local.exportDir()).toString());
        } else {
            defaults = parseGateway(gateway);
        }
        Observability observability;
        try {
            observability = common.observability("gateway-csi", nodeId);
        } catch (java.io.IOException | RuntimeException e) {
            if (local != null) {
                local.close();
            }
            throw e;
        }
        GatewaySessions sessions = controller.sessions();
        NodeOptions.Built built = node.build(nodeId, common.allowedMountOptions(), observability);
        IdentityService identity = new IdentityService(common.driverName, DriverVersion.get(), true, () -> true);
        LocalGateway started = local;
        MountHelperService helper = MountHelperOptions.service(observability.registry);
        return Serving.serve(List.of(
                new Serving.Listener(node.mountHelperEndpoint, List.of(helper)),
                new Serving.Listener(common.endpoint, List.of(identity,
                        controller.service(sessions, common.allowedMountOptions(), defaults, observability.events, null),
                        built.service()))),
                observability.rpcMetrics,
                () -> {
                    built.close();
                    helper.close();
                    sessions.close();
                    observability.close();
                    if (started != null) {
                        started.close();
                    }
                });
    }

    private Map<String, String> parseGateway(String value) {
        int split = value.indexOf(":/");
        if (split <= 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--gateway `" + value
                    + "` is invalid: use server:/share (e.g. gateway-us-east-1.trainingpipes.com:/my-bucket) or local");
        }
        String server = value.substring(0, split).replaceAll("^\\[|]$", "");
        return Map.of("server", server, "share", value.substring(split + 1));
    }
}
