package io.gatewaycsi.charts;

import static org.assertj.core.api.Assertions.assertThat;

import io.gatewaycsi.common.CsiChannels;
import io.gatewaycsi.common.Endpoint;
import io.gatewaycsi.csi.v1.GetPluginInfoRequest;
import io.gatewaycsi.csi.v1.GetPluginInfoResponse;
import io.gatewaycsi.csi.v1.IdentityGrpc;
import io.gatewaycsi.csi.v1.ProbeRequest;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The distribution the image ships (cli/target/dist): a trimmed runtime that still runs the driver. The
 * controller and the node plugin start on it and serve CSI Identity over a unix socket (grpc-netty's epoll
 * transport, FFM), which is what csi-sanity's Identity tests check.
 */
class DistRuntimeTest {

    @TempDir
    Path dir;

    @Test
    void theRuntimeIsATrimmedJava25() throws IOException {
        Path runtime = Repo.dist().resolve("runtime");
        String release = Files.readString(runtime.resolve("release"));
        assertThat(release).contains("JAVA_VERSION=\"25");
        String modulesLine = release.lines().filter(l -> l.startsWith("MODULES=")).findFirst().orElseThrow();
        Set<String> modules = new TreeSet<>(Arrays.asList(modulesLine.substring("MODULES=\"".length(),
                modulesLine.length() - 1).split(" ")));
        assertThat(modules).contains("java.base", "java.logging", "jdk.unsupported")
                .doesNotContain("jdk.compiler", "jdk.jlink", "java.compiler", "jdk.jdeps", "java.desktop");
        assertThat(runtime.resolve("bin/javac")).doesNotExist();
        assertThat(Repo.dist().resolve("lib/gateway-csi.jar")).isRegularFile();
        // Every module any jar of the class path needs, ServiceLoader-loaded ones included; snakeyaml's JavaBean
        // introspection (java.desktop) aside (cli/pom.xml, theRuntimeReadsAKubeconfigWithoutJavaDesktop).
        assertThat(modules).containsAll(jdepsModules());
    }

