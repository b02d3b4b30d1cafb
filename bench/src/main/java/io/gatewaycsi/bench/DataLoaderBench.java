package io.gatewaycsi.bench;

import io.gatewaycsi.mounthelper.MountSemantics;
import io.gatewaycsi.nfs.NfsClient;
import io.gatewaycsi.nfs.NfsFile;
import io.gatewaycsi.nfs.NfsSession;
import io.gatewaycsi.nfs.NfsSessionOptions;
import io.gatewaycsi.nfs.NfsTarget;
import io.gatewaycsi.nfs.OpenFlags;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * The data-loader benchmark (issue 24): 8 reader processes, as a PyTorch DataLoader's workers, each opening,
 * reading whole and closing random 100 KiB files of a tree of 20,000 files in 200 directories through one
 * published volume (staged through the node plugin and the mount helper, bind-published), against the same
 * work done with nfs-client directly in one process with 8 threads (one NfsSession with the helper's pool
 * size). Files/s and bytes/s side by side, rounds interleaved.
 */
final class DataLoaderBench {
    private static final String VOLUME = "bench-loader";
    static final int DIRS = 200;
    static final int FILES_PER_DIR = 100;
    static final int FILE_BYTES = 100 << 10;
    private static final int READERS = 8;
    private static final double WINDOW_S = 8;
    private static final Duration WORKER_TIMEOUT = Duration.ofSeconds(120);

    private final BenchEnvironment env;
    private final Samples.Rounds rounds = new Samples.Rounds();

    private DataLoaderBench(BenchEnvironment env) {
        this.env = env;
    }

    /** The tree's file {@code f} of directory {@code d}, relative to the volume. */
    static String fileName(int d, int f) {
        return String.format("d%03d/f%03d", d, f);
    }

    static void run(BenchEnvironment env) throws Exception {
        Path exported = env.exportDir().resolve(VOLUME);
        NfsSessionOptions options = NfsSessionOptions.defaults().withMaxContexts(MountSemantics.MAX_CONNECTIONS)
                .withCredentials(0, 0);
        try (NodeDriver driver = NodeDriver.start(env, "loader", "", "");
             NfsSession session = NfsClient.libnfs().connect(NfsTarget.v4(env.server(), env.share()), options)) {
            driver.makeVolume(VOLUME);
            prepare(exported);
            NodeDriver.Staged staged = driver.stage(VOLUME);
            Path target = Files.createDirectories(driver.dir().resolve("target-loader"));
            driver.stub().nodePublishVolume(Csi.publish(env, VOLUME, staged.staging(), target));
            try {
                new DataLoaderBench(env).measure(target, session);
            } finally {
                driver.stub().nodeUnpublishVolume(Csi.unpublish(VOLUME, target));
            }
        } finally {
            DataPathBench.deleteTree(exported);
        }
    }

    /** 20,000 files of 100 KiB (distinct contents), then read once locally: the gateway serves them from memory. */
    private static void prepare(Path exported) throws IOException {
        long t0 = System.nanoTime();
        byte[] data = new byte[FILE_BYTES];
        new SplittableRandom(24).nextBytes(data);
        for (int d = 0; d < DIRS; d++) {
            Files.createDirectories(exported.resolve(String.format("d%03d", d)));
            for (int f = 0; f < FILES_PER_DIR; f++) {
                data[0] = (byte) d;
                data[1] = (byte) f;
                Files.write(exported.resolve(fileName(d, f)), data);
            }
        }
        Cmd.check(Duration.ofSeconds(300), List.of("sync"));
        System.out.printf("loader: tree of %d files written in %.1f s%n", DIRS * FILES_PER_DIR,
                (System.nanoTime() - t0) / 1e9);
    }

