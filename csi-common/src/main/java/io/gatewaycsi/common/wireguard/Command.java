package io.gatewaycsi.common.wireguard;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One run of a tool (ip(8), wg(8)) with an argument list, never a shell: a clean environment, an optional
 * standard input (how keys reach wg(8): {@code private-key /dev/stdin}, never a file), output captured (bounded)
 * and a deadline after which the process is killed.
 *
 * @param argv   the command and its arguments; never holds a secret (secrets go through {@code stdin})
 * @param exit   the exit status, or -1 when it was killed at the deadline
 * @param output standard output and standard error, interleaved, at most 64 KiB
 */
record Command(List<String> argv, int exit, String output) {

    private static final String PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    private static final int MAX_OUTPUT = 64 * 1024;

    /** Whether it exited 0. */
    boolean ok() {
        return exit == 0;
    }

    /** The output's last line(s), stripped, for messages. */
    String summary() {
        String text = output.strip();
        return text.isEmpty() ? "exit " + exit : text.length() > 400 ? text.substring(text.length() - 400) : text;
    }

    /**
     * Runs {@code argv} with {@code stdin} (or none) and waits at most {@code deadline}.
     *
     * @throws IOException when it cannot be started (the tool is missing: the message names it)
     */
    static Command run(List<String> argv, byte[] stdin, Duration deadline) throws IOException {
        ProcessBuilder builder = new ProcessBuilder(argv).redirectErrorStream(true);
        Map<String, String> env = builder.environment();
        env.clear();
        env.put("PATH", PATH);
        env.put("LC_ALL", "C");
        // wg(8) warns about world-readable key files; there are none, and stdin is no file.
        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new IOException(argv.getFirst() + " could not be started (" + e.getMessage() + ")", e);
        }
        try (OutputStream in = process.getOutputStream()) {
            if (stdin != null) {
                in.write(stdin);
            }
        } catch (IOException e) {
            // the tool exited without reading: its exit status says why
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Thread reader = Thread.ofPlatform().daemon().name("gateway-csi-" + argv.getFirst()).stackSize(128 * 1024)
                .start(() -> drain(process.getInputStream(), out));
        try {
            if (!process.waitFor(deadline.toNanos(), TimeUnit.NANOSECONDS)) {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
                return new Command(argv, -1, text(out) + "\n(killed after " + deadline.toMillis() + " ms)");
            }
            reader.join(2000);
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while running " + argv.getFirst());
        }
        return new Command(argv, process.exitValue(), text(out));
    }

    private static void drain(InputStream in, ByteArrayOutputStream out) {
        byte[] chunk = new byte[4096];
        try (in) {
            int n;
            while ((n = in.read(chunk)) >= 0) {
                synchronized (out) {
                    if (out.size() < MAX_OUTPUT) {
                        out.write(chunk, 0, Math.min(n, MAX_OUTPUT - out.size()));
                    }
                }
            }
        } catch (IOException e) {
            // closed with the process: keep what was read
        }
    }

    private static String text(ByteArrayOutputStream out) {
        synchronized (out) {
            return out.toString(StandardCharsets.UTF_8);
        }
    }
}
