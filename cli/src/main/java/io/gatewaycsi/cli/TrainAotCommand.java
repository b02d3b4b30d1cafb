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
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code gateway-csi train-aot}: makes the ahead-of-time cache (JDK 25, JEP 483 and 514) that the
 * distribution's launcher maps at start-up for every role: {@code DIST/lib/aot/gateway-csi.aot}. One JVM serves
 * every role ({@code gateway-csi all}, started through {@code DIST/bin/gateway-csi} with
 * {@code GATEWAY_CSI_AOT_OUTPUT} set, which the launcher turns into {@code -XX:AOTCacheOutput}), is asked what the
 * kubelet and the CSI sidecars ask first (Identity Probe and GetPluginInfo, then the node's and the controller's
 * capabilities, and the mount helper's Health), and is stopped with SIGTERM; the JVM writes the cache as it exits.
 * One cache for all roles: each role starts about as fast from it as from a cache of its own, and the image
 * carries one copy of the JDK's classes instead of three (README, "The container image"). A cache serves only the
 * runtime and class path it was made with, so this runs where the distribution runs (the image's last build
 * step). Needs no FUSE and no gateway. Exit codes: 0 when the cache was written, 1 otherwise, 2 for a usage error.
 */
@Command(name = "train-aot", mixinStandardHelpOptions = true,
        description = "Make the AOT cache (JEP 483/514) the distribution's launcher maps at start-up for every role"
                + " (node plugin ready in about half the time): starts the roles once in one process, asks them what"
                + " the kubelet asks first, stops it. Run it where the distribution runs: a cache only serves its"
                + " own runtime and jars.")
final class TrainAotCommand implements Callable<Integer> {

    /** The cache, relative to the distribution. */
    static final String CACHE = "lib/aot/gateway-csi.aot";

    @Spec
    CommandSpec spec;

    @Option(names = "--dist", paramLabel = "DIR", defaultValue = "${sys:gatewaycsi.dist}",
            description = "The distribution (bin/gateway-csi, lib/, runtime/); set by its launcher.")
    Path dist;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "120",
            description = "How long the roles may take to answer and to write the cache (default: 120).")
    int timeoutSeconds;

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
        Path cache = dist.resolve(CACHE);
        Files.createDirectories(cache.getParent());
        train(cache);
        spec.commandLine().getOut().printf("%s (%.1f MiB)%n", cache, Files.size(cache) / 1048576.0);
        return 0;
    }

    /** One training run; the new cache replaces {@code cache} only once it is complete. */
    private void train(Path cache) throws IOException, InterruptedException {
        Path work = Files.createTempDirectory("gateway-csi-aot-");
        try {
            Path csi = work.resolve("csi.sock");
            Path helper = work.resolve("mount-helper.sock");
            Path partial = cache.resolveSibling(cache.getFileName() + ".part");
            Files.deleteIfExists(partial);
            // A gateway that is never contacted (no volume is asked for): `all` would otherwise start a local one.
            List<String> command = List.of(dist.resolve("bin/gateway-csi").toString(), "all",
                    "--endpoint=unix://" + csi, "--mount-helper-endpoint=unix://" + helper,
                    "--gateway=192.0.2.1:/aot-training", "--node-id=aot-training", "--events=off",
                    "--state-dir=" + work.resolve("state"));
            Path log = work.resolve("all.log");
            ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
            builder.environment().put("GATEWAY_CSI_AOT_OUTPUT", partial.toString());
            builder.environment().remove("GATEWAY_CSI_JAVA_OPTS");
            Process process = builder.start();
            try {
                exercise(csi, helper, process, log);
            } finally {
                process.destroy();
                if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor();
                    throw new IOException("the roles did not stop within " + timeoutSeconds + " s of SIGTERM; log:\n"
                            + tail(log));
                }
            }
            // 143: the JVM ended on SIGTERM after its shutdown hooks, the cache written on the way out.
            if (!Files.isRegularFile(partial) || (process.exitValue() != 0 && process.exitValue() != 143)) {
                throw new IOException("no AOT cache was written (exit " + process.exitValue() + "); log:\n" + tail(log));
            }
            Files.move(partial, cache, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            deleteTree(work);
        }
    }

    /**
     * Waits until both sockets answer, then makes the calls a cluster makes first: the CSI services must say
     * ready to Probe; the mount helper need only answer Health (ready or not: training needs no FUSE, and an
     * image build has no /dev/fuse).
     */
    private void exercise(Path csi, Path helper, Process process, Path log) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        while (true) {
            if (!process.isAlive()) {
                throw new IOException("the roles exited (" + process.exitValue() + ") before answering; log:\n"
                        + tail(log));
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("the roles did not answer within " + timeoutSeconds + " s; log:\n" + tail(log));
            }
            if (Files.exists(csi) && Files.exists(helper) && answered(csi, helper)) {
                return;
            }
            Thread.sleep(20);
        }
    }

    private static boolean answered(Path csi, Path helper) {
        ManagedChannel csiChannel = CsiChannels.open(Endpoint.parse("unix://" + csi));
        ManagedChannel helperChannel = CsiChannels.open(Endpoint.parse("unix://" + helper));
        try {
            IdentityGrpc.IdentityBlockingStub identity = IdentityGrpc.newBlockingStub(csiChannel)
                    .withDeadlineAfter(5, TimeUnit.SECONDS);
            if (!identity.probe(ProbeRequest.getDefaultInstance()).getReady().getValue()) {
                return false;
            }
            identity.getPluginInfo(GetPluginInfoRequest.getDefaultInstance());
            identity.getPluginCapabilities(GetPluginCapabilitiesRequest.getDefaultInstance());
            NodeGrpc.NodeBlockingStub node = NodeGrpc.newBlockingStub(csiChannel).withDeadlineAfter(5, TimeUnit.SECONDS);
            node.nodeGetInfo(NodeGetInfoRequest.getDefaultInstance());
            node.nodeGetCapabilities(NodeGetCapabilitiesRequest.getDefaultInstance());
            ControllerGrpc.newBlockingStub(csiChannel).withDeadlineAfter(5, TimeUnit.SECONDS)
                    .controllerGetCapabilities(ControllerGetCapabilitiesRequest.getDefaultInstance());
            MountHelperGrpc.newBlockingStub(helperChannel).withDeadlineAfter(5, TimeUnit.SECONDS)
                    .health(HealthRequest.getDefaultInstance());
            return true;
        } catch (StatusRuntimeException notYet) {
            return false;
        } finally {
            CsiChannels.close(csiChannel);
            CsiChannels.close(helperChannel);
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
