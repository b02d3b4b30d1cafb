package io.gatewaycsi.cli;

import io.gatewaycsi.common.events.EventRecorder;
import io.gatewaycsi.controller.ControllerService;
import io.gatewaycsi.controller.GatewaySessions;
import io.gatewaycsi.nfs.NfsClient;
import io.gatewaycsi.nfs.NfsSessionOptions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.Option;

/** Flags of the controller role (also part of {@code all}). */
final class ControllerOptions {

    /** As many NFS contexts per share as the server has RPC threads (CsiServer's pool). */
    private static final int RPC_THREADS = 64;

    @Option(names = "--nfs-timeout", paramLabel = "SECONDS", defaultValue = "30",
            description = "Deadline of each NFS call the controller makes to a gateway, in seconds"
                    + " (default: ${DEFAULT-VALUE}).")
    int nfsTimeoutSeconds;

    @Option(names = "--nfs-uid", paramLabel = "UID", defaultValue = "0",
            description = "User id the controller presents to gateways in AUTH_SYS credentials; the process"
                    + " itself stays unprivileged (default: ${DEFAULT-VALUE}).")
    int nfsUid;

    @Option(names = "--nfs-gid", paramLabel = "GID", defaultValue = "0",
            description = "Group id presented likewise (default: ${DEFAULT-VALUE}).")
    int nfsGid;


    @Option(names = "--gateways", paramLabel = "HOST[,HOST...]", split = ",",
            description = "The gateways (servers, as StorageClasses name them) this controller serves. Volume and"
                    + " snapshot IDs naming any other server name nothing and are never dialed; CreateVolume refuses"
                    + " other servers. Default: any server but the controller's own host (localhost, loopback,"
                    + " link-local addresses).")
    List<String> gateways = List.of();

    /** The gateway sessions these flags describe. */
    GatewaySessions sessions() {
        return new GatewaySessions(NfsClient.libnfs(), NfsSessionOptions.defaults()
                .withTimeout(Duration.ofSeconds(nfsTimeoutSeconds)).withCredentials(nfsUid, nfsGid)
                // Up to one context per RPC thread, opened as concurrent calls need them: no RPC waits for
                // another's gateway round trips.
                .withMaxContexts(RPC_THREADS), Set.copyOf(gateways));
    }

    /** The Controller service over {@code sessions}, with {@code defaults} for missing parameters. */
    ControllerService service(GatewaySessions sessions, Set<String> allowedMountOptions, Map<String, String> defaults,
                              EventRecorder events) {
        return new ControllerService(sessions, allowedMountOptions, defaults, events);
    }
}
