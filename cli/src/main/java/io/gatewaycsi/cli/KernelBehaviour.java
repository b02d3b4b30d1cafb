package io.gatewaycsi.cli;

import io.gatewaycsi.node.MountEntry;
import io.gatewaycsi.node.MountTable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the kernel NFS client of a node will do with a new staging mount of a gateway share, as measured on
 * Linux 6.1 against the test gateway (test/kernel), for {@code gateway-csi doctor}:
 * <ul>
 *   <li><b>shared options</b>: volumes of one export share one NFS superblock, so a new volume gets the
 *   {@code timeo}, {@code retrans} and {@code soft}/{@code hard} of a mount of that export already on the node
 *   unless it asks for {@code nosharecache}; every mount of one gateway (and NFS version) shares one NFS client,
 *   whose {@code nconnect} is the first mount's, {@code nosharecache} or not;</li>
 *   <li><b>soft timing</b>: on NFSv3 a soft call fails after about timeo × (retrans + 1), the first one too; on NFSv4 the client does not retransmit on a connection that is still up (RFC 7530 §3.1.1),
 *   so the first call after the gateway falls silent fails only when the kernel gives the TCP connection up, which
 *   it times from the gateway's NFSv4 lease, not from timeo/retrans.</li>
 * </ul>
 * Pure logic over the mount table; each finding is a {@link Doctor.Check} that passes, with a fix when the
 * user should know (shown as a warning).
 */
final class KernelBehaviour {

    /** The measurements the soft-timing text quotes (test/kernel, Debian's 6.1 kernel, ganesha 4.3). */
    static final String SOFT_V4_MEASURED = "measured on Linux 6.1 with soft,timeo=10,retrans=1: 60-88 s with the"
            + " gateway's lease at 60 s, 22 s with it at 20 s, for NFSv4.0, 4.1 and 4.2 alike; timeo=50,retrans=2"
            + " changed nothing";

    private KernelBehaviour() {
    }

    /**
     * What a new mount of {@code server:share} asking {@code asked} (nfs(5) options, as passed to mount.nfs)
     * would share with the kernel NFS mounts in {@code table}.
     */
    static Doctor.Check sharing(String server, String share, List<String> asked, MountTable table) {
        Map<String, String> want = options(asked);
        String version = want.getOrDefault("vers", "");
        Map<String, MountEntry> superblocks = new LinkedHashMap<>();
        for (MountEntry entry : table.entries()) {
            if (entry.isNfs() && host(entry.source()).equals(server) && sameVersion(version, entry)) {
                superblocks.putIfAbsent(entry.device(), entry);
            }
        }
        String what = server + " (NFS " + (version.isEmpty() ? "any version" : "vers=" + version) + ")";
        if (superblocks.isEmpty()) {
            return new Doctor.Check("kernel sharing", true, "no kernel NFS mount of " + what + " on this node yet;"
                    + " the first one decides for later ones: volumes of one export share one NFS superblock (its"
                    + " timeo, retrans, soft/hard) unless a volume asks for nosharecache, and all mounts of the"
                    + " gateway share one NFS client (its nconnect, nosharecache or not)", "");
        }
        List<String> differences = new ArrayList<>();
        List<String> fixes = new ArrayList<>();
        MountEntry any = superblocks.values().iterator().next();
        String nconnect = options(any.superOptions()).getOrDefault("nconnect", "1");
        if (!want.getOrDefault("nconnect", "1").equals(nconnect)) {
            differences.add("nconnect=" + want.getOrDefault("nconnect", "1") + " asked, but the gateway's NFS client"
                    + " here has nconnect=" + nconnect + " (" + any.mountPoint() + "): every mount of the gateway uses"
                    + " it, nosharecache or not");
            fixes.add("a new nconnect applies only once no volume of the gateway is mounted on the node");
        }
        Optional<MountEntry> sameExport = superblocks.values().stream()
                .filter(entry -> under(path(entry.source()), share)).findFirst();
        if (sameExport.isPresent() && !asked.contains("nosharecache")) {
            Map<String, String> has = options(sameExport.get().superOptions());
            List<String> shared = new ArrayList<>();
            List<String> instead = new ArrayList<>();
            for (String key : List.of("timeo", "retrans")) {
                if (want.containsKey(key) && has.containsKey(key) && !want.get(key).equals(has.get(key))) {
                    shared.add(key + "=" + has.get(key));
                    instead.add(key + "=" + want.get(key));
                }
            }
            String mode = has.containsKey("soft") ? "soft" : has.containsKey("softerr") ? "softerr" : "hard";
            String askedMode = want.containsKey("soft") ? "soft" : want.containsKey("softerr") ? "softerr" : "hard";
            if (!mode.equals(askedMode)) {
                shared.add(mode);
                instead.add(askedMode);
            }
            if (!shared.isEmpty()) {
                differences.add("a new volume of " + server + ":" + share + " would share the superblock of "
                        + sameExport.get().mountPoint() + " and get " + String.join(",", shared) + ", not the asked "
                        + String.join(",", instead));
                fixes.add("add the mount option nosharecache to give each volume its own timeo, retrans and"
                        + " soft/hard, or give every volume of the export the same ones");
            }
        }
        String found = superblocks.size() + " kernel NFS superblock(s) of " + what + " here, e.g. " + any.mountPoint()
                + " (" + String.join(",", shown(options(any.superOptions()))) + ")";
        if (differences.isEmpty()) {
            return new Doctor.Check("kernel sharing", true, found + "; a new volume with these options gets them as"
                    + " asked", "");
        }
        return new Doctor.Check("kernel sharing", true, found + "; " + String.join("; ", differences),
                String.join("; ", fixes));
    }

