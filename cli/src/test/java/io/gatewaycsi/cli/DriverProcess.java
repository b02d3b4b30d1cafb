package io.gatewaycsi.cli;

import io.gatewaycsi.common.CsiChannels;
import io.gatewaycsi.common.Endpoint;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real {@code gateway-csi} process for integration tests, started from the packaged jar
 * ({@code cli/target/gateway-csi.jar} with {@code target/lib}) on the JDK running the tests, optionally
 * under another user with no capabilities (setpriv from util-linux). Closing it sends SIGTERM and waits.
 */
final class DriverProcess implements AutoCloseable {

    private final Process process;
    private final Path log;
    private final Endpoint endpoint;

    private DriverProcess(Process process, Path log, Endpoint endpoint) {
        this.process = process;
        this.log = log;
        this.endpoint = endpoint;
    }

    /**
     * Starts {@code gateway-csi <args>} and waits up to 30 s for it to accept connections on {@code socket}.
     *
     * @param asUser a uid to run as with every capability dropped, or -1 to run as this user
     */
    static DriverProcess start(Path socket, Path log, int asUser, String... args) throws IOException, InterruptedException {
        return start(socket, log, asUser, java.util.Map.of(), args);
    }

    /** As above, with {@code env} added to the process's environment. */
    static DriverProcess start(Path socket, Path log, int asUser, java.util.Map<String, String> env, String... args)
            throws IOException, InterruptedException {
        Path cli = Path.of(System.getProperty("gatewaycsi.repo"), "cli", "target");
        List<String> command = new ArrayList<>();
        if (asUser >= 0) {
            command.addAll(List.of("setpriv", "--reuid=" + asUser, "--regid=" + asUser, "--clear-groups",
                    "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"));
        }
        command.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC", "-Xmx96m",
                "-Djava.io.tmpdir=" + socket.getParent(), "-jar", cli.resolve("gateway-csi.jar").toString()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().putAll(env);
        Process process = builder.start();
        // A JVM start takes seconds on an idle machine and can take a minute when both cores are busy elsewhere.
        Instant deadline = Instant.now().plus(Duration.ofSeconds(120));
        while (!accepts(socket)) {
            if (!process.isAlive() || Instant.now().isAfter(deadline)) {
                process.destroyForcibly();
                throw new IOException("gateway-csi did not open " + socket + ": " + Files.readString(log));
            }
            Thread.sleep(50);
        }
        return new DriverProcess(process, log, Endpoint.parse("unix://" + socket));
    }

    /** Whether a server accepts connections on {@code socket} (a stale file left by a killed one does not). */
    private static boolean accepts(Path socket) {
        try (java.nio.channels.SocketChannel channel =
                     java.nio.channels.SocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            channel.connect(java.net.UnixDomainSocketAddress.of(socket));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** A channel to the process's socket; the caller closes it. */
    ManagedChannel channel() {
        return CsiChannels.open(endpoint);
    }

    /** The process ID. */
    long pid() {
        return process.pid();
    }

    /** What the process has logged so far. */
    String log() throws IOException {
        return Files.readString(log);
    }

    /** A line of /proc/PID/status, e.g. {@code CapEff} or {@code Uid}, without its key. */
    String status(String key) throws IOException {
        return Files.readAllLines(Path.of("/proc", Long.toString(process.pid()), "status")).stream()
                .filter(line -> line.startsWith(key + ":")).findFirst().orElseThrow()
                .substring(key.length() + 1).strip();
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(15, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }
}
