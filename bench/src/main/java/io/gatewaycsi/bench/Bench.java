package io.gatewaycsi.bench;

import io.gatewaycsi.common.LogSetup;
import java.util.List;

/**
 * Entry point of the benchmarks, run by bench/run (never by Maven's test phases): {@code Bench <name>...}
 * with {@code controller}, {@code publish}, {@code datapath}, {@code storm}, {@code footprint} or {@code loader}. Each writes
 * its section of bench/RESULTS.md into BENCH_SECTIONS.
 */
public final class Bench {

    private Bench() {
    }

    /**
     * For investigating by hand: stages volume {@code bench-hold} through fresh node plugin and mount helper
     * processes, prints its staging path, and keeps it mounted for BENCH_HOLD_S seconds (default 300).
     */
    private static void hold(BenchEnvironment env) throws Exception {
        try (NodeDriver driver = NodeDriver.start(env, "hold", "", System.getenv().getOrDefault("BENCH_HELPER_OPTS", ""))) {
            driver.makeVolume("bench-hold");
            NodeDriver.Staged staged = driver.stage("bench-hold", System.getenv("BENCH_HOLD_NFS_VERSION"), "");
            System.out.println("staged at " + staged.staging() + " (helper pid " + driver.helper().pid() + ", node pid "
                    + driver.node().pid() + ")");
            Thread.sleep(1000L * Long.parseLong(System.getenv().getOrDefault("BENCH_HOLD_S", "300")));
        }
    }

    public static void main(String[] args) throws Exception {
        BenchEnvironment env = BenchEnvironment.fromEnv();
        // The in-process services log like the driver does (one line per RPC), to stderr: bench/run keeps it.
        LogSetup.configure(System.getenv().getOrDefault("BENCH_LOG_LEVEL", "info"));
        for (String name : args.length == 0 ? List.of("controller", "publish", "datapath", "storm", "footprint", "loader")
                : List.of(args)) {
            long start = System.nanoTime();
            System.out.println("== benchmark " + name);
            switch (name) {
                case "controller" -> ControllerBench.run(env);
                case "publish" -> PublishBench.run(env);
                case "datapath" -> DataPathBench.run(env);
                case "storm" -> StormBench.run(env);
                case "footprint" -> FootprintBench.run(env);
                case "loader" -> DataLoaderBench.run(env);
                case "hold" -> hold(env);
                case "storm-variants" -> FootprintBench.stormVariants(env);
                default -> throw new IllegalArgumentException("unknown benchmark " + name
                        + ": controller, publish, datapath, storm, footprint or loader");
            }
            System.out.printf("== benchmark %s took %.0f s%n", name, (System.nanoTime() - start) / 1e9);
        }
        System.exit(0);
    }
}
