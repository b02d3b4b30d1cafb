package io.gatewaycsi.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/** CPU time consumed so far, in nanoseconds: by this JVM, and by the gateway (GATEWAY_PID, from /proc). */
final class CpuTime {

    private static final long TICK_NANOS = 10_000_000L; // USER_HZ = 100 on Linux

    private CpuTime() {
    }

    static long thisJvm() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    /** The gateway process's user + system time, or 0 when GATEWAY_PID is not set or readable. */
    static long gateway() {
        String pid = System.getenv("GATEWAY_PID");
        if (pid == null || !pid.matches("[0-9]+")) {
            return 0;
        }
        try {
            String stat = Files.readString(Path.of("/proc", pid, "stat"));
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            // fields[0] is field 3 (state): utime is field 14, stime field 15.
            return (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) * TICK_NANOS;
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }
}