    /**
     * fabric8 reads kubeconfig YAML through jackson-dataformat-yaml and snakeyaml, whose JavaBean introspection
     * alone needs java.desktop, which the runtime leaves out: reading a kubeconfig on it still works.
     */
    @Test
    void theRuntimeReadsAKubeconfigWithoutJavaDesktop() throws Exception {
        Path kubeconfig = dir.resolve("kubeconfig");
        Files.writeString(kubeconfig, """
                apiVersion: v1
                kind: Config
                clusters:
                - name: c
                  cluster: {server: "https://10.0.0.1:6443"}
                users:
                - name: u
                  user: {token: t}
                contexts:
                - name: x
                  context: {cluster: c, user: u, namespace: ns}
                current-context: x
                """);
        String classPath = Repo.dist().resolve("lib") + "/*" + java.io.File.pathSeparator
                + Path.of(KubeconfigProbe.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Process probe = new ProcessBuilder(Repo.dist().resolve("runtime/bin/java").toString(), "-cp", classPath,
                KubeconfigProbe.class.getName(), kubeconfig.toString()).redirectErrorStream(true).start();
        String out = new String(probe.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(probe.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(probe.exitValue()).as(out).isZero();
        assertThat(out).contains("https://10.0.0.1:6443/ ns");
    }

    /** What jdeps (of the JDK running the tests) says the dist's jars need, java.desktop aside (cli/pom.xml). */
    private static Set<String> jdepsModules() throws IOException {
        Path jdeps = Path.of(System.getProperty("java.home"), "bin", "jdeps");
        assertThat(jdeps).as("tests run on a JDK").isExecutable();
        List<String> command = new java.util.ArrayList<>(List.of(jdeps.toString(), "--print-module-deps",
                "--ignore-missing-deps", "--multi-release", "25"));
        try (var jars = Files.list(Repo.dist().resolve("lib"))) {
            jars.filter(p -> p.toString().endsWith(".jar")).sorted().forEach(p -> command.add(p.toString()));
        }
        Process process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        try {
            assertThat(process.waitFor(120, TimeUnit.SECONDS)).isTrue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
        assertThat(process.exitValue()).as(out).isZero();
        Set<String> modules = new TreeSet<>(Arrays.asList(out.split(",")));
        modules.remove("java.desktop");
        return modules;
    }

    /**
     * The runtime carries the default CDS archive for the launcher's flags (jlink makes none): with
     * {@code -Xshare:on} the JVM refuses to start unless it can map the archive, so this fails without it.
     */
    @Test
    void theLaunchersJvmMapsTheJdkClassesFromTheRuntimesCdsArchive() throws Exception {
        assertThat(Repo.dist().resolve("runtime/lib/server/classes_coh.jsa")).isRegularFile();
        ProcessBuilder builder = new ProcessBuilder(Repo.dist().resolve("bin/gateway-csi").toString(), "--version")
                .redirectErrorStream(true);
        builder.environment().put("GATEWAY_CSI_JAVA_OPTS", "-Xshare:on");
        Process version = builder.start();
        String out = new String(version.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(version.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(version.exitValue()).as(out).isZero();
    }

    @Test
    void theLauncherRunsEveryRolesHelpAndTheVersion() throws Exception {
        for (String role : List.of("controller", "node", "mount-helper", "all")) {
            assertThat(DriverHelp.help(role)).contains("Usage: gateway-csi " + role);
        }
        Process version = new ProcessBuilder(Repo.dist().resolve("bin/gateway-csi").toString(), "--version")
                .redirectErrorStream(true).start();
        String out = new String(version.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(version.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(version.exitValue()).as(out).isZero();
        assertThat(out).startsWith("gateway-csi ");
    }

    @Test
    void theControllerServesIdentityOnTheTrimmedRuntime() throws Exception {
        servesIdentity("controller", List.of());
    }

    @Test
    void theNodePluginServesIdentityOnTheTrimmedRuntime() throws Exception {
        servesIdentity("node", nodeFlags(), "");
    }

    /**
     * The build trains one AOT cache for every role (train-aot) and the launcher maps it: with
     * {@code -XX:AOTMode=on} the JVM refuses to start unless it can use the cache, so this fails without one or
     * with one that does not fit the launcher's runtime, jars and flags.
     */
    @Test
    void everyRoleStartsFromTheAotCache() throws Exception {
        try (var caches = Files.list(Repo.dist().resolve("lib/aot"))) {
            assertThat(caches.map(p -> p.getFileName().toString()).toList()).containsExactly("gateway-csi.aot");
        }
        for (String role : List.of("node", "mount-helper", "controller", "all")) {
            ProcessBuilder builder = new ProcessBuilder(Repo.dist().resolve("bin/gateway-csi").toString(), role,
                    "--help").redirectErrorStream(true);
            builder.environment().put("GATEWAY_CSI_JAVA_OPTS", "-XX:AOTMode=on");
            Process help = builder.start();
            String out = new String(help.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(help.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(help.exitValue()).as(out).isZero();
        }
        servesIdentity("node", nodeFlags(), "-XX:AOTMode=on");
        servesIdentity("controller", List.of(), "-XX:AOTMode=on");
    }

    /** Netty's allocator events are off (GatewayCsi.NETTY_JFR_PROPERTY): serving a call loads no JFR class. */
    @Test
    void theNodePluginLoadsNoJfrClassesToServeACall() throws Exception {
        Path classes = dir.resolve("classes.log");
        servesIdentity("node", nodeFlags(), "-Xlog:class+load=info:file=" + classes);
        List<String> loaded = Files.readAllLines(classes);
        assertThat(loaded).anyMatch(line -> line.contains("io.gatewaycsi.csi.v1.ProbeResponse "));
        assertThat(loaded).noneMatch(line -> line.contains(" jdk.jfr.Event ") || line.contains("jrt:/jdk.jfr"));
    }

    private List<String> nodeFlags() {
        return List.of("--node-id=dist-test-node", "--state-dir=" + dir.resolve("state"),
                "--mount-helper-endpoint=unix://" + dir.resolve("helper.sock"));
    }

    private void servesIdentity(String role, List<String> extra) throws Exception {
        servesIdentity(role, extra, "");
    }

    private void servesIdentity(String role, List<String> extra, String javaOpts) throws Exception {
        Path socket = dir.resolve(role + ".sock");
        Path log = dir.resolve(role + ".log");
        Files.deleteIfExists(socket);
        String driverName = "dist-test.gateway-csi.io";
        List<String> command = new java.util.ArrayList<>(List.of(Repo.dist().resolve("bin/gateway-csi").toString(),
                role, "--endpoint=unix://" + socket, "--driver-name=" + driverName));
        command.addAll(extra);
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().put("GATEWAY_CSI_JAVA_OPTS", javaOpts);
        Process process = builder.start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!Files.exists(socket)) {
                assertThat(process.isAlive()).as("%s exited early:\n%s", role, Files.readString(log)).isTrue();
                assertThat(System.nanoTime()).as("no socket after 30 s:\n%s", Files.readString(log)).isLessThan(deadline);
                Thread.sleep(100);
            }
            ManagedChannel channel = CsiChannels.open(Endpoint.parse("unix://" + socket));
            try {
                IdentityGrpc.IdentityBlockingStub identity = IdentityGrpc.newBlockingStub(channel)
                        .withDeadlineAfter(20, TimeUnit.SECONDS);
                GetPluginInfoResponse info = identity.getPluginInfo(GetPluginInfoRequest.getDefaultInstance());
                assertThat(info.getName()).isEqualTo(driverName);
                assertThat(identity.probe(ProbeRequest.getDefaultInstance()).getReady().getValue()).isTrue();
            } finally {
                CsiChannels.close(channel);
            }
        } finally {
            process.destroy();
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
        // The JVM ends with 128 + SIGTERM after its shutdown hooks (Serving's graceful stop) have run.
        assertThat(process.exitValue()).as("shutdown on SIGTERM:\n%s", Files.readString(log)).isIn(0, 143);
    }
}
