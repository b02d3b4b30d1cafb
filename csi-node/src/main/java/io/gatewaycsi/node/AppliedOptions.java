package io.gatewaycsi.node;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What the kernel did with the NFS options a staging mount asked for, read from the mount's line in the mount
 * table (proc(5) mountinfo: per-mount and per-superblock options). The kernel changes options without an
 * error, as measured on Debian's 6.1 kernel against the test gateway (test/kernel):
 * <ul>
 *   <li>it shares one NFS client and superblock between mounts of the same export, so {@code timeo},
 *   {@code retrans}, {@code nconnect}, {@code rsize}/{@code wsize} and {@code soft}/{@code hard} of a later
 *   mount are those of the first unless {@code nosharecache} separates them;</li>
 *   <li>it rounds {@code rsize}/{@code wsize} down to a power of two (3072 → 2048, 5120 → 4096);</li>
 *   <li>on NFSv4 it ignores {@code nolock} and {@code local_lock} (shows {@code local_lock=none}); it ignores
 *   {@code intr}/{@code nointr} on every version (nfs(5): "deprecated … ignored").</li>
 * </ul>
 * Pure logic, no I/O.
 */
final class AppliedOptions {

    /** Options whose asked value the kernel shows as {@code key=value} in the mount table. */
    private static final Set<String> SHOWN = Set.of("vers", "rsize", "wsize", "timeo", "retrans", "nconnect",
            "acregmin", "acregmax", "acdirmin", "acdirmax", "proto", "port", "sec", "lookupcache", "local_lock");
    /** Values the kernel leaves out of the mount table because they are its default. */
    private static final Map<String, String> NOT_SHOWN_DEFAULTS = Map.of("nconnect", "1", "lookupcache", "all");

    private AppliedOptions() {
    }

    /**
     * The differences between {@code asked} (the options passed to mount.nfs, as {@code key=value} or flags)
     * and what {@code applied} (the staging mount's mount table entry) shows, one sentence each, e.g.
     * {@code timeo=30 asked, timeo=10 applied}; empty when the kernel applied everything as asked.
     */
    static List<String> differences(List<String> asked, MountEntry applied) {
        Map<String, String> shown = new LinkedHashMap<>();
        for (String option : applied.mountOptions()) {
            put(shown, option);
        }
        for (String option : applied.superOptions()) {
            put(shown, option);
        }
        boolean v4 = applied.fsType().equals("nfs4") || shown.getOrDefault("vers", "").startsWith("4");
        List<String> differences = new ArrayList<>();
        for (String option : asked) {
            int eq = option.indexOf('=');
            String key = eq < 0 ? option : option.substring(0, eq);
            String value = eq < 0 ? "" : option.substring(eq + 1);
            if (key.equals("nfsvers")) {
                key = "vers";
            }
            String difference = switch (key) {
                case "vers" -> versionDifference(value, shown.get("vers"));
                case "actimeo" -> {
                    for (String each : List.of("acregmin", "acregmax", "acdirmin", "acdirmax")) {
                        String got = shown.get(each);
                        if (got != null && !got.equals(value)) {
                            yield option + " asked, " + each + "=" + got + " applied";
                        }
                    }
                    yield null;
                }
                case "soft", "hard" -> {
                    String other = key.equals("soft") ? "hard" : "soft";
                    yield shown.containsKey(other) ? key + " asked, " + other + " applied" : null;
                }
                case "ro", "rw" -> {
                    String other = key.equals("ro") ? "rw" : "ro";
                    yield shown.containsKey(other) ? key + " asked, " + other + " applied" : null;
                }
                case "intr", "nointr" -> option + " asked, ignored by the kernel (nfs(5): deprecated)";
                case "lock", "nolock" -> v4 ? option + " asked, ignored on NFSv4 (locking is part of the protocol)"
                        : null;
                case "local_lock" -> v4 && !value.equals(shown.getOrDefault("local_lock", value))
                        ? option + " asked, ignored on NFSv4 (local_lock=" + shown.get("local_lock") + " applied)"
                        : valueDifference(key, value, shown);
                default -> SHOWN.contains(key) && eq >= 0 ? valueDifference(key, value, shown) : null;
            };
            if (difference != null) {
                differences.add(difference);
            }
        }
        return differences;
    }

    private static String valueDifference(String key, String value, Map<String, String> shown) {
        String got = shown.getOrDefault(key, NOT_SHOWN_DEFAULTS.get(key));
        if (got == null || got.equals(value)) {
            return null;
        }
        return key + "=" + value + " asked, " + key + "=" + got + " applied";
    }

    /** {@code vers=4} lets the kernel negotiate the minor version: any 4.x applied matches it. */
    private static String versionDifference(String asked, String got) {
        if (got == null || got.equals(asked) || (asked.equals("4") && got.startsWith("4."))
                || (asked.equals("4.0") && got.equals("4"))) {
            return null;
        }
        return "vers=" + asked + " asked, vers=" + got + " applied";
    }

    private static void put(Map<String, String> shown, String option) {
        int eq = option.indexOf('=');
        if (eq < 0) {
            shown.put(option, "");
        } else {
            shown.put(option.substring(0, eq), option.substring(eq + 1));
        }
    }
}