    private void measure(Path target, NfsSession session) throws Exception {
        List<Process> workers = startWorkers(target);
        try {
            // Warm-up, unmeasured: the workers' and the helper's compiled code, the kernel's dentries.
            runWorkers(workers, 3);
            runThreads(session, 3);
            for (int r = 0; r < env.rounds(); r++) {
                boolean oursFirst = r % 2 == 0;
                for (int k = 0; k < 2; k++) {
                    boolean ours = (k == 0) == oursFirst;
                    long[] done = ours ? runWorkers(workers, WINDOW_S) : runThreads(session, WINDOW_S);
                    String side = ours ? "ours" : "lib";
                    rounds.add("loader.files." + side, done[0] / WINDOW_S);
                    rounds.add("loader.mib." + side, done[1] / WINDOW_S / (1 << 20));
                }
                System.out.printf("loader round %d: mount %.0f files/s, nfs-client %.0f files/s%n", r,
                        rounds.latest("loader.files.ours"), rounds.latest("loader.files.lib"));
            }
        } finally {
            for (Process p : workers) {
                p.getOutputStream().close();
                if (!p.waitFor(10, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            }
        }
        report();
    }

    private List<Process> startWorkers(Path target) throws IOException {
        List<Process> workers = new ArrayList<>();
        String java = env.javaHome().resolve("bin/java").toString();
        String classpath = System.getProperty("java.class.path");
        for (int i = 0; i < READERS; i++) {
            Process p = new ProcessBuilder(java, "-Xmx64m", "-XX:+UseSerialGC", "-cp", classpath,
                    LoaderWorker.class.getName(), target.toString(), String.valueOf(DIRS), String.valueOf(FILES_PER_DIR),
                    String.valueOf(1000 + i)).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            workers.add(p);
        }
        for (Process p : workers) {
            String line = reader(p).readLine();
            if (!"ready".equals(line)) {
                throw new IOException("a loader worker did not start: " + line);
            }
        }
        return workers;
    }

    private static BufferedReader reader(Process p) {
        return p.inputReader(StandardCharsets.US_ASCII);
    }

    /** All workers read for {@code seconds} at once; returns files and bytes read by all. */
    private static long[] runWorkers(List<Process> workers, double seconds) throws IOException {
        for (Process p : workers) {
            Writer w = new OutputStreamWriter(p.getOutputStream(), StandardCharsets.US_ASCII);
            w.write("go " + seconds + "\n");
            w.flush();
        }
        long files = 0;
        long bytes = 0;
        for (Process p : workers) {
            String line = reader(p).readLine();
            if (line == null || !line.startsWith("done ")) {
                throw new IOException("a loader worker failed: " + line);
            }
            String[] parts = line.split(" ");
            files += Long.parseLong(parts[1]);
            bytes += Long.parseLong(parts[2]);
        }
        return new long[] {files, bytes};
    }

    /** 8 threads on one NfsSession doing the workers' work for {@code seconds}; files and bytes read. */
    private long[] runThreads(NfsSession session, double seconds) throws Exception {
        ExecutorService threads = Executors.newFixedThreadPool(READERS);
        try {
            long until = System.nanoTime() + (long) (seconds * 1e9);
            List<Future<long[]>> results = new ArrayList<>();
            for (int i = 0; i < READERS; i++) {
                SplittableRandom random = new SplittableRandom(2000 + i);
                results.add(threads.submit(() -> {
                    ByteBuffer buffer = ByteBuffer.allocateDirect(1 << 20);
                    long files = 0;
                    long bytes = 0;
                    while (System.nanoTime() < until) {
                        String path = "/" + VOLUME + "/" + fileName(random.nextInt(DIRS), random.nextInt(FILES_PER_DIR));
                        try (NfsFile f = session.open(path, OpenFlags.O_RDONLY)) {
                            long at = 0;
                            int n;
                            buffer.clear();
                            while ((n = f.pread(at, buffer)) > 0) {
                                at += n;
                                buffer.clear();
                            }
                            bytes += at;
                        }
                        files++;
                    }
                    return new long[] {files, bytes};
                }));
            }
            long files = 0;
            long bytes = 0;
            for (Future<long[]> f : results) {
                long[] done = f.get(WORKER_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
                files += done[0];
                bytes += done[1];
            }
            return new long[] {files, bytes};
        } finally {
            threads.shutdownNow();
        }
    }

    private void report() throws IOException {
        Report report = new Report("6. Data loader (issue 24)", String.format("%d reader processes (a PyTorch"
                + " DataLoader's workers: each a JVM that opens, reads whole (FileChannel reads of up to 1 MiB) and closes"
                + " random files) on a tree of %,d files of 100 KiB in %d directories, through one published volume"
                + " (staged by the node plugin through the mount helper as shipped, default parameters, bind-published"
                + " into a target directory), versus the same work with nfs-client directly: one process, %d threads on"
                + " one NfsSession with the helper's pool size (%d contexts), open, preads of up to 1 MiB until end of"
                + " file, close. The gateway holds the tree in its page cache; the mount's kernel caches are not dropped"
                + " between rounds (as in training, where epochs re-read). After a 3 s warm-up per side, %d rounds of"
                + " %.0f s per side, interleaved (order alternating). Median (min–max); ratio = mount / nfs-client,"
                + " median of per-round ratios.", READERS, DIRS * FILES_PER_DIR, DIRS, READERS,
                MountSemantics.MAX_CONNECTIONS, rounds.rounds("loader.files.ours"), WINDOW_S));
        Samples.Summary files = rounds.ratio("loader.files.ours", "loader.files.lib");
        report.row("files/s, 8 readers", rounds.summary("loader.files.ours").format("/s"),
                rounds.summary("loader.files.lib").format("/s"), files.ratio(), "≥ 0.70×",
                Report.Verdict.of(files.median() >= 0.7));
        report.row("MiB/s, 8 readers", rounds.summary("loader.mib.ours").format("MiB/s"),
                rounds.summary("loader.mib.lib").format("MiB/s"),
                rounds.ratio("loader.mib.ours", "loader.mib.lib").ratio(), "—", Report.Verdict.NONE);
        report.write(env.sections(), "6-loader");
    }
}