    /** When soft I/O fails through the kernel with {@code asked}; empty for a hard mount. */
    static Optional<Doctor.Check> softTiming(List<String> asked) {
        Map<String, String> want = options(asked);
        if (!want.containsKey("soft") && !want.containsKey("softerr")) {
            return Optional.empty();
        }
        String timeo = want.getOrDefault("timeo", "600");
        String retrans = want.getOrDefault("retrans", "2");
        String later = "after about timeo × (retrans + 1) (timeo=" + timeo + ",retrans=" + retrans + ": about "
                + Math.max(1, Math.round(Integer.parseInt(timeo) * (Integer.parseInt(retrans) + 1L) / 10.0))
                + " s; measured 2.2-2.8 s at timeo=10,retrans=1 and 17 s at timeo=50,retrans=2)";
        if (want.getOrDefault("vers", "").equals("3")) {
            return Optional.of(new Doctor.Check("soft timing", true, "NFSv3 through the kernel: every call, the first one after the gateway"
                    + " falls silent too, fails " + later,
                    ""));
        }
        return Optional.of(new Doctor.Check("soft timing", true, "NFSv4 through the kernel: the first call after the"
                + " gateway falls silent fails only when the kernel gives up the TCP connection, after about the"
                + " gateway's NFSv4 lease time, up to 1.5 times it (" + SOFT_V4_MEASURED + "); later calls fail "
                + later + " until the connection is back",
                "for a short first failure use nfsVersion 3 (measured 2.3 s), or shorten the gateway's NFSv4 lease"
                        + " time; no NFSv4 mount option shortens it"));
    }

    private static List<String> shown(Map<String, String> options) {
        List<String> shown = new ArrayList<>();
        for (String key : List.of("vers", "soft", "softerr", "hard", "timeo", "retrans", "nconnect")) {
            if (options.containsKey(key)) {
                shown.add(options.get(key).isEmpty() ? key : key + "=" + options.get(key));
            }
        }
        if (!options.containsKey("nconnect")) {
            shown.add("nconnect=1");
        }
        return shown;
    }

    private static boolean sameVersion(String asked, MountEntry entry) {
        String has = options(entry.superOptions()).getOrDefault("vers", "");
        if (asked.isEmpty() || asked.equals(has)) {
            return true;
        }
        return asked.equals("4") ? has.startsWith("4") : asked.equals("4.0") && has.equals("4");
    }

    private static Map<String, String> options(List<String> list) {
        Map<String, String> map = new LinkedHashMap<>();
        for (String option : list) {
            int eq = option.indexOf('=');
            String key = eq < 0 ? option : option.substring(0, eq);
            map.put(key.equals("nfsvers") ? "vers" : key, eq < 0 ? "" : option.substring(eq + 1));
        }
        return map;
    }

    /** The host part of an NFS source {@code host:/path} or {@code [v6]:/path}, without brackets. */
    private static String host(String source) {
        int split = source.indexOf(":/");
        String host = split < 0 ? source : source.substring(0, split);
        return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    }

    private static String path(String source) {
        int split = source.indexOf(":/");
        return split < 0 ? "" : source.substring(split + 1);
    }

    private static boolean under(String path, String base) {
        String trimmed = base.length() > 1 && base.endsWith("/") ? base.substring(0, base.length() - 1) : base;
        return path.equals(trimmed) || path.startsWith(trimmed.equals("/") ? "/" : trimmed + "/");
    }
}
