package io.gatewaycsi.bench;

import java.nio.file.Path;
import java.time.Duration;

/**
 * What bench/run hands every benchmark (environment variables): the gateway it started, where the repository
 * and the Java 25 runtime are, where mounts, sockets and logs go, and where each benchmark's section of
 * bench/RESULTS.md is written.
 *
 * @param server     NFS_SERVER: the gateway's address
 * @param share      NFS_SHARE: the exported (pseudo) path, e.g. {@code /export}
 * @param exportDir  NFS_EXPORT_DIR: the local directory behind the share (for preparing data and checks)
 * @param sections   BENCH_SECTIONS: one {@code <benchmark>.md} per benchmark is written here
 * @param work       BENCH_WORK: sockets, staging and target directories, logs, recordings
 * @param home       BENCH_HOME: the repository
 * @param javaHome   BENCH_JAVA_HOME: the Java 25 JDK (its jcmd; the repository launcher's runtime)
 * @param launcher   BENCH_LAUNCHER: the launcher driver processes are started with; bench/run gives the one
 *                   the image ships ({@code cli/target/dist/bin/gateway-csi}: jlink runtime, AOT caches)
 * @param rounds     BENCH_ROUNDS: rounds per comparison (at least 5; the 1 GiB cases use {@link #bigRounds})
 * @param bigRounds  BENCH_BIG_ROUNDS: rounds of the 1 GiB sequential cases
 * @param bigBytes   BENCH_BIG_BYTES: size of the sequential and random-read files (1 GiB by default)
 * @param budget     BENCH_BUDGET_S: the time a benchmark may take before it stops starting rounds
 */
record BenchEnvironment(String server, String share, Path exportDir, Path sections, Path work, Path home,
                        Path javaHome, Path launcher, int rounds, int bigRounds, long bigBytes, Duration budget) {

    static BenchEnvironment fromEnv() {
        return new BenchEnvironment(require("NFS_SERVER"), require("NFS_SHARE"), Path.of(require("NFS_EXPORT_DIR")),
                Path.of(require("BENCH_SECTIONS")), Path.of(require("BENCH_WORK")), Path.of(require("BENCH_HOME")),
                Path.of(require("BENCH_JAVA_HOME")), Path.of(require("BENCH_LAUNCHER")), Integer.parseInt(optional("BENCH_ROUNDS", "5")),
                Integer.parseInt(optional("BENCH_BIG_ROUNDS", "5")),
                Long.parseLong(optional("BENCH_BIG_BYTES", Long.toString(1L << 30))),
                Duration.ofSeconds(Long.parseLong(optional("BENCH_BUDGET_S", "240"))));
    }

    /** The same with driver processes started by {@code other} (another launcher). */
    BenchEnvironment withLauncher(Path other) {
        return new BenchEnvironment(server, share, exportDir, sections, work, home, javaHome, other, rounds, bigRounds,
                bigBytes, budget);
    }

    /** {@code nfs://server/share/relative?version=N}, the URL form of libnfs-utils. */
    String nfsUrl(String relative, int version) {
        String share = share().endsWith("/") ? share() : share() + "/";
        return "nfs://" + server + share + relative + "?version=" + version;
    }

    private static String optional(String name, String fallback) {
        String value = System.getenv(name);
        return value == null || value.isEmpty() ? fallback : value;
    }

    private static String require(String name) {
        String value = System.getenv(name);
        if (value == null || value.isEmpty()) {
            throw new IllegalStateException(name + " is not set: run benchmarks through bench/run");
        }
        return value;
    }
}
