package io.gatewaycsi.cli;

import io.gatewaycsi.common.DriverVersion;
import io.gatewaycsi.common.HealthServer;
import io.gatewaycsi.common.IdentityService;
import io.gatewaycsi.controller.GatewaySessions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code gateway-csi controller}: the controller plugin (one Deployment per cluster, unprivileged). */
@Command(name = "controller", mixinStandardHelpOptions = true,
        description = "Serve the CSI Identity and Controller services: provisioning on the gateway through a"
                + " user-space NFS client, without mounts or privileges.")
final class ControllerCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    CommonOptions common;

    @Mixin
    ControllerOptions controller;

    @Override
    public Integer call() throws Exception {
        common.apply(spec.commandLine());
        Observability observability = common.observability("gateway-csi-controller", Hosts.podOrHostName());
        GatewaySessions sessions = controller.sessions();
        IdentityService identity = new IdentityService(common.driverName, DriverVersion.get(), true, () -> true);
        HealthServer health = common.health();
        return Serving.serve(List.of(new Serving.Listener(common.endpoint,
                List.of(identity, controller.service(sessions, common.allowedMountOptions(), Map.of(),
                        observability.events, observability.registry)))), observability.rpcMetrics, () -> {
                            if (health != null) {
                                health.close();
                            }
                            sessions.close();
                            observability.close();
                        });
    }
}
