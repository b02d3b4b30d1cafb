package io.gatewaycsi.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** External commands (dd, nfs-cp, nfs-ls), each with a deadline after which it is killed. No shell. */
final class Cmd {

    /** What a command did: its exit code, its output (stdout and stderr) and its wall time. */
    record Result(int exit, String output, long nanos) {
        double seconds() {
            return nanos / 1e9;
        }
    }

    private Cmd() {
    }

    /** Runs {@code command}, output to {@code /dev/null} when {@code discardOutput}, else captured. */
    static Result run(Duration timeout, boolean discardOutput, List<String> command) throws IOException {
        Path out = discardOutput ? null : Files.createTempFile("bench-cmd", ".out");
        try {
            ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(discardOutput ? ProcessBuilder.Redirect.DISCARD
                            : ProcessBuilder.Redirect.to(out.toFile()));
            long start = System.nanoTime();
            Process process = builder.start();
            boolean done;
            try {
                done = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
                throw new IOException("interrupted running " + command, e);
            }
            long nanos = System.nanoTime() - start;
            if (!done) {
                process.destroyForcibly();
                throw new IOException(String.join(" ", command) + " did not finish within " + timeout);
            }
            String output = out == null ? "" : Files.readString(out);
            return new Result(process.exitValue(), output, nanos);
        } finally {
            if (out != null) {
                Files.deleteIfExists(out);
            }
        }
    }

    /** Runs {@code command} and fails unless it exits 0. */
    static Result check(Duration timeout, List<String> command) throws IOException {
        Result result = run(timeout, false, command);
        if (result.exit() != 0) {
            throw new IOException(String.join(" ", command) + " exited " + result.exit() + ": " + result.output().strip());
        }
        return result;
    }

    /** Drops the kernel's clean page cache, dentries and inodes (all of the machine: the gateway's too). */
    static void dropCaches() throws IOException {
        Cmd.check(Duration.ofSeconds(60), List.of("sync"));
        Files.writeString(Path.of("/proc/sys/vm/drop_caches"), "3\n");
    }
}
