package io.gatewaycsi.nfs.testing;

import io.gatewaycsi.nfs.NfsTarget;
import io.gatewaycsi.nfs.NfsVersion;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * The real test NFS gateway (nfs-ganesha in a network namespace, DESIGN §7) for JUnit 5 tests, shared by
 * every test class in the JVM.
 *
 * <p>Where it comes from: if the environment variables {@code NFS_SERVER}, {@code NFS_SHARE} and
 * {@code NFS_EXPORT_DIR} are set (the top-level test script does: {@code eval "$(test/gateway/up)"}), those;
 * otherwise {@code <repo>/test/gateway/up} is run once per JVM (the repository root comes from the system
 * property {@code gatewaycsi.repo}, which the parent pom's surefire configuration sets) and its
 * {@code KEY=VALUE} output is parsed. This class never tears the shared gateway down: the top-level test
 * script does.
 *
 * <p>Use it as an extension, which starts the gateway before the class's tests and injects it as a
 * parameter:
 *
 * <pre>{@code
 * @ExtendWith(TestGateway.class)
 * class MkdirGatewayTest {
 *     @Test void mkdir(TestGateway gw) throws Exception {
 *         try (NfsSession s = NfsClient.libnfs().connect(gw.target())) { ... gw.exportDir() ... }
 *     }
 * }
 * }</pre>
 *
 * or call {@link #get()}. Tests that disrupt a gateway (restart it, cut its link) must use their own:
 * {@link #startPrivate(String, String)}, closed by the test.
 *
 * <p>Other modules reuse this class through nfs-client's test-jar.
 */
public final class TestGateway implements BeforeAllCallback, ParameterResolver, AutoCloseable {
    /** How long {@code up}, {@code down} and {@code link} may take. */
    private static final Duration SCRIPT_DEADLINE = Duration.ofSeconds(120);

    private static final Object LOCK = new Object();
    private static TestGateway shared;
    private static RuntimeException sharedFailure;

    private final String server;
    private final String share;
    private final Path exportDir;
    private final String name;         // GATEWAY_NAME, or null when the gateway came from the environment
    private final Map<String, String> scriptEnv;
    private final boolean owned;       // started by startPrivate: close() takes it down
    private final Map<String, String> printed; // up's KEY=VALUE lines, when up ran here
    private volatile boolean closed;

    /** For JUnit's {@code @ExtendWith}: the instance only delegates to {@link #get()}. */
    public TestGateway() {
        this(null, null, null, null, Map.of(), false, Map.of());
    }

    private TestGateway(String server, String share, Path exportDir, String name, Map<String, String> scriptEnv,
            boolean owned, Map<String, String> printed) {
        this.server = server;
        this.share = share;
        this.exportDir = exportDir;
        this.name = name;
        this.scriptEnv = scriptEnv;
        this.owned = owned;
        this.printed = printed;
    }

    /**
     * The shared gateway, started on first use.
     *
     * @throws IllegalStateException if it cannot be found or started (the message says why; later calls
     *     fail the same way)
     */
    public static TestGateway get() {
        synchronized (LOCK) {
            if (shared != null) {
                return shared;
            }
            if (sharedFailure != null) {
                throw sharedFailure;
            }
            try {
                shared = locate();
                return shared;
            } catch (RuntimeException e) {
                sharedFailure = e;
                throw e;
            }
        }
    }

    private static TestGateway locate() {
        String server = System.getenv("NFS_SERVER");
        String share = System.getenv("NFS_SHARE");
        String exportDir = System.getenv("NFS_EXPORT_DIR");
        if (notBlank(server) && notBlank(share) && notBlank(exportDir)) {
            return new TestGateway(server, share, Path.of(exportDir), null, Map.of(), false, Map.of());
        }
        Map<String, String> out = runScript("up", Map.of());
        String gatewayName = System.getenv().getOrDefault("GATEWAY_NAME", "gwcsi");
        return fromOutput(out, gatewayName, Map.of(), false);
    }

    /**
     * Starts a private gateway with its own network namespace, for tests that restart it or cut its link.
     * Close it to take it down (its export directory included).
     *
     * @param gatewayName {@code GATEWAY_NAME}: 1–13 of {@code [A-Za-z0-9_-]}, unique on the machine
     * @param subnet {@code GATEWAY_SUBNET}, e.g. {@code "10.213.77.0/30"}; must not overlap any address on
     *     the host
     */
    public static TestGateway startPrivate(String gatewayName, String subnet) {
        return startPrivate(gatewayName, subnet, Map.of());
    }

    /**
     * {@link #startPrivate(String, String)} with further settings of {@code test/gateway/README.md}, e.g.
     * {@code GATEWAY_NFS_V3=1} to serve NFSv3 too.
     */
    public static TestGateway startPrivate(String gatewayName, String subnet, Map<String, String> settings) {
        Map<String, String> env = new LinkedHashMap<>(settings);
        env.put("GATEWAY_NAME", gatewayName);
        env.put("GATEWAY_SUBNET", subnet);
        // Leftovers of a crashed earlier run: up cleans them, but a stale export would leak data in.
        runScript("down", env);
        return fromOutput(runScript("up", env), gatewayName, env, true);
    }

    private static TestGateway fromOutput(Map<String, String> out, String gatewayName, Map<String, String> env,
            boolean owned) {
        String server = out.get("NFS_SERVER");
        String share = out.get("NFS_SHARE");
        String exportDir = out.get("NFS_EXPORT_DIR");
        if (!notBlank(server) || !notBlank(share) || !notBlank(exportDir)) {
            throw new IllegalStateException("test/gateway/up printed no NFS_SERVER/NFS_SHARE/NFS_EXPORT_DIR: " + out);
        }
        return new TestGateway(server, share, Path.of(exportDir), gatewayName, Map.copyOf(env), owned, Map.copyOf(out));
    }

    // ---------------------------------------------------------------------------------------------
    // JUnit extension

    @Override
    public void beforeAll(ExtensionContext context) {
        get();
    }

    @Override
    public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        return parameterContext.getParameter().getType() == TestGateway.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameterContext, ExtensionContext extensionContext)
            throws ParameterResolutionException {
        return get();
    }

    // ---------------------------------------------------------------------------------------------
    // What tests use

    /** The gateway's address, e.g. {@code 10.213.7.2}. */
    public String server() {
        return self().server;
    }

    /**
     * A line {@code up} printed, e.g. {@code WIREGUARD_PUBLIC_KEY} of a gateway in WireGuard mode
     * ({@code GATEWAY_WIREGUARD=1}); only for gateways {@code up} started in this JVM.
     */
    public String printed(String key) {
        String value = self().printed.get(key);
        if (value == null) {
            throw new IllegalStateException("test/gateway/up printed no " + key + ": " + self().printed.keySet());
        }
        return value;
    }

    /** The share (NFSv4 pseudo path), e.g. {@code /export}. */
    public String share() {
        return self().share;
    }

    /** The local directory behind the share, for checking bytes and attributes on the gateway's side. */
    public Path exportDir() {
        return self().exportDir;
    }

    /** The share as an NFSv4.0 target. */
    public NfsTarget target() {
        return target(NfsVersion.V4);
    }

    /** The share as a target of the given version (NFSv3 needs a gateway started with GATEWAY_NFS_V3=1). */
    public NfsTarget target(NfsVersion version) {
        return new NfsTarget(server(), 0, share(), version);
    }

    /**
     * Creates a fresh, empty directory (mode 0777) directly under the share on the gateway's side and
     * returns its share path, e.g. {@code /mkdir-3f2a9c1e}. Tests work below it so they never see each other.
     */
    public String freshDir(String prefix) {
        String dirName = prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
        Path dir = exportDir().resolve(dirName);
        try {
            Files.createDirectory(dir);
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return "/" + dirName;
    }

    /** The local path behind share path {@code sharePath} (e.g. {@code "/a/b"} → exportDir/a/b). */
    public Path local(String sharePath) {
        if (!sharePath.startsWith("/")) {
            throw new IllegalArgumentException("not a share path: " + sharePath);
        }
        return sharePath.equals("/") ? exportDir() : exportDir().resolve(sharePath.substring(1));
    }

    /** Whether {@link #restart()} and the link methods can work: the gateway was started by the scripts. */
    public boolean isScripted() {
        return self().name != null;
    }

    /**
     * Restarts ganesha, keeping the exported data: {@code down} with {@code GATEWAY_KEEP_EXPORT=1}, then
     * {@code up}. Open connections break; NFSv4 state is lost. Only for a {@link #startPrivate private}
     * gateway (restarting the shared one would disturb other tests).
     */
    public void restart() {
        requirePrivate("restart");
        Map<String, String> env = new HashMap<>(scriptEnv);
        env.put("GATEWAY_KEEP_EXPORT", "1");
        runScript("down", env);
        Map<String, String> out = runScript("up", scriptEnv);
        if (!server.equals(out.get("NFS_SERVER"))) {
            throw new IllegalStateException("gateway came back on another address: " + out);
        }
    }

    /**
     * Cuts the gateway's link ({@code test/gateway/link cut host|gateway}): {@code "host"} fails new traffic
     * at once, {@code "gateway"} makes packets vanish (calls hang until their timeout). Private gateways
     * only.
     */
    public void cutLink(String end) {
        requirePrivate("cutLink");
        runScript("link", scriptEnv, "cut", end);
    }

    /** Undoes {@link #cutLink}. */
    public void restoreLink() {
        requirePrivate("restoreLink");
        runScript("link", scriptEnv, "restore");
    }

    /** Takes a private gateway down (with its export directory); does nothing for the shared one. */
    @Override
    public void close() {
        if (owned && !closed) {
            closed = true;
            runScript("down", scriptEnv);
        }
    }

    @Override
    public String toString() {
        return server == null ? "TestGateway(shared)" : "TestGateway[" + server + ":" + share + " <- " + exportDir + "]";
    }

    private void requirePrivate(String what) {
        if (!owned) {
            throw new IllegalStateException(what + " needs a private gateway (TestGateway.startPrivate)");
        }
        if (closed) {
            throw new IllegalStateException(what + ": the gateway is closed");
        }
    }

    /** The extension instance JUnit creates delegates to the shared gateway. */
    private TestGateway self() {
        return server != null ? this : get();
    }

    // ---------------------------------------------------------------------------------------------
    // Running the scripts (no shell: an argument list and a deadline)

    private static Path repo() {
        String repo = System.getProperty("gatewaycsi.repo");
        if (!notBlank(repo)) {
            throw new IllegalStateException("system property gatewaycsi.repo is not set (the parent pom's surefire "
                    + "configuration sets it) and NFS_SERVER/NFS_SHARE/NFS_EXPORT_DIR are not in the environment");
        }
        return Path.of(repo);
    }

    /** Runs {@code test/gateway/<script> args...}; returns its stdout's {@code KEY=VALUE} lines. */
    private static Map<String, String> runScript(String script, Map<String, String> env, String... args) {
        Path exe = repo().resolve("test/gateway").resolve(script);
        if (!Files.isExecutable(exe)) {
            throw new IllegalStateException(exe + " does not exist or is not executable");
        }
        List<String> command = new ArrayList<>();
        command.add(exe.toString());
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().putAll(env);
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Path stderr;
        try {
            stderr = Files.createTempFile("gateway-" + script + "-", ".log");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        pb.redirectError(stderr.toFile());
        try {
            Process p = pb.start();
            // stdout is a handful of lines: read it on a virtual thread so a hung script cannot block us.
            StringBuilder stdout = new StringBuilder();
            Thread reader = Thread.ofVirtual().start(() -> {
                try {
                    stdout.append(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
                } catch (IOException ignored) {
                    // process killed
                }
            });
            if (!p.waitFor(SCRIPT_DEADLINE.toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                throw new IllegalStateException(exe + " " + String.join(" ", args) + " did not finish within "
                        + SCRIPT_DEADLINE + "; stderr:\n" + tail(stderr));
            }
            reader.join(TimeUnit.SECONDS.toMillis(10));
            if (p.exitValue() != 0) {
                throw new IllegalStateException(exe + " " + String.join(" ", args) + " exited " + p.exitValue()
                        + "; stderr:\n" + tail(stderr));
            }
            Map<String, String> out = new LinkedHashMap<>();
            for (String line : stdout.toString().split("\n")) {
                int eq = line.indexOf('=');
                if (eq > 0) {
                    out.put(line.substring(0, eq).strip(), line.substring(eq + 1).strip());
                }
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + exe, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running " + exe, e);
        } finally {
            try {
                Files.deleteIfExists(stderr);
            } catch (IOException ignored) {
                // temp file
            }
        }
    }

    private static String tail(Path file) {
        try {
            List<String> lines = Files.readAllLines(file);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return "(unreadable: " + e + ")";
        }
    }

    private static boolean notBlank(String s) {
        return s != null && !s.isBlank();
    }
}
