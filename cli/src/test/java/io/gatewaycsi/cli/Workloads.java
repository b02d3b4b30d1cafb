package io.gatewaycsi.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * What a training pod does to its volume during a fault, with the bookkeeping the reliability tests check:
 * a sequential reader and a checkpoint writer that fsyncs every chunk. Both retry after an I/O error (as a
 * job that survives a soft mount's EIO would: reopen, continue from what is known good), time every single
 * system call, and give up only after their deadline. Contents are a deterministic function of a seed, so
 * any prefix's checksum can be recomputed.
 *
 * <p>A workload runs in a process of its own ({@link #start}), as a pod does: a process holding files open
 * on a FUSE mount cannot safely start other processes while the mount's gateway is away — the child closes
 * its copies of the descriptors, each close sends FUSE a FLUSH, and on a hard mount that waits for the
 * gateway — so the test JVM, which cuts links and starts processes, never holds such a file during a fault.
 */
final class Workloads {

    static final int CHUNK = 1 << 20;
    /** Pause after each chunk, milliseconds: paced so that a workload spans the fault done to it. */
    private static long paceMillis;

    private Workloads() {
    }

    /** The deterministic contents of chunk {@code index} of a file with {@code seed}. */
    static byte[] chunk(long seed, long index, int length) {
        SplittableRandom random = new SplittableRandom(seed * 1_000_003L + index);
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i += 8) {
            long value = random.nextLong();
            for (int b = 0; b < 8 && i + b < length; b++) {
                bytes[i + b] = (byte) (value >>> (8 * b));
            }
        }
        return bytes;
    }

    /** SHA-256 of the first {@code length} bytes of the file with {@code seed}. */
    static String expectedSha(long seed, long length) {
        MessageDigest digest = sha256();
        for (long offset = 0, index = 0; offset < length; offset += CHUNK, index++) {
            digest.update(chunk(seed, index, (int) Math.min(CHUNK, length - offset)));
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    /** Writes the file with {@code seed} directly (on the gateway's side, say). */
    static void writeDirectly(Path file, long seed, long length) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            for (long offset = 0, index = 0; offset < length; offset += CHUNK, index++) {
                ByteBuffer buffer = ByteBuffer.wrap(chunk(seed, index, (int) Math.min(CHUNK, length - offset)));
                while (buffer.hasRemaining()) {
                    channel.write(buffer, offset + buffer.position());
                }
            }
        }
    }

    /** SHA-256 of the first {@code length} bytes of {@code file} (fewer if it is shorter). */
    static String sha(Path file, long length) throws IOException {
        MessageDigest digest = sha256();
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer buffer = ByteBuffer.allocate(CHUNK);
            long offset = 0;
            while (offset < length) {
                buffer.clear().limit((int) Math.min(CHUNK, length - offset));
                int n = channel.read(buffer, offset);
                if (n <= 0) {
                    break;
                }
                digest.update(buffer.array(), 0, n);
                offset += n;
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** What a workload saw. */
    static final class Outcome {
        final List<String> errors = new ArrayList<>();
        long maxCallMillis;
        String sha;
        /** Writer: each time an error was seen, whether the data durable before it was intact on the gateway. */
        final List<String> prefixChecks = new ArrayList<>();

        synchronized void error(String what) {
            errors.add(what);
        }

        synchronized void call(long nanos) {
            maxCallMillis = Math.max(maxCallMillis, nanos / 1_000_000);
        }
    }

    /**
     * Reads {@code file} of {@code length} bytes sequentially in 1 MiB positional reads. After an I/O error it
     * reopens the file and reads the same chunk again, every 250 ms, until {@code deadline}.
     */
    static Callable<Outcome> reader(Path file, long length, AtomicLong progress, Duration deadline) {
        return () -> {
            Outcome outcome = new Outcome();
            LAST.set(outcome);
            long end = System.nanoTime() + deadline.toNanos();
            MessageDigest digest = sha256();
            ByteBuffer buffer = ByteBuffer.allocate(CHUNK);
            FileChannel channel = null;
            long offset = 0;
            try {
                while (offset < length) {
                    long started = System.nanoTime();
                    try {
                        if (channel == null) {
                            channel = FileChannel.open(file, StandardOpenOption.READ);
                        }
                        buffer.clear().limit((int) Math.min(CHUNK, length - offset));
                        int n = 0;
                        while (buffer.hasRemaining()) {
                            int r = channel.read(buffer, offset + n);
                            if (r < 0) {
                                throw new IOException("unexpected end of file at " + (offset + n));
                            }
                            n += r;
                        }
                        outcome.call(System.nanoTime() - started);
                        digest.update(buffer.array(), 0, n);
                        offset += n;
                        progress.set(offset);
                        Thread.sleep(paceMillis);
                    } catch (IOException e) {
                        outcome.call(System.nanoTime() - started);
                        outcome.error("read at " + offset + ": " + e);
                        close(channel);
                        channel = null;
                        if (System.nanoTime() - end > 0) {
                            throw new IOException("gave up reading at " + offset + " after " + outcome.errors.size()
                                    + " errors, the last: " + e, e);
                        }
                        Thread.sleep(250);
                    }
                }
            } finally {
                close(channel);
            }
            outcome.sha = HexFormat.of().formatHex(digest.digest());
            return outcome;
        };
    }

    /**
     * Writes the file with {@code seed} ({@code length} bytes) to {@code file} through the mount, 1 MiB at a
     * time, fsyncing (force) after each chunk. After an I/O error it reopens the file every 250 ms until
     * {@code deadline}; when it can, it first checks on the gateway ({@code onGateway}) that everything fsynced
     * before the error is there, intact, then continues from that point.
     */
    static Callable<Outcome> writer(Path file, Path onGateway, long seed, long length, AtomicLong progress,
            Duration deadline) {
        return () -> {
            Outcome outcome = new Outcome();
            LAST.set(outcome);
            long end = System.nanoTime() + deadline.toNanos();
            long durable = 0;
            boolean checkPrefix = false;
            FileChannel channel = null;
            try {
                while (durable < length) {
                    long started = System.nanoTime();
                    try {
                        if (channel == null) {
                            channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                            outcome.call(System.nanoTime() - started);
                            if (checkPrefix) {
                                String want = expectedSha(seed, durable);
                                String have = sha(onGateway, durable);
                                outcome.prefixChecks.add(durable + (want.equals(have) ? ":intact" : ":LOST"));
                                checkPrefix = false;
                            }
                            started = System.nanoTime();
                        }
                        int n = (int) Math.min(CHUNK, length - durable);
                        ByteBuffer buffer = ByteBuffer.wrap(chunk(seed, durable / CHUNK, n));
                        while (buffer.hasRemaining()) {
                            channel.write(buffer, durable + buffer.position());
                        }
                        outcome.call(System.nanoTime() - started);
                        started = System.nanoTime();
                        channel.force(true);
                        outcome.call(System.nanoTime() - started);
                        durable += n;
                        progress.set(durable);
                        Thread.sleep(paceMillis);
                    } catch (IOException e) {
                        outcome.call(System.nanoTime() - started);
                        outcome.error("write at " + durable + ": " + e);
                        close(channel);
                        channel = null;
                        checkPrefix = true;
                        if (System.nanoTime() - end > 0) {
                            throw new IOException("gave up writing at " + durable + " after " + outcome.errors.size()
                                    + " errors, the last: " + e, e);
                        }
                        Thread.sleep(250);
                    }
                }
            } finally {
                close(channel);
            }
            outcome.sha = sha(onGateway, length);
            return outcome;
        };
    }

    private static void close(FileChannel channel) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // the error that made us close it is recorded already
            }
        }
    }

    /**
     * {@code java Workloads read|write FILE ON_GATEWAY SEED LENGTH DEADLINE_SECONDS PROGRESS_FILE RESULT_FILE}:
     * runs one workload, keeping the bytes done in PROGRESS_FILE, and writes the outcome as properties
     * (sha, errors, first_error, max_call_ms, prefix_checks) to RESULT_FILE. Exit 0 when it completed.
     */
    public static void main(String[] args) throws Exception {
        String mode = args[0];
        Path file = Path.of(args[1]);
        Path onGateway = Path.of(args[2]);
        long seed = Long.parseLong(args[3]);
        long length = Long.parseLong(args[4]);
        Duration deadline = Duration.ofSeconds(Long.parseLong(args[5]));
        Path progressFile = Path.of(args[6]);
        Path resultFile = Path.of(args[7]);
        paceMillis = Long.parseLong(args[8]);
        AtomicLong progress = new AtomicLong();
        Thread reporter = Thread.ofPlatform().daemon().start(() -> {
            long last = -1;
            while (true) {
                long now = progress.get();
                if (now != last) {
                    try {
                        Path tmp = progressFile.resolveSibling(progressFile.getFileName() + ".tmp");
                        Files.writeString(tmp, Long.toString(now));
                        Files.move(tmp, progressFile, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                        last = now;
                    } catch (IOException e) {
                        return;
                    }
                }
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        Outcome outcome;
        int exit = 0;
        java.util.Properties result = new java.util.Properties();
        try {
            outcome = (mode.equals("read") ? reader(file, length, progress, deadline)
                    : writer(file, onGateway, seed, length, progress, deadline)).call();
            result.setProperty("sha", outcome.sha);
        } catch (Exception e) {
            outcome = LAST.get();
            result.setProperty("failure", String.valueOf(e));
            exit = 1;
        }
        reporter.interrupt();
        if (outcome != null) {
            result.setProperty("errors", Integer.toString(outcome.errors.size()));
            result.setProperty("first_error", outcome.errors.isEmpty() ? "" : outcome.errors.getFirst());
            result.setProperty("last_error", outcome.errors.isEmpty() ? "" : outcome.errors.getLast());
            result.setProperty("max_call_ms", Long.toString(outcome.maxCallMillis));
            result.setProperty("prefix_checks", String.join(",", outcome.prefixChecks));
        }
        try (var out = Files.newBufferedWriter(resultFile)) {
            result.store(out, mode);
        }
        System.exit(exit);
    }

    /** The outcome of the workload running in this process, also when it fails. */
    private static final AtomicReference<Outcome> LAST = new AtomicReference<>();

    /** A workload running in a process of its own. */
    static final class Running {
        private final Process process;
        private final Path progressFile;
        private final Path resultFile;

        private Running(Process process, Path progressFile, Path resultFile) {
            this.process = process;
            this.progressFile = progressFile;
            this.resultFile = resultFile;
        }

        /** Bytes done so far. */
        long progress() {
            try {
                return Long.parseLong(Files.readString(progressFile).strip());
            } catch (IOException | NumberFormatException e) {
                return 0;
            }
        }

        /** Waits until {@code at} bytes are done, at most {@code bound}. */
        void awaitProgress(long at, Duration bound) throws InterruptedException {
            long end = System.nanoTime() + bound.toNanos();
            while (progress() < at) {
                if (System.nanoTime() - end > 0 || !process.isAlive()) {
                    throw new AssertionError("the workload did not reach " + at + " bytes within " + bound + " (at "
                            + progress() + ", alive " + process.isAlive() + ")");
                }
                Thread.sleep(20);
            }
        }

        /**
         * Waits for the workload to end, at most {@code bound} (then it is killed and the test fails), and
         * returns what it reported.
         */
        Outcome await(Duration bound) throws Exception {
            if (!process.waitFor(bound.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
                throw new AssertionError("the workload did not finish within " + bound + " (at " + progress() + ")");
            }
            java.util.Properties result = new java.util.Properties();
            try (var in = Files.newBufferedReader(resultFile)) {
                result.load(in);
            }
            if (result.getProperty("failure") != null) {
                throw new AssertionError("the workload failed: " + result);
            }
            Outcome outcome = new Outcome();
            outcome.sha = result.getProperty("sha");
            outcome.maxCallMillis = Long.parseLong(result.getProperty("max_call_ms", "0"));
            int errors = Integer.parseInt(result.getProperty("errors", "0"));
            for (int i = 0; i < errors; i++) {
                outcome.errors.add(i == 0 ? result.getProperty("first_error") : "…");
            }
            String checks = result.getProperty("prefix_checks", "");
            if (!checks.isEmpty()) {
                outcome.prefixChecks.addAll(List.of(checks.split(",")));
            }
            return outcome;
        }

        void kill() {
            process.destroyForcibly();
        }
    }

    /** Starts a workload ({@code read} or {@code write}) in a process of its own; its files go in {@code dir}. */
    static Running start(String mode, Path file, Path onGateway, long seed, long length, Duration deadline, Path dir)
            throws IOException {
        return start(mode, file, onGateway, seed, length, deadline, dir, Duration.ZERO);
    }

    /** As above, taking about {@code span} for the whole file (paced chunk by chunk). */
    static Running start(String mode, Path file, Path onGateway, long seed, long length, Duration deadline, Path dir,
            Duration span) throws IOException {
        Path progressFile = Files.createTempFile(dir, "progress-", ".txt");
        Path resultFile = Files.createTempFile(dir, "result-", ".properties");
        Path classes = Path.of(System.getProperty("gatewaycsi.repo"), "cli", "target", "test-classes");
        List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:+UseSerialGC", "-Xmx64m", "-cp", classes.toString(), Workloads.class.getName(), mode,
                file.toString(), onGateway.toString(), Long.toString(seed), Long.toString(length),
                Long.toString(deadline.toSeconds()), progressFile.toString(), resultFile.toString(),
                Long.toString(span.toMillis() / Math.max(1, (length + CHUNK - 1) / CHUNK)));
        Process process = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(dir.resolve("workload-" + mode + "-" + seed + ".log").toFile()).start();
        return new Running(process, progressFile, resultFile);
    }

    /**
     * Where {@code file} differs from the file with {@code seed}: its size and the chunks (1 MiB) whose bytes
     * are not the expected ones, for a failure message.
     */
    static String difference(Path file, long seed, long length) throws IOException {
        List<Long> bad = new ArrayList<>();
        long size = Files.size(file);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer buffer = ByteBuffer.allocate(CHUNK);
            for (long offset = 0, index = 0; offset < length; offset += CHUNK, index++) {
                int n = (int) Math.min(CHUNK, length - offset);
                buffer.clear().limit(n);
                int read = 0;
                while (read < n) {
                    int r = channel.read(buffer, offset + read);
                    if (r <= 0) {
                        break;
                    }
                    read += r;
                }
                byte[] want = chunk(seed, index, n);
                if (read != n || !java.util.Arrays.equals(want, 0, n, buffer.array(), 0, n)) {
                    bad.add(index);
                }
            }
        }
        return "size=" + size + " (expected " + length + ") differing 1 MiB chunks: " + bad;
    }

    /** Waits until {@code progress} reaches {@code at} (bytes), at most {@code bound}. */
    static void awaitProgress(AtomicLong progress, long at, Duration bound) throws InterruptedException {
        long end = System.nanoTime() + bound.toNanos();
        while (progress.get() < at) {
            if (System.nanoTime() - end > 0) {
                throw new AssertionError("the workload did not reach " + at + " bytes within " + bound + " (at "
                        + progress.get() + ")");
            }
            Thread.sleep(10);
        }
    }

    static long sizeOf(Path file) throws IOException {
        return Files.size(file);
    }
}
