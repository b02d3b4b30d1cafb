package io.gatewaycsi.common.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;

/**
 * The size of the reliability suite's runs (test/reliability/README.md): {@code quick}, the default, which
 * runs inside {@code ./mvnw verify} (5 s link cuts, 100 create/delete pairs, 200 publish pairs, few
 * property tries), or {@code full} ({@code test/reliability/run}: 60 s cuts, 1,000 and 2,000 pairs, many
 * property tries). Chosen by the system property {@value #PROPERTY} ({@code -Dreliability=full} on the Maven
 * command line reaches the forked test JVMs) or else the environment variable {@value #ENV}.
 *
 * <p>{@link #report} records a measurement: it prints it and, when the system property
 * {@value #REPORT_PROPERTY} names a file, appends it there as one line ({@code test/reliability/run} collects
 * them for RESULTS.md).
 */
public final class Reliability {

    /** System property selecting the size: {@code quick} or {@code full}. */
    public static final String PROPERTY = "reliability";
    /** Environment variable used when the property is not set. */
    public static final String ENV = "GATEWAY_CSI_RELIABILITY";
    /** System property naming the file measurements are appended to. */
    public static final String REPORT_PROPERTY = "reliability.report";

    private Reliability() {
    }

    /** {@code full} or {@code quick}. */
    public static String size() {
        String value = System.getProperty(PROPERTY);
        if (value == null || value.isBlank()) {
            value = System.getenv(ENV);
        }
        if (value == null || value.isBlank()) {
            return "quick";
        }
        String size = value.strip().toLowerCase(Locale.ROOT);
        if (!size.equals("quick") && !size.equals("full")) {
            throw new IllegalArgumentException(PROPERTY + " must be quick or full, got `" + value + "`");
        }
        return size;
    }

    /** Whether the full form runs. */
    public static boolean full() {
        return size().equals("full");
    }

    /** {@code quick} in the quick form, {@code full} in the full one. */
    public static int pick(int quick, int full) {
        return full() ? full : quick;
    }

    /** {@code quick} in the quick form, {@code full} in the full one. */
    public static Duration pick(Duration quick, Duration full) {
        return full() ? full : quick;
    }

    /**
     * Records one measurement line, e.g. {@code load.controller pairs=1000 errors=0 heap_mib_start=…}: printed,
     * and appended to the {@value #REPORT_PROPERTY} file when set.
     */
    public static synchronized void report(String line) {
        String stamped = Instant.now() + " size=" + size() + " " + line;
        System.out.println("RELIABILITY " + stamped);
        String file = System.getProperty(REPORT_PROPERTY);
        if (file != null && !file.isBlank()) {
            try {
                Files.writeString(Path.of(file), stamped + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                        StandardOpenOption.APPEND);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
