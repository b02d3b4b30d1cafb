package io.gatewaycsi.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The memory of a driver process, measured from outside as an operator would: the Java heap in use right
 * after a full GC ({@code jcmd PID GC.run}, then {@code GC.heap_info}: the live objects, so a leak shows as
 * growth) and the process's resident set ({@code VmRSS} of /proc/PID/status).
 *
 * @param heapAfterGcBytes heap in use after a full collection, bytes
 * @param rssBytes         resident set size, bytes
 */
record JvmMemory(long heapAfterGcBytes, long rssBytes) {

    private static final Pattern USED = Pattern.compile("^\\s*(?:DefNew|Tenured|def new generation|tenured generation|PSYoungGen|ParOldGen|garbage-first heap)\\s+total \\d+K, used (\\d+)K", Pattern.MULTILINE);

    /**
     * Measures process {@code pid}; {@code asUser} is the uid it runs as (jcmd must run as the same user), -1
     * for this user.
     */
    static JvmMemory of(long pid, int asUser) throws IOException, InterruptedException {
        jcmd(pid, asUser, "GC.run");
        String heap = jcmd(pid, asUser, "GC.heap_info");
        long used = 0;
        Matcher matcher = USED.matcher(heap);
        int generations = 0;
        while (matcher.find()) {
            used += Long.parseLong(matcher.group(1)) * 1024;
            generations++;
        }
        if (generations == 0) {
            throw new IOException("no heap sizes in jcmd GC.heap_info of " + pid + ": " + heap);
        }
        return new JvmMemory(used, rss(pid));
    }

    /** VmRSS of the process, bytes. */
    static long rss(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        throw new IOException("no VmRSS for " + pid);
    }

    private static String jcmd(long pid, int asUser, String command) throws IOException, InterruptedException {
        List<String> argv = new ArrayList<>();
        if (asUser >= 0) {
            argv.addAll(List.of("setpriv", "--reuid=" + asUser, "--regid=" + asUser, "--clear-groups"));
        }
        argv.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(), Long.toString(pid),
                command));
        Process process = new ProcessBuilder(argv).redirectErrorStream(true).directory(Path.of("/tmp").toFile())
                .start();
        byte[] out = process.getInputStream().readAllBytes();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IOException("jcmd " + pid + " " + command + " did not finish within 60 s");
        }
        String text = new String(out, StandardCharsets.UTF_8);
        if (process.exitValue() != 0) {
            throw new IOException("jcmd " + pid + " " + command + " exited " + process.exitValue() + ": " + text);
        }
        return text;
    }

    static String mib(long bytes) {
        return String.format("%.1f", bytes / 1048576.0);
    }

    @Override
    public String toString() {
        return "heap_after_gc_mib=" + mib(heapAfterGcBytes) + " rss_mib=" + mib(rssBytes);
    }
}
