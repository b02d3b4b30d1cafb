package io.gatewaycsi.bench;

import io.gatewaycsi.csi.v1.NodeGrpc;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * Benchmark 5 (issue 9): the footprint of each role as its own {@code gateway-csi <role>} process, started
 * through the image's launcher (the dist: jlink runtime, AOT caches) and, for comparison, the repository's
 * {@code bin/gateway-csi} on the JDK: RSS and PSS once idle ({@link #SETTLE} after it answered ready), start-up
 * time from spawning the launcher to a ready answer (Identity Probe for controller and node, Health for the
 * mount helper), the jlink runtime's and the AOT caches' size, and the node plugin's RSS under a storm. More
 * JVM flags are tried through GATEWAY_CSI_JAVA_OPTS.
 */
final class FootprintBench {

    /**
     * Idle = this long after the first ready answer: the JVM hands the compiler's arena memory of start-up back
     * on a 5-second cycle (NMT "Arena Chunk": 6 MiB at 2 s, 0.2 MiB at 8 s), so an earlier sample measures
     * start-up, not idleness.
     */
    private static final Duration SETTLE = Duration.ofSeconds(6);
    private static final String WITHOUT_AOT = "as shipped without its AOT cache";
    private static final List<String> ROLES = List.of("node", "mount-helper", "controller");
    private static final Map<String, Double> TARGET_MIB = Map.of("node", 64.0, "mount-helper", 96.0, "controller", 128.0);
    /** A setting tried: extra GATEWAY_CSI_JAVA_OPTS, and another launcher (or null for the benchmark's own). */
    private record Variant(String name, String opts, Path launcher, String heap, Map<String, String> environment) {
        Variant(String name, String opts, Path launcher) {
            this(name, opts, launcher, null, Map.of());
        }
    }

    private final BenchEnvironment env;
    private final Samples.Rounds rounds = new Samples.Rounds();

    private FootprintBench(BenchEnvironment env) {
        this.env = env;
    }

    static void run(BenchEnvironment env) throws Exception {
        new FootprintBench(env).measure();
    }

    /**
     * For trying settings by hand: the node plugin's memory through storms for each setting in
     * BENCH_STORM_VARIANTS, {@code heap|VAR=value,...|java opts} separated by {@code ;}.
     */
    static void stormVariants(BenchEnvironment env) throws Exception {
        FootprintBench bench = new FootprintBench(env);
        for (String spec : System.getenv().getOrDefault("BENCH_STORM_VARIANTS", "||").split(";")) {
            String[] parts = spec.split("\\|", -1);
            Map<String, String> environment = new LinkedHashMap<>();
            for (String assignment : parts[1].split(",")) {
                if (assignment.contains("=")) {
                    environment.put(assignment.substring(0, assignment.indexOf('=')),
                            assignment.substring(assignment.indexOf('=') + 1));
                }
            }
            Variant variant = new Variant(spec, parts[2], null, parts[0].isEmpty() ? null : parts[0], environment);
            StormMemory memory = bench.stormMemory(variant);
            Idle idle = bench.once(variant, "node", Files.createDirectories(env.work().resolve("footprint")));
            System.out.printf("%-60s storm VmHWM %.0f MiB, after %.0f MiB, publish p99 %.0f ms; idle RSS %.1f MiB, ready %.0f ms%n",
                    spec, memory.hwmMib(), memory.afterMib(), memory.publishP99(), idle.memory().rssMib(), idle.readyMillis());
        }
    }

    private void measure() throws Exception {
        Path dir = Files.createDirectories(env.work().resolve("footprint"));
        Variant shipped = new Variant("as shipped", "", null);
        Variant repository = new Variant("repository launcher (bin/gateway-csi on the JDK, no AOT cache)", "",
                env.home().resolve("bin/gateway-csi"));
        long budgetEnd = System.nanoTime() + env.budget().toNanos();
        // Warm the OS caches (launcher, jars, JDK) and this JVM's gRPC client: not measured.
        once(shipped, "node", dir);
        for (int r = 0; r < env.rounds() && System.nanoTime() < budgetEnd; r++) {
            for (int k = 0; k < ROLES.size(); k++) {
                String role = ROLES.get((k + r) % ROLES.size());
                for (Variant variant : r % 2 == 0 ? List.of(shipped, repository) : List.of(repository, shipped)) {
                    record(variant, role, once(variant, role, dir));
                }
            }
            System.out.printf("footprint round %d: node idle RSS %.1f MiB as shipped, %.1f MiB repository launcher;"
                    + " ready %.0f ms%n", r, rounds.summary("as shipped.node.rss").median(),
                    rounds.summary(repository.name() + ".node.rss").median(), rounds.summary("as shipped.node.ready").median());
        }
        // More settings, for the node plugin only (its target is the tight one).
        List<Variant> extra = new ArrayList<>();
        extra.add(new Variant(WITHOUT_AOT, "-XX:AOTMode=off", null));
        extra.add(new Variant("as shipped + -Xms8m -Xmn2m", "-Xms8m -Xmn2m", null));
        extra.add(new Variant("-Xint (interpreter only: the floor, not a proposal)", "-Xint", null));
        int extraRounds = Math.min(3, env.rounds());
        for (int r = 0; r < extraRounds && System.nanoTime() < budgetEnd; r++) {
            for (Variant variant : extra) {
                try {
                    record(variant, "node", once(variant, "node", dir));
                } catch (IOException e) {
                    System.out.println("footprint: " + variant.name() + " failed: " + e.getMessage());
                }
            }
        }
        Map<String, StormMemory> storms = new LinkedHashMap<>();
        for (Variant variant : List.of(shipped, new Variant("as shipped, GATEWAY_CSI_HEAP=32m", "", null, "32m", Map.of()))) {
            if (System.nanoTime() < budgetEnd || storms.isEmpty()) {
                storms.put(variant.name(), stormMemory(variant));
            }
        }
        List<List<String>> breakdown = breakdown(shipped, dir);
        report(shipped, repository, extra, storms, breakdown);
    }

    private void record(Variant variant, String role, Idle idle) {
        String key = variant.name() + "." + role;
        rounds.add(key + ".rss", idle.memory().rssMib());
        rounds.add(key + ".pss", idle.memory().pssMib());
        rounds.add(key + ".threads", idle.memory().threads());
        rounds.add(key + ".ready", idle.readyMillis());
    }

    /** One process: its start-up time and idle memory. */
    private record Idle(double readyMillis, ProcMemory memory) {
    }

    private Idle once(Variant variant, String role, Path dir) throws IOException {
        Path socket = dir.resolve(role + ".sock");
        List<String> args = switch (role) {
            case "node" -> List.of("--endpoint", "unix://" + socket, "--node-id", "bench", "--mount-helper-endpoint",
                    "unix://" + dir.resolve("no-helper.sock"));
            case "controller" -> List.of("--endpoint", "unix://" + socket);
            default -> List.of("--endpoint", "unix://" + socket);
        };
        Files.deleteIfExists(socket);
        BenchEnvironment runtime = variant.launcher() == null ? env : env.withLauncher(variant.launcher());
        try (RoleProcess process = RoleProcess.start(runtime, role, args, variant.opts(), variant.heap(),
                variant.environment(), "footprint-" + role)) {
            long ready = Csi.awaitReady(process, socket, role.equals("mount-helper") ? Csi.Readiness.HELPER_HEALTH
                    : Csi.Readiness.IDENTITY_PROBE, Duration.ofSeconds(60));
            Csi.sleepMillis(SETTLE.toMillis());
            process.requireAlive();
            return new Idle(ready / 1e6, process.memory());
        }
    }

    /** The node plugin's memory through one measured storm (after a warm-up storm), with {@code variant}. */
    private record StormMemory(double hwmMib, double afterMib, double publishP99) {
    }

    private StormMemory stormMemory(Variant variant) throws Exception {
        try (NodeDriver driver = NodeDriver.start(env, "footprint-storm", variant.opts(), variant.heap(),
                variant.environment(), "")) {
            List<NodeDriver.Staged> volumes = new ArrayList<>();
            for (int v = 0; v < StormBench.VOLUMES; v++) {
                driver.makeVolume("bench-storm-" + v);
                volumes.add(driver.stage("bench-storm-" + v));
            }
            Path targets = Files.createDirectories(driver.dir().resolve("pods"));
            NodeGrpc.NodeBlockingStub node = driver.stub();
            Samples publish = new Samples();
            for (int s = 0; s < 2; s++) {
                publish = new Samples();
                Parallel.run(StormBench.CALLERS, StormBench.PUBLISHES, publish, Duration.ofSeconds(180), i -> {
                    NodeDriver.Staged volume = volumes.get(i % volumes.size());
                    node.nodePublishVolume(Csi.publish(env, volume.subDir(), volume.staging(), targets.resolve("t" + i)));
                });
                Parallel.run(StormBench.CALLERS, StormBench.PUBLISHES, new Samples(), Duration.ofSeconds(180), i -> {
                    NodeDriver.Staged volume = volumes.get(i % volumes.size());
                    node.nodeUnpublishVolume(Csi.unpublish(volume.subDir(), targets.resolve("t" + i)));
                });
            }
            Csi.sleepMillis(SETTLE.toMillis());
            ProcMemory memory = driver.node().memory();
            return new StormMemory(memory.hwmMib(), memory.rssMib(), publish.percentileMillis(99));
        }
    }

    /**
     * Where an idle node plugin's memory goes: one more start as shipped with Native Memory
     * Tracking (NMT adds about 1 MiB of its own), its NMT summary (committed memory per JVM area) and its RSS per
     * mapping (/proc/PID/smaps).
     */
    private List<List<String>> breakdown(Variant shipped, Path dir) {
        List<List<String>> rows = new ArrayList<>();
        Path socket = dir.resolve("nmt-node.sock");
        Path classLog = dir.resolve("nmt-node-classes.log");
        try {
            Files.deleteIfExists(socket);
            Files.deleteIfExists(classLog);
            try (RoleProcess process = RoleProcess.start(env, "node", List.of("--endpoint", "unix://" + socket,
                    "--node-id", "bench", "--mount-helper-endpoint", "unix://" + dir.resolve("no-helper.sock")),
                    shipped.opts() + " -XX:NativeMemoryTracking=summary -Xlog:class+load=info:file=" + classLog,
                    null, "footprint-nmt")) {
                Csi.awaitReady(process, socket, Csi.Readiness.IDENTITY_PROBE, Duration.ofSeconds(60));
                Csi.sleepMillis(SETTLE.toMillis());
                Cmd.Result nmt = Cmd.check(Duration.ofSeconds(30), List.of(env.javaHome().resolve("bin/jcmd").toString(),
                        Long.toString(process.pid()), "VM.native_memory", "summary"));
                java.util.regex.Pattern line = java.util.regex.Pattern.compile(
                        "^-\\s+(.+?) \\(reserved=(\\d+)KB, committed=(\\d+)KB");
                List<long[]> values = new ArrayList<>();
                List<String> names = new ArrayList<>();
                for (String text : nmt.output().lines().toList()) {
                    var m = line.matcher(text.strip().startsWith("-") ? text.strip() : "");
                    if (m.find() && Long.parseLong(m.group(3)) >= 256) {
                        names.add(m.group(1).strip());
                        values.add(new long[] {Long.parseLong(m.group(3))});
                    }
                }
                for (int i = 0; i < names.size(); i++) {
                    rows.add(List.of("NMT: " + names.get(i), String.format("%.1f MiB committed", values.get(i)[0] / 1024.0)));
                }
                Map<String, Long> byMapping = new LinkedHashMap<>();
                String current = "[anonymous]";
                for (String text : Files.readAllLines(Path.of("/proc/" + process.pid() + "/smaps"))) {
                    String[] parts = text.split("\\s+");
                    if (text.matches("^[0-9a-f]+-[0-9a-f]+ .*")) {
                        String file = parts.length > 5 ? parts[5] : "[anonymous]";
                        current = file.endsWith("libjvm.so") ? "libjvm.so (JVM code)"
                                : file.endsWith(".jsa") ? "CDS archive (" + Path.of(file).getFileName() + ")"
                                : file.endsWith(".aot") ? "AOT cache (" + Path.of(file).getFileName() + "): class data"
                                : file.startsWith("/") ? "other mapped files" : "anonymous (heap, metaspace, malloc, stacks…)";
                    } else if (text.startsWith("Rss:")) {
                        byMapping.merge(current, Long.parseLong(parts[1]), Long::sum);
                    }
                }
                byMapping.forEach((name, kib) -> rows.add(List.of("RSS: " + name, String.format("%.1f MiB", kib / 1024.0))));
                Cmd.Result classes = Cmd.run(Duration.ofSeconds(30), false, List.of(
                        env.javaHome().resolve("bin/jcmd").toString(), Long.toString(process.pid()), "VM.classloader_stats"));
                long loaded = 0;
                for (String text : classes.output().lines().toList()) {
                    String[] parts = text.strip().split("\\s+");
                    if (parts.length >= 4 && parts[0].equals("Total") && parts[3].matches("[0-9]+")) {
                        loaded = Long.parseLong(parts[3]); // Total = <loaders> <classes> <chunk bytes> <block bytes>
                    }
                }
                if (loaded > 0) {
                    rows.add(List.of("classes loaded (jcmd VM.classloader_stats)", Long.toString(loaded)));
                }
                rows.add(List.of("threads", Integer.toString(process.memory().threads())));
                Map<String, Integer> byLibrary = new java.util.TreeMap<>();
                for (String text : Files.readAllLines(classLog)) {
                    int start = text.indexOf("] ", text.indexOf("class,load"));
                    int end = text.indexOf(" source:");
                    if (start > 0 && end > start) {
                        byLibrary.merge(library(text.substring(start + 2, end)), 1, Integer::sum);
                    }
                }
                byLibrary.entrySet().stream().sorted(Map.Entry.<String, Integer>comparingByValue().reversed())
                        .forEach(e -> rows.add(List.of("classes loaded from " + e.getKey(), Integer.toString(e.getValue()))));
            }
        } catch (IOException | RuntimeException e) {
            rows.add(List.of("(breakdown failed)", e.getMessage()));
        }
        return rows;
    }

    /** The library a class comes from, by package. */
    private static String library(String className) {
        for (String[] prefix : new String[][] {{"io.netty.", "netty"}, {"io.grpc.", "gRPC"}, {"com.google.protobuf.", "protobuf"},
                {"com.google.", "other com.google (guava, gson…)"}, {"io.gatewaycsi.", "gateway-csi (incl. generated CSI stubs)"},
                {"picocli.", "picocli"}, {"io.fabric8.", "fabric8"}, {"io.prometheus.", "prometheus"},
                {"com.fasterxml.", "jackson"}, {"org.cryptomator.", "jfuse"}, {"java.", "JDK"}, {"javax.", "JDK"},
                {"jdk.", "JDK"}, {"sun.", "JDK"}, {"com.sun.", "JDK"}}) {
            if (className.startsWith(prefix[0])) {
                return prefix[1];
            }
        }
        return "other";
    }

    private void report(Variant shipped, Variant repository, List<Variant> extra, Map<String, StormMemory> storms,
                        List<List<String>> breakdown) throws Exception {
        int n = rounds.rounds("as shipped.node.rss");
        Report report = new Report("5. Footprint (issue 9)",
                "Each role as its own `gateway-csi <role>` process started through the image's launcher"
                        + " (cli/target/dist/bin/gateway-csi: the jlink runtime, the role's AOT cache and the flags"
                        + " `-XX:+UseSerialGC -Xss256k -XX:TieredStopAtLevel=1 -XX:+UseCompactObjectHeaders"
                        + " -XX:MaxMetaspaceSize=64m -Xms16m -XX:TrimNativeHeapInterval=1000 -Xmx96m`, node -Xmx48m),"
                        + " and through the repository's bin/gateway-csi on the JDK (same flags, no AOT cache), started "
                        + n + " times per setting, settings and roles interleaved. Idle = " + SETTLE.toSeconds()
                        + " s after the first ready answer, nothing else asked (the JVM returns start-up's compiler"
                        + " memory on a 5 s cycle); RSS from /proc/PID/status (VmRSS), PSS from /proc/PID/smaps_rollup."
                        + " Start-up = from spawning the launcher to the first ready answer (Identity Probe for"
                        + " controller and node, Health for the mount helper), polled every 2 ms. Median (min–max).");
        for (String role : ROLES) {
            double target = TARGET_MIB.get(role);
            Samples.Summary asShipped = rounds.summary(shipped.name() + "." + role + ".rss");
            report.row(role + " idle RSS, as shipped", asShipped.format("MiB"), "≤ " + (int) target + " MiB",
                    Report.Verdict.of(asShipped.median() <= target));
            report.row(role + " idle RSS, repository launcher on the JDK",
                    rounds.summary(repository.name() + "." + role + ".rss").format("MiB"), "—", Report.Verdict.NONE);
        }
        double nodeRss = rounds.summary(shipped.name() + ".node.rss").median();
        if (nodeRss > TARGET_MIB.get("node")) {
            report.note(String.format("The node plugin's gap: %.1f MiB idle against 64 MiB. Where it goes (last table):"
                    + " the JVM's own code (libjvm.so, ~17 MiB), the class data of ~5,000 classes mapped from the AOT"
                    + " cache (the JDK's ~2,300, netty's ~830, gRPC's ~450, protobuf's ~300 with the CSI descriptors,"
                    + " picocli, Prometheus and ours), and the anonymous rest (heap, compiled code, thread stacks)."
                    + " Flags do not close it: a 2 MiB young generation saves ~3 MiB, the interpreter alone (-Xint,"
                    + " no compiled code, no compiler) is still ~76 MiB. What would: loading far fewer classes (the"
                    + " protobuf lite runtime instead of descriptors and reflection, which the secret redaction and"
                    + " the request log use today, and an HTTP/2 transport lighter than netty), or a native image"
                    + " (GraalVM, not available on this machine). Sharing does not change it much: run beside the mount"
                    + " helper from the same image, the node plugin's PSS drops by about half of libjvm.so.", nodeRss));
        }
        Samples.Summary ready = rounds.summary(shipped.name() + ".node.ready");
        report.row("node start-up to ready Probe, as shipped", ready.format("ms"), "≤ 1000 ms",
                Report.Verdict.of(ready.median() <= 1000));
        if (rounds.rounds(WITHOUT_AOT + ".node.ready") > 0) {
            report.row("node start-up to ready Probe, as shipped without its AOT cache",
                    rounds.summary(WITHOUT_AOT + ".node.ready").format("ms"), "—", Report.Verdict.NONE);
        }
        report.row("node start-up to ready Probe, repository launcher on the JDK",
                rounds.summary(repository.name() + ".node.ready").format("ms"), "—", Report.Verdict.NONE);
        StormMemory stormShipped = storms.get(shipped.name());
        report.row("node peak RSS (VmHWM) through 2 storms of 500 publishes, as shipped",
                String.format("%.0f MiB", stormShipped.hwmMib()), "—", Report.Verdict.NONE);
        Properties storm = new Properties();
        Path stormFile = env.work().resolve("storm-rss.properties");
        if (Files.exists(stormFile)) {
            try (var in = Files.newBufferedReader(stormFile)) {
                storm.load(in);
            }
            report.row("node RSS under storm in benchmark 4 (as shipped): peak of samples / VmHWM",
                    storm.getProperty("node.storm.peak.mib") + " MiB / " + storm.getProperty("node.hwm.mib") + " MiB",
                    "—", Report.Verdict.NONE);
        }
        Path dist = env.launcher().getParent().getParent();
        for (String part : List.of("runtime", "lib/aot")) {
            Cmd.Result du = Cmd.check(Duration.ofSeconds(60), List.of("du", "-sb", dist.resolve(part).toString()));
            long bytes = Long.parseLong(du.output().strip().split("\\s+")[0]);
            report.row(part.equals("runtime") ? "jlink runtime size (`du -sb cli/target/dist/runtime`)"
                            : "AOT cache, one for every role (`du -sb cli/target/dist/lib/aot`)",
                    String.format("%.1f MiB", bytes / 1048576.0), "—", Report.Verdict.NONE);
        }
        List<List<String>> table = new ArrayList<>();
        for (Variant variant : List.of(shipped, repository)) {
            for (String role : ROLES) {
                String key = variant.name() + "." + role;
                table.add(List.of(variant.name() + (variant.opts().isEmpty() ? "" : " (`" + variant.opts() + "`)"), role,
                        rounds.summary(key + ".rss").format("MiB"), rounds.summary(key + ".pss").format("MiB"),
                        rounds.summary(key + ".ready").format("ms"), String.format("%.0f", rounds.summary(key + ".threads").median())));
            }
        }
        for (Variant variant : extra) {
            String key = variant.name() + ".node";
            if (rounds.rounds(key + ".rss") == 0) {
                continue;
            }
            table.add(List.of(variant.name() + " (`" + variant.opts() + "`)",
                    "node", rounds.summary(key + ".rss").format("MiB"), rounds.summary(key + ".pss").format("MiB"),
                    rounds.summary(key + ".ready").format("ms"), String.format("%.0f", rounds.summary(key + ".threads").median())));
        }
        report.table("JVM settings tried (GATEWAY_CSI_JAVA_OPTS on top of the launcher's flags); the extra node-only"
                        + " settings ran " + rounds.rounds(extra.getFirst().name() + ".node.rss") + " times each:",
                List.of("setting", "role", "idle RSS", "idle PSS", "start-up to ready", "threads"), table);
        List<List<String>> stormRows = new ArrayList<>();
        storms.forEach((name, memory) -> stormRows.add(List.of(name, String.format("%.0f MiB", memory.hwmMib()),
                String.format("%.0f MiB", memory.afterMib()), String.format("%.0f ms", memory.publishP99()))));
        report.table("The node plugin through storms (10 volumes, 2 × (500 publishes + 500 unpublishes), 64 callers;"
                        + " memory " + SETTLE.toSeconds() + " s after the second; one run per setting, so the"
                        + " p99 column is a single, noisy measurement — benchmark 4 has the repeated one):",
                List.of("setting", "VmHWM (peak RSS)", "RSS after", "publish p99 of the second storm"), stormRows);
        report.table("Where the idle node plugin's memory goes (as shipped, one more start with"
                + " `-XX:NativeMemoryTracking=summary`; NMT areas of 0.25 MiB and more):", List.of("what", "size"), breakdown);
        report.write(env.sections(), "5-footprint");
    }
}
