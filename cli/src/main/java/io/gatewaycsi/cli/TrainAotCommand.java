package io.gatewaycsi.cli;

import io.gatewaycsi.common.CsiChannels;
import io.gatewaycsi.common.Endpoint;
import io.gatewaycsi.csi.v1.ControllerGetCapabilitiesRequest;
import io.gatewaycsi.csi.v1.ControllerGrpc;
import io.gatewaycsi.csi.v1.GetPluginCapabilitiesRequest;
import io.gatewaycsi.csi.v1.GetPluginInfoRequest;
import io.gatewaycsi.csi.v1.IdentityGrpc;
import io.gatewaycsi.csi.v1.NodeGetCapabilitiesRequest;
import io.gatewaycsi.csi.v1.NodeGetInfoRequest;
import io.gatewaycsi.csi.v1.NodeGrpc;
import io.gatewaycsi.csi.v1.ProbeRequest;
import io.gatewaycsi.mounthelper.v1.HealthRequest;
import io.gatewaycsi.mounthelper.v1.MountHelperGrpc;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code gateway-csi train-aot}: makes the ahead-of-time caches (JDK 25, JEP 483 and 514) that the
 * distribution's launcher maps at start-up, one per role: {@code DIST/lib/aot/<role>.aot}. Each role is
 * started once through {@code DIST/bin/gateway-csi} with {@code GATEWAY_CSI_AOT_OUTPUT} set (the launcher
 * turns it into {@code -XX:AOTCacheOutput}), asked what the kubelet and the CSI sidecars ask first (Identity
 * Probe and GetPluginInfo, then the role's capabilities), and stopped with SIGTERM; the JVM writes the cache as
 * it exits. A cache serves only the runtime and class path it was made with, so this runs where the
 * distribution runs (the image's last build step). Exit codes: 0 when every cache was written, 1 otherwise,
 * 2 for a usage error.
 */
@Command(name = "train-aot", mixinStandardHelpOptions = true,
        description = "Make the AOT caches (JEP 483/514) the distribution's launcher maps at start-up (node plugin"
                + " ready in about half the time): starts each role once, asks it what the kubelet asks first,"
                + " stops it. Run it where the distribution runs: a cache only serves its own runtime and jars.")
final class TrainAotCommand implements Callable<Integer> {

    /** The roles with a cache, in training order. */
    static final List<String> ROLES = List.of("node", "mount-helper", "controller");

    @Spec
    CommandSpec spec;

    @Option(names = "--dist", paramLabel = "DIR", defaultValue = "${sys:gatewaycsi.dist}",
            description = "The distribution (bin/gateway-csi, lib/, runtime/); set by its launcher.")
    Path dist;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "120",
            description = "How long one role may take to answer ready and to write its cache (default: 120).")
    int timeoutSeconds;

    @Parameters(paramLabel = "ROLE", arity = "0..*",
            description = "Roles to train (default: node mount-helper controller).")
    List<String> roles = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        if (dist == null || !Files.isExecutable(dist.resolve("bin/gateway-csi"))) {
            throw new CommandLine.ParameterException(spec.commandLine(), "no distribution launcher at "
                    + (dist == null ? "(unset)" : dist.resolve("bin/gateway-csi"))
                    + "; run `train-aot` through the distribution's bin/gateway-csi or pass --dist");
        }
        if (timeoutSeconds < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--timeout must be at least 1 second, got " + timeoutSeconds);
        }
        List<String> chosen = roles.isEmpty() ? ROLES : roles;
        for (String role : chosen) {
            if (!ROLES.contains(role)) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                        "unknown role `" + role + "`; caches are made for " + String.join(", ", ROLES));
            }
        }
        Path caches = Files.createDirectories(dist.resolve("lib/aot"));
        PrintWriter out = spec.commandLine().getOut();
        for (String role : chosen) {
            Path cache = caches.resolve(role + ".aot");
            train(role, cache);
            out.printf("%s: %s (%.1f MiB)%n", role, cache, Files.size(cache) / 1048576.0);
        }
        return 0;
    }

    /** One training run of {@code role}; the new cache replaces {@code cache} only once it is complete. */
    private void train(String role, Path cache) throws IOException, InterruptedException {
        Path work = Files.createTempDirectory("gateway-csi-aot-");
        try {
            Path socket = work.resolve(role + ".sock");
            Path partial = cache.resolveSibling(role + ".aot.part");
            Files.deleteIfExists(partial);
            List<String> command = new ArrayList<>(List.of(dist.resolve("bin/gateway-csi").toString(), role,
                    "--endpoint=unix://" + socket));
            if (role.equals("node")) {
                command.addAll(List.of("--node-id=aot-training", "--state-dir=" + work.resolve("state"),
                        "--mount-helper-endpoint=unix://" + work.resolve("no-helper.sock")));
            } else if (role.equals("mount-helper")) {
                // Training does not depend on what capabilities the build (an image build, say) runs with: the
                // classes of dropping them still load from the jars at run time.
                command.add("--keep-capabilities");
            }
            Path log = work.resolve(role + ".log");
            ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
            builder.environment().put("GATEWAY_CSI_AOT_OUTPUT", partial.toString());
            builder.environment().remove("GATEWAY_CSI_JAVA_OPTS");
            Process process = builder.start();
            try {
                exercise(role, socket, process, log);
            } finally {
                process.destroy();
                if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor();
                    throw new IOException(role + " did not stop within " + timeoutSeconds + " s of SIGTERM; log:\n"
                            + tail(log));
                }
            }
            // 143: the JVM ended on SIGTERM after its shutdown hooks, the cache written on the way out.
            if (!Files.isRegularFile(partial) || (process.exitValue() != 0 && process.exitValue() != 143)) {
                throw new IOException(role + " wrote no AOT cache (exit " + process.exitValue() + "); log:\n"
                        + tail(log));
            }
            Files.move(partial, cache, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            deleteTree(work);
        }
    }

    /**
     * Waits until {@code role} answers, then makes the calls a cluster makes first: a CSI role must say ready to
     * its Probe; the mount helper need only answer Health (ready or not: training needs no FUSE).
     */
    private void exercise(String role, Path socket, Process process, Path log)
            throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        while (true) {
            if (!process.isAlive()) {
                throw new IOException(role + " exited (" + process.exitValue() + ") before answering ready; log:\n"
                        + tail(log));
            }
            if (System.nanoTime() > deadline) {
                throw new IOException(role + " did not answer ready within " + timeoutSeconds + " s; log:\n" + tail(log));
            }
            if (Files.exists(socket) && answered(role, socket)) {
                return;
            }
            Thread.sleep(20);
        }
    }

    private static boolean answered(String role, Path socket) {
        ManagedChannel channel = CsiChannels.open(Endpoint.parse("unix://" + socket));
        try {
            if (role.equals("mount-helper")) {
                // Any answer will do: Health says not ready where FUSE is missing (an image build has no
                // /dev/fuse), and the classes of serving it are what the cache keeps.
                MountHelperGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
                        .health(HealthRequest.getDefaultInstance());
                return true;
            }
            IdentityGrpc.IdentityBlockingStub identity = IdentityGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(5, TimeUnit.SECONDS);
            if (!identity.probe(ProbeRequest.getDefaultInstance()).getReady().getValue()) {
                return false;
            }
            identity.getPluginInfo(GetPluginInfoRequest.getDefaultInstance());
            identity.getPluginCapabilities(GetPluginCapabilitiesRequest.getDefaultInstance());
            if (role.equals("node")) {
                NodeGrpc.NodeBlockingStub node = NodeGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS);
                node.nodeGetInfo(NodeGetInfoRequest.getDefaultInstance());
                node.nodeGetCapabilities(NodeGetCapabilitiesRequest.getDefaultInstance());
            } else {
                ControllerGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
                        .controllerGetCapabilities(ControllerGetCapabilitiesRequest.getDefaultInstance());
            }
            return true;
        } catch (StatusRuntimeException notYet) {
            return false;
        } finally {
            CsiChannels.close(channel);
        }
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        } catch (IOException e) {
            return "(log unreadable: " + e.getMessage() + ")";
        }
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(path -> {
                try {
                    Files.deleteIfExists(path);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }
}
