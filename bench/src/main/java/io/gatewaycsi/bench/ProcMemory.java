package io.gatewaycsi.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A process's memory as the kernel accounts it, in KiB: resident set (VmRSS), its peak (VmHWM) from
 * {@code /proc/PID/status}, and the proportional set size (Pss, shared pages divided among their users) from
 * {@code /proc/PID/smaps_rollup}; plus the thread count.
 */
record ProcMemory(long rssKib, long hwmKib, long pssKib, int threads) {

    static ProcMemory of(long pid) throws IOException {
        long rss = 0;
        long hwm = 0;
        int threads = 0;
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("VmRSS:")) {
                rss = kib(line);
            } else if (line.startsWith("VmHWM:")) {
                hwm = kib(line);
            } else if (line.startsWith("Threads:")) {
                threads = Integer.parseInt(line.substring("Threads:".length()).strip());
            }
        }
        long pss = 0;
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/smaps_rollup"))) {
            if (line.startsWith("Pss:")) {
                pss = kib(line);
            }
        }
        return new ProcMemory(rss, hwm, pss, threads);
    }

    double rssMib() {
        return rssKib / 1024.0;
    }

    double hwmMib() {
        return hwmKib / 1024.0;
    }

    double pssMib() {
        return pssKib / 1024.0;
    }

    private static long kib(String line) {
        String value = line.substring(line.indexOf(':') + 1).strip();
        return Long.parseLong(value.split("\\s+")[0]);
    }
}
