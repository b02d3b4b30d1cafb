package io.gatewaycsi.charts;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The flags of {@code gateway-csi <role> --help}, read from the real command: the distribution the Maven
 * build assembles (cli/target/dist/bin/gateway-csi on its jlink runtime), which is what the image runs.
 */
final class DriverHelp {

    private static final Pattern FLAG = Pattern.compile("(?<![\\w-])(--[a-z][a-z0-9-]*)");
    private static final Map<String, Set<String>> CACHE = new ConcurrentHashMap<>();

    private DriverHelp() {
    }

    /** Every long flag {@code gateway-csi <role> --help} mentions. */
    static Set<String> flags(String role) {
        return CACHE.computeIfAbsent(role, DriverHelp::read);
    }

    /** The help text of {@code role}. */
    static String help(String role) {
        String launcher = Repo.dist().resolve("bin/gateway-csi").toString();
        try {
            Process process = new ProcessBuilder(launcher, role, "--help").redirectErrorStream(true).start();
            String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new AssertionError(launcher + " " + role + " --help did not finish");
            }
            if (process.exitValue() != 0) {
                throw new AssertionError(launcher + " " + role + " --help exited " + process.exitValue() + ":\n" + out);
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    private static Set<String> read(String role) {
        String help = help(role);
        Set<String> flags = new TreeSet<>();
        // Only the usage and option lines, not descriptions that mention other commands' flags.
        for (String line : help.split("\n")) {
            String trimmed = line.strip();
            if (trimmed.startsWith("Usage:") || trimmed.startsWith("-") || trimmed.startsWith("[")) {
                Matcher matcher = FLAG.matcher(trimmed);
                while (matcher.find()) {
                    flags.add(matcher.group(1));
                }
            }
        }
        if (flags.isEmpty()) {
            throw new AssertionError("no flags in `gateway-csi " + role + " --help`:\n" + help);
        }
        return flags;
    }
}
