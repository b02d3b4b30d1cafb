package io.gatewaycsi.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A JFR recording of another JVM (a driver process), started and dumped with {@code jcmd}, for the profile of
 * a missed target. The sampling period is raised to 2 ms (the "profile" settings' 10–20 ms give too few
 * samples in a pass of a few seconds).
 */
final class RemoteJfr implements AutoCloseable {

    private final BenchEnvironment env;
    private final long pid;
    private final Path file;
    private boolean stopped;

    private RemoteJfr(BenchEnvironment env, long pid, Path file) {
        this.env = env;
        this.pid = pid;
        this.file = file;
    }

    static RemoteJfr start(BenchEnvironment env, long pid, String name) throws IOException {
        Path file = Files.createDirectories(env.work().resolve("jfr")).resolve(name + ".jfr");
        Files.deleteIfExists(file);
        Path settings = env.work().resolve("jfr").resolve("sampling.jfc");
        if (!Files.exists(settings)) {
            Files.writeString(settings, """
                    <?xml version="1.0" encoding="UTF-8"?>
                    <configuration version="2.0" label="bench sampling">
                      <event name="jdk.ExecutionSample"><setting name="enabled">true</setting><setting name="period">2 ms</setting></event>
                      <event name="jdk.NativeMethodSample"><setting name="enabled">true</setting><setting name="period">10 ms</setting></event>
                    </configuration>
                    """);
        }
        jcmd(env, pid, List.of("JFR.start", "name=bench", "settings=" + settings));
        return new RemoteJfr(env, pid, file);
    }

    /** Stops the recording, writes it, and returns its summary (see {@link JfrTop}). */
    String stopAndSummarize(int limit) throws IOException {
        jcmd(env, pid, List.of("JFR.stop", "name=bench", "filename=" + file));
        stopped = true;
        return JfrTop.summarize(file, limit);
    }

    private static void jcmd(BenchEnvironment env, long pid, List<String> args) throws IOException {
        List<String> command = new java.util.ArrayList<>(List.of(env.javaHome().resolve("bin/jcmd").toString(),
                Long.toString(pid)));
        command.addAll(args);
        Cmd.check(Duration.ofSeconds(30), command);
    }

    @Override
    public void close() {
        if (!stopped) {
            try {
                jcmd(env, pid, List.of("JFR.stop", "name=bench"));
            } catch (IOException ignored) {
                // the process may be gone already
            }
        }
    }
}
