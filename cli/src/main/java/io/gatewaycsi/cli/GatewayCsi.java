package io.gatewaycsi.cli;

import io.gatewaycsi.common.DriverVersion;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * The {@code gateway-csi} command: one binary for every role of the driver. Exit codes: 0 after a clean
 * shutdown, 1 when the role could not start or failed, 2 for a usage error. Errors are one line on standard
 * error, never a stack trace.
 */
@Command(name = "gateway-csi",
        mixinStandardHelpOptions = true,
        versionProvider = GatewayCsi.Version.class,
        description = "CSI driver that mounts an NFS gateway into Kubernetes pods.",
        subcommands = {ControllerCommand.class, NodeCommand.class, MountHelperCommand.class, AllCommand.class,
            ParametersCommand.class, LifecycleCommand.class, DoctorCommand.class, TrainAotCommand.class})
public final class GatewayCsi implements Runnable {

    @Spec
    CommandSpec spec;

    /**
     * Netty's pooled allocator reports chunk allocations as JFR events unless told not to; the first gRPC call
     * then loads about 100 JFR classes (1.5 MiB of an idle node plugin's RSS, bench/RESULTS.md, benchmark 5)
     * for events nobody records. An operator's own {@code -D} setting wins.
     */
    static final String NETTY_JFR_PROPERTY = "io.netty.jfr.enabled";

    /** Runs the command line and exits with its code. */
    public static void main(String[] args) {
        quietLibraries();
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Library settings made before any of them loads; see {@link #NETTY_JFR_PROPERTY}. */
    static void quietLibraries() {
        if (System.getProperty(NETTY_JFR_PROPERTY) == null) {
            System.setProperty(NETTY_JFR_PROPERTY, "false");
        }
    }

    /** Runs the command line with the given output streams and returns the exit code. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine commandLine = new CommandLine(new GatewayCsi());
        commandLine.setOut(out);
        commandLine.setErr(err);
        commandLine.setParameterExceptionHandler((e, ignored) -> {
            String command = e.getCommandLine().getCommandSpec().qualifiedName();
            err.println(command + ": error: " + e.getMessage() + " (see `" + command + " --help`)");
            return 2;
        });
        commandLine.setExecutionExceptionHandler((e, command, ignored) -> {
            err.println(command.getCommandSpec().qualifiedName() + ": error: " + message(e));
            return 1;
        });
        return commandLine.execute(args);
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getErr());
    }

    private static String message(Throwable e) {
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    /** Reports the project version. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"gateway-csi " + DriverVersion.get()};
        }
    }
}
