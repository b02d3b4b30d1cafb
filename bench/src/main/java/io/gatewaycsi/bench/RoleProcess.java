package io.gatewaycsi.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * One driver process started the way an operator starts it: {@code gateway-csi <role> <flags>} through the
 * benchmark's launcher ({@link BenchEnvironment#launcher()}; it execs java, so the PID is the JVM's). Its output goes to a log file in the work directory; its PID
 * is written to {@code <work>/pids/} so that bench/run's trap can stop it should this JVM die. Every process
 * started is stopped by {@link #close()} and, failing that, by a shutdown hook.
 */
final class RoleProcess implements AutoCloseable {

    private static final Set<RoleProcess> RUNNING = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().unstarted(() -> RUNNING.forEach(RoleProcess::close)));
    }

    private final String role;
    private final Process process;
    private final long startNanos;
    private final Path pidFile;
    private final Path log;

    private RoleProcess(String role, Process process, long startNanos, Path pidFile, Path log) {
        this.role = role;
        this.process = process;
        this.startNanos = startNanos;
        this.pidFile = pidFile;
        this.log = log;
    }

    /**
     * Starts {@code gateway-csi role args...} with the environment's launcher.
     *
     * @param javaOpts extra JVM flags (GATEWAY_CSI_JAVA_OPTS), may be empty
     * @param heap     the -Xmx value (GATEWAY_CSI_HEAP), or null for the launcher's default
     */
    static RoleProcess start(BenchEnvironment env, String role, List<String> args, String javaOpts, String heap,
                             String logName) throws IOException {
        return start(env, role, args, javaOpts, heap, Map.of(), logName);
    }

    /** The same with more environment variables for the process (e.g. MALLOC_ARENA_MAX). */
    static RoleProcess start(BenchEnvironment env, String role, List<String> args, String javaOpts, String heap,
                             Map<String, String> extraEnv, String logName) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(env.launcher().toString());
        command.add(role);
        command.addAll(args);
        Path logs = Files.createDirectories(env.work().resolve("logs"));
        Path log = logs.resolve(logName + ".log");
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        Map<String, String> environment = builder.environment();
        environment.put("GATEWAY_CSI_JAVA_HOME", env.javaHome().toString());
        environment.put("GATEWAY_CSI_JAVA_OPTS", javaOpts == null ? "" : javaOpts);
        if (heap != null) {
            environment.put("GATEWAY_CSI_HEAP", heap);
        } else {
            environment.remove("GATEWAY_CSI_HEAP");
        }
        environment.putAll(extraEnv);
        long start = System.nanoTime();
        Process process = builder.start();
        Path pids = Files.createDirectories(env.work().resolve("pids"));
        Path pidFile = pids.resolve(Long.toString(process.pid()));
        Files.writeString(pidFile, role + "\n");
        RoleProcess started = new RoleProcess(role, process, start, pidFile, log);
        RUNNING.add(started);
        return started;
    }

    String role() {
        return role;
    }

    long pid() {
        return process.pid();
    }

    /** System.nanoTime() just before the process was spawned. */
    long startNanos() {
        return startNanos;
    }

    boolean alive() {
        return process.isAlive();
    }

    Path log() {
        return log;
    }

    /** The process's memory now (VmRSS, VmHWM, PSS). */
    ProcMemory memory() throws IOException {
        return ProcMemory.of(process.pid());
    }

    /** Fails with the log's tail when the process has exited. */
    void requireAlive() throws IOException {
        if (!process.isAlive()) {
            throw new IOException(role + " (pid " + process.pid() + ") exited with " + process.exitValue()
                    + "; last lines of " + log + ":\n" + tail(log, 20));
        }
    }

    /** SIGTERM, up to 25 s for a graceful stop (the helper unmounts), then SIGKILL. Idempotent. */
    @Override
    public void close() {
        try {
            if (process.isAlive()) {
                process.destroy();
                if (!process.waitFor(25, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    process.waitFor(5, TimeUnit.SECONDS);
                }
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        } finally {
            RUNNING.remove(this);
            try {
                Files.deleteIfExists(pidFile);
            } catch (IOException ignored) {
                // bench/run's trap checks the PID's command line before it signals anything.
            }
        }
    }

    static String tail(Path file, int lines) {
        try {
            List<String> all = Files.readAllLines(file);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(" + e.getMessage() + ")";
        }
    }
}
