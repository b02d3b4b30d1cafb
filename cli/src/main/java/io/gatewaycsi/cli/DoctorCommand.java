package io.gatewaycsi.cli;

import io.gatewaycsi.common.Endpoint;
import io.gatewaycsi.nfs.NfsClient;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.logging.Level;
import java.util.logging.Logger;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code gateway-csi doctor}: checks on a node (or in the node plugin's pod) everything a mount of one gateway
 * share needs, prints one line per check with its fix, and a final verdict: which backend a mount would use.
 * Exit code 0 only when a mount would work, 1 when it would not, 2 for a usage error.
 */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = "Check whether this node can mount a gateway share: kernel NFS, mount.nfs, privileges,"
                + " /dev/fuse, the mount helper, the gateway over NFS and the mount options; where the kernel"
                + " mounts, what a new mount would share with the node's NFS mounts (timeo, retrans, nconnect) and"
                + " when soft I/O fails; prints each check with its fix ([warn]: works, but heed the fix) and which"
                + " backend a mount would use. Exits 0 only when a mount would work.")
final class DoctorCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--gateway", paramLabel = "SERVER:/SHARE", required = true,
            description = "The gateway share to check, e.g. gateway-us-east-1.trainingpipes.com:/my-bucket.")
    String gateway;

    @Option(names = "--mount-option", paramLabel = "OPTION", split = ",",
            description = "An nfs(5) mount option as the StorageClass would give it (repeatable, or comma-separated),"
                    + " e.g. --mount-option nconnect=8 --mount-option soft,timeo=100.")
    List<String> mountOptions = new ArrayList<>();

    @Option(names = "--nfs-version", paramLabel = "VERSION", defaultValue = "4.1",
            description = "The nfsVersion parameter: 3, 4, 4.0, 4.1 or 4.2 (default: ${DEFAULT-VALUE}).")
    String nfsVersion;

    @Option(names = "--mount-backend", paramLabel = "auto|kernel|sidecar", defaultValue = "auto",
            description = "The mountBackend parameter to judge by (default: ${DEFAULT-VALUE}).")
    String mountBackend;

    @Option(names = "--mount-helper-endpoint", paramLabel = "URL", converter = CommonOptions.EndpointConverter.class,
            defaultValue = MountHelperOptions.DEFAULT_ENDPOINT,
            description = "The mount helper's socket (default: ${DEFAULT-VALUE}).")
    Endpoint mountHelperEndpoint;

    @Option(names = "--allowed-mount-options", paramLabel = "NAME", split = ",",
            description = "Mount option names the node plugin is told to accept beyond nfs(5)'s (as its flag).")
    List<String> allowedMountOptions = new ArrayList<>();

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "10",
            description = "Deadline of the gateway check, in seconds (default: ${DEFAULT-VALUE}).")
    int timeoutSeconds;

    @Option(names = "--state-dir", paramLabel = "DIR", defaultValue = "/var/lib/gateway-csi/node",
            description = "The node plugin's state directory: a WireGuard tunnel it recorded to the gateway is checked"
                    + " too (handshake, route, MTU) (default: ${DEFAULT-VALUE}).")
    java.nio.file.Path stateDir;

    @Override
    public Integer call() {
        int split = gateway.indexOf(":/");
        if (split <= 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--gateway `" + gateway
                    + "` is invalid: use server:/share (e.g. gateway-us-east-1.trainingpipes.com:/my-bucket)");
        }
        if (!List.of("auto", "kernel", "sidecar").contains(mountBackend)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--mount-backend `" + mountBackend
                    + "` is invalid; choose auto, kernel or sidecar");
        }
        if (timeoutSeconds < 1 || timeoutSeconds > 600) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--timeout must be 1..600 seconds");
        }
        // The checks report failures themselves; library chatter would only interleave with the report.
        Logger.getLogger("").setLevel(Level.SEVERE);
        String server = gateway.substring(0, split).replaceAll("^\\[|]$", "");
        String share = gateway.substring(split + 1);
        Doctor.Request request = new Doctor.Request(server, share, nfsVersion, mountOptions,
                new LinkedHashSet<>(allowedMountOptions), mountBackend, mountHelperEndpoint,
                Duration.ofSeconds(timeoutSeconds));
        PrintWriter out = spec.commandLine().getOut();
        out.println("gateway-csi doctor: can this node mount " + gateway + " (nfsVersion " + nfsVersion
                + ", mountBackend " + mountBackend + ")?");
        out.println();
        Doctor.Report report = new Doctor(Doctor.Host.real(), NfsClient.libnfs()).run(request);
        List<Doctor.Check> checks = new ArrayList<>(TunnelDoctor.check(stateDir, server));
        boolean tunnelOk = checks.stream().allMatch(Doctor.Check::ok);
        checks.addAll(report.checks());
        for (Doctor.Check check : checks) {
            out.printf("%s %-17s %s%n", check.warning() ? "[warn]" : check.ok() ? "[ ok ]" : "[FAIL]", check.name(),
                    check.detail());
            if (!check.fix().isEmpty()) {
                out.printf("       %-17s %s%n", "fix:", check.fix());
            }
        }
        out.println();
        out.println("verdict: " + report.verdict() + (tunnelOk ? "" : "; but the WireGuard tunnel to it fails (above)"));
        out.flush();
        return report.mountable() && tunnelOk ? 0 : 1;
    }
}
