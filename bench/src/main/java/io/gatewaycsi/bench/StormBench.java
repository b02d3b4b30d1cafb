package io.gatewaycsi.bench;

import io.gatewaycsi.csi.v1.NodeGrpc;
import io.gatewaycsi.node.Mounter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Benchmark 4 (issue 9): a mount storm. 10 volumes, each staged once through the mount helper; then 500
 * NodePublishVolume calls spread over them (target i publishes volume i mod 10) from 64 concurrent callers,
 * then 500 NodeUnpublishVolume. The node plugin and the mount helper run as their own processes
 * ({@code gateway-csi node} / {@code mount-helper}, through the image's launcher), so the node plugin's RSS is its own: sampled every
 * 20 ms during the storm, and its peak (VmHWM) at the end. Beside each storm, the same storm of bare
 * mkdir+bind / unmount+rmdir from the benchmark JVM, interleaved, as the floor.
 */
final class StormBench {

    static final int VOLUMES = 10;
    static final int PUBLISHES = 500;
    static final int CALLERS = 64;

    private StormBench() {
    }

    static void run(BenchEnvironment env) throws Exception {
        try (NodeDriver driver = NodeDriver.start(env, "storm", "", "")) {
            List<NodeDriver.Staged> volumes = new ArrayList<>();
            for (int v = 0; v < VOLUMES; v++) {
                driver.makeVolume("bench-storm-" + v);
            }
            ProcMemory beforeStaging = driver.node().memory();
            for (int v = 0; v < VOLUMES; v++) {
                volumes.add(driver.stage("bench-storm-" + v));
            }
            measure(env, driver, volumes, beforeStaging);
        }
    }

    private static void measure(BenchEnvironment env, NodeDriver driver, List<NodeDriver.Staged> volumes,
                                ProcMemory beforeStaging) throws Exception {
        NodeGrpc.NodeBlockingStub node = driver.stub();
        Mounter mounter = new Mounter();
        Path targets = Files.createDirectories(driver.dir().resolve("pods"));
        Set<Path> stagingPaths = new HashSet<>();
        volumes.forEach(v -> stagingPaths.add(v.staging()));
        Samples.Rounds rounds = new Samples.Rounds();
        ProcMemory afterStaging = driver.node().memory();
        // Warm-up storm (not measured): JIT of both sides.
        storm(env, node, volumes, targets, "w", new Samples(), new Samples());
        bareStorm(mounter, volumes, targets, new Samples(), new Samples());
        int stagingMin = Integer.MAX_VALUE;
        int stagingMax = 0;
        int connectionsMax = 0;
        int bindsMin = Integer.MAX_VALUE;
        long peakRssKib = 0;
        long budgetEnd = System.nanoTime() + env.budget().toNanos();
        for (int r = 0; r < env.rounds() && System.nanoTime() < budgetEnd; r++) {
            boolean oursFirst = r % 2 == 0;
            for (int k = 0; k < 2; k++) {
                boolean ours = (k == 0) == oursFirst;
                Samples publish = new Samples();
                Samples unpublish = new Samples();
                long[] walls;
                if (ours) {
                    AtomicLong peak = new AtomicLong();
                    AtomicBoolean sampling = new AtomicBoolean(true);
                    long pid = driver.node().pid();
                    Thread sampler = Thread.ofPlatform().daemon().start(() -> {
                        for (int i = 0; i < 30_000 && sampling.get(); i++) {
                            try {
                                peak.accumulateAndGet(ProcMemory.of(pid).rssKib(), Math::max);
                                Thread.sleep(20);
                            } catch (IOException | InterruptedException e) {
                                return;
                            }
                        }
                    });
                    Csi.FuseCount[] afterPublish = new Csi.FuseCount[1];
                    try {
                        walls = storm(env, node, volumes, targets, "r" + r, publish, unpublish, stagingPaths, afterPublish);
                    } finally {
                        sampling.set(false);
                        sampler.join(5000);
                    }
                    peakRssKib = Math.max(peakRssKib, peak.get());
                    rounds.add("ours.rss.peak", peak.get() / 1024.0);
                    Csi.FuseCount count = afterPublish[0];
                    stagingMin = Math.min(stagingMin, count.atStaging());
                    stagingMax = Math.max(stagingMax, count.atStaging());
                    connectionsMax = Math.max(connectionsMax, count.connections());
                    bindsMin = Math.min(bindsMin, count.entries() - count.atStaging());
                } else {
                    walls = bareStorm(mounter, volumes, targets, publish, unpublish);
                }
                String side = ours ? "ours" : "bare";
                rounds.add(side + ".publish.p50", publish.percentileMillis(50));
                rounds.add(side + ".publish.p99", publish.percentileMillis(99));
                rounds.add(side + ".unpublish.p50", unpublish.percentileMillis(50));
                rounds.add(side + ".unpublish.p99", unpublish.percentileMillis(99));
                rounds.add(side + ".total", (walls[0] + walls[1]) / 1e9);
                rounds.add(side + ".publish.rate", PUBLISHES / (walls[0] / 1e9));
            }
            System.out.printf("storm round %d: publish p99 ours %.1f ms bare %.1f ms; total ours %.2f s bare %.2f s%n", r,
                    rounds.summary("ours.publish.p99").median(), rounds.summary("bare.publish.p99").median(),
                    rounds.summary("ours.total").median(), rounds.summary("bare.total").median());
        }
        ProcMemory nodeEnd = driver.node().memory();
        ProcMemory helperEnd = driver.helper().memory();
        report(env, driver, volumes, targets, rounds, stagingMin, stagingMax, connectionsMax, bindsMin, peakRssKib,
                beforeStaging, afterStaging, nodeEnd, helperEnd);
    }

    private static void report(BenchEnvironment env, NodeDriver driver, List<NodeDriver.Staged> volumes, Path targets,
                               Samples.Rounds rounds, int stagingMin, int stagingMax, int connectionsMax, int bindsMin,
                               long peakRssKib, ProcMemory beforeStaging, ProcMemory afterStaging, ProcMemory nodeEnd,
                               ProcMemory helperEnd) throws Exception {
        Samples.Summary p99 = rounds.summary("ours.publish.p99");
        int n = rounds.rounds("ours.publish.p99");
        Report report = new Report("4. Mount storm (issue 9)",
                PUBLISHES + " NodePublishVolume calls over " + VOLUMES + " volumes (each staged once through the mount"
                        + " helper: " + VOLUMES + " NodeStageVolume), " + CALLERS + " concurrent callers, then " + PUBLISHES
                        + " NodeUnpublishVolume; the node plugin and the mount helper are separate processes"
                        + " (`gateway-csi node`, `gateway-csi mount-helper` through the image's launcher,"
                        + " cli/target/dist/bin/gateway-csi: as shipped). Baseline: the same"
                        + " storm of bare mkdir + `Mounter.bind` / `Mounter.unmount` + rmdir from the benchmark JVM. "
                        + n + " rounds after one warm-up storm, interleaved (order alternating); median (min–max) of the"
                        + " per-round values; ratio = gRPC / bare.");
        report.row("NodePublishVolume p99", p99.format("ms"), rounds.summary("bare.publish.p99").format("ms"),
                rounds.ratio("ours.publish.p99", "bare.publish.p99").ratio(), "≤ 50 ms",
                Report.Verdict.of(p99.median() <= 50));
        report.row("NodePublishVolume p50", rounds.summary("ours.publish.p50").format("ms"),
                rounds.summary("bare.publish.p50").format("ms"), rounds.ratio("ours.publish.p50", "bare.publish.p50").ratio(),
                "—", Report.Verdict.NONE);
        report.row("NodeUnpublishVolume p50", rounds.summary("ours.unpublish.p50").format("ms"),
                rounds.summary("bare.unpublish.p50").format("ms"),
                rounds.ratio("ours.unpublish.p50", "bare.unpublish.p50").ratio(), "—", Report.Verdict.NONE);
        report.row("NodeUnpublishVolume p99", rounds.summary("ours.unpublish.p99").format("ms"),
                rounds.summary("bare.unpublish.p99").format("ms"),
                rounds.ratio("ours.unpublish.p99", "bare.unpublish.p99").ratio(), "—", Report.Verdict.NONE);
        report.row("total time, " + PUBLISHES + " publishes + " + PUBLISHES + " unpublishes",
                rounds.summary("ours.total").format("s"), rounds.summary("bare.total").format("s"),
                rounds.ratio("ours.total", "bare.total").ratio(), "—", Report.Verdict.NONE);
        report.row("publish throughput", rounds.summary("ours.publish.rate").format("/s"),
                rounds.summary("bare.publish.rate").format("/s"),
                rounds.ratio("ours.publish.rate", "bare.publish.rate").ratio(), "—", Report.Verdict.NONE);
        boolean ten = stagingMin == VOLUMES && stagingMax == VOLUMES && connectionsMax == VOLUMES;
        report.row("staging mounts after " + PUBLISHES + " publishes (every round)",
                (stagingMin == stagingMax ? Integer.toString(stagingMin) : stagingMin + "–" + stagingMax)
                        + " at the staging paths, " + connectionsMax + " FUSE connections, " + bindsMin + " bind mounts",
                "10", Report.Verdict.of(ten));
        report.row("node plugin RSS during the storms (peak of 20 ms samples)", rounds.summary("ours.rss.peak").format("MiB"),
                "—", Report.Verdict.NONE);
        report.row("node plugin VmHWM (peak RSS over its life) / VmRSS after the storms",
                String.format("%.1f MiB / %.1f MiB", nodeEnd.hwmMib(), nodeEnd.rssMib()), "—", Report.Verdict.NONE);
        report.row("node plugin RSS before staging / after 10 stagings",
                String.format("%.1f MiB / %.1f MiB", beforeStaging.rssMib(), afterStaging.rssMib()), "—",
                Report.Verdict.NONE);
        report.row("mount helper VmHWM / VmRSS after the storms (10 FUSE mounts)",
                String.format("%.1f MiB / %.1f MiB", helperEnd.hwmMib(), helperEnd.rssMib()), "—", Report.Verdict.NONE);
        double rate = rounds.summary("ours.publish.rate").median();
        report.note(String.format("Queueing: the node plugin completes about %.0f publishes/s here, so with %d callers"
                + " always waiting a call spends about %d / %.0f = %.0f ms in line: the p99 above is mostly that wait."
                + " A p99 of 50 ms at %d callers needs about %.0f publishes/s.", rate, CALLERS, CALLERS, rate,
                1000.0 * CALLERS / rate, CALLERS, CALLERS / 0.05));
        if (p99.median() > 50) {
            double bareP99 = rounds.summary("bare.publish.p99").median();
            report.note(String.format("The gap: p99 %.0f ms against 50 ms. The bare syscalls' own p99 in the same storm is"
                    + " %.1f ms (mount and umount serialize on the kernel's mount lock, and umount waits for an RCU grace"
                    + " period); the rest is the time each publish spends in the node plugin, times the callers in line:"
                    + " a gRPC call (HTTP/2 framing, protobuf, an RPC thread hand-off each way), two statx, a statfs"
                    + " answered by the mount helper, an lstat walk of the target, mkdir, the bind and a log line, on 2"
                    + " cores shared with the 64 callers' own gRPC client, the mount helper and the gateway. The profile"
                    + " below is flat and thin: the node plugin spends most of the storm off CPU, waiting for thread"
                    + " hand-offs (each ~70 µs here), the kernel's mount lock and mkdir in the one parent directory of"
                    + " the targets. What would close it: a p99 %.1f× shorter, i.e. that much less time per publish."
                    + " The node plugin on C2 instead of C1 did not give it (tried by hand with the benchmarks'"
                    + " storm-variants mode, 2 runs each: p99 no better, peak RSS +15 MiB); fewer hand-offs per call did"
                    + " part of it (publish's file-system calls now take three instead of six); the rest needs fewer waits"
                    + " in the gRPC stack, or callers off these 2 cores (in a cluster the kubelet is).",
                    p99.median(), bareP99, p99.median() / 50));
            NodeGrpc.NodeBlockingStub node = driver.stub();
            try (RemoteJfr jfr = RemoteJfr.start(env, driver.node().pid(), "node-storm")) {
                storm(env, node, volumes, targets, "p", new Samples(), new Samples());
                report.note("Profile of the node plugin during one more storm:\n\n" + jfr.stopAndSummarize(12));
            }
        }
        Properties rss = new Properties();
        rss.setProperty("node.storm.peak.mib", String.format("%.1f", peakRssKib / 1024.0));
        rss.setProperty("node.hwm.mib", String.format("%.1f", nodeEnd.hwmMib()));
        rss.setProperty("node.after.mib", String.format("%.1f", nodeEnd.rssMib()));
        try (var out = Files.newBufferedWriter(env.work().resolve("storm-rss.properties"))) {
            rss.store(out, "node plugin RSS under the storm (benchmark 4), for the footprint section");
        }
        report.write(env.sections(), "4-storm");
    }

    private static long[] storm(BenchEnvironment env, NodeGrpc.NodeBlockingStub node, List<NodeDriver.Staged> volumes,
                                Path targets, String prefix, Samples publish, Samples unpublish) throws Exception {
        return storm(env, node, volumes, targets, prefix, publish, unpublish, null, null);
    }

    /** One storm through the node plugin; returns the wall times of the publish and unpublish phases (ns). */
    private static long[] storm(BenchEnvironment env, NodeGrpc.NodeBlockingStub node, List<NodeDriver.Staged> volumes,
                                Path targets, String prefix, Samples publish, Samples unpublish, Set<Path> stagingPaths,
                                Csi.FuseCount[] afterPublish) throws Exception {
        long up = Parallel.run(CALLERS, PUBLISHES, publish, Duration.ofSeconds(180), i -> {
            NodeDriver.Staged volume = volumes.get(i % volumes.size());
            node.nodePublishVolume(Csi.publish(env, volume.subDir(), volume.staging(), targets.resolve(prefix + i)));
        });
        if (afterPublish != null) {
            afterPublish[0] = Csi.fuseMounts(targets.getParent(), stagingPaths);
        }
        long down = Parallel.run(CALLERS, PUBLISHES, unpublish, Duration.ofSeconds(180), i -> {
            NodeDriver.Staged volume = volumes.get(i % volumes.size());
            node.nodeUnpublishVolume(Csi.unpublish(volume.subDir(), targets.resolve(prefix + i)));
        });
        return new long[] {up, down};
    }

    private static long[] bareStorm(Mounter mounter, List<NodeDriver.Staged> volumes, Path targets, Samples publish,
                                    Samples unpublish) throws Exception {
        long up = Parallel.run(CALLERS, PUBLISHES, publish, Duration.ofSeconds(180), i -> {
            Path target = targets.resolve("b" + i);
            Files.createDirectories(target);
            mounter.bind(volumes.get(i % volumes.size()).staging(), target);
        });
        long down = Parallel.run(CALLERS, PUBLISHES, unpublish, Duration.ofSeconds(180), i -> {
            Path target = targets.resolve("b" + i);
            mounter.unmount(target);
            Files.delete(target);
        });
        return new long[] {up, down};
    }
}
