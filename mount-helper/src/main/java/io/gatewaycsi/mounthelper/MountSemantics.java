package io.gatewaycsi.mounthelper;

import io.gatewaycsi.common.volume.MountOption;
import io.gatewaycsi.nfs.NfsVersion;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * What a user-space mount does, resolved from its nfs(5) mount options (pure logic, no I/O).
 *
 * <p><b>Honoured</b> (reported in {@link #effectiveOptions()}, in this order, defaults included):
 * <ul>
 *   <li>{@code vers}/{@code nfsvers}: the closest version libnfs 4.0 speaks: {@code 3} → NFSv3; {@code 4},
 *       {@code 4.0}, {@code 4.1}, {@code 4.2} → NFSv4.0. Reported as {@code vers=3} or {@code vers=4.0}; default
 *       {@code vers=4.0}. A {@code vers=4.1} or {@code 4.2} asked for is listed among the ignored options too.</li>
 *   <li>{@code hard} (default), {@code soft}, {@code softerr}: what an operation the gateway does not answer
 *       does. {@code hard} retries (reconnecting, reopening open files by path) until the gateway answers or
 *       the mount is torn down; {@code soft} fails with {@code EIO} and {@code softerr} with {@code ETIMEDOUT}
 *       once {@code timeo × (retrans + 1)} deciseconds have passed (nfs(5) "soft", "softerr").</li>
 *   <li>{@code timeo} (deciseconds, 1–6000, default 600): the deadline of one RPC attempt; after it the
 *       connection is replaced and the call retried.</li>
 *   <li>{@code retrans} (0–100, default 2): retries before a {@code soft} mount gives up.</li>
 *   <li>{@code ro}/{@code rw} (default {@code rw}, or {@code ro} when the request says read-only): {@code ro}
 *       makes the FUSE mount read-only in the kernel and every write operation return {@code EROFS}.</li>
 *   <li>{@code port}: the gateway's NFS port; {@code proto=tcp|tcp6} (the only transport libnfs has);
 *       {@code sec=sys} (AUTH_SYS, the only flavour); {@code xprtsec=none}.</li>
 *   <li>{@code acregmin}, {@code acregmax}, {@code acdirmin}, {@code acdirmax}, {@code actimeo} (seconds),
 *       {@code noac}/{@code ac}, {@code lookupcache=all|positive|pos|none}: FUSE's attribute, entry and
 *       negative-entry timeouts as {@link AttributeCache} says (defaults nfs(5)'s: 3, 60, 30, 60,
 *       {@code lookupcache=all}; reported as {@code actimeo=N} when the four are equal, and
 *       {@code lookupcache=…}); {@code nocto} → FUSE {@code auto_cache} (cached file data is kept across opens
 *       unless the file's size or mtime changed; without it, like close-to-open, every open drops the cached
 *       data).</li>
 *   <li>{@code noexec}/{@code exec}, {@code nosuid}/{@code suid}, {@code nodev}/{@code dev}: passed to the
 *       kernel mount.</li>
 * </ul>
 *
 * <p><b>Refused</b> ({@link IllegalArgumentException}): options that ask for something a user-space mount
 * cannot give and that must not silently be dropped: {@code xprtsec=tls|mtls} (libnfs has no RPC-with-TLS),
 * {@code sec=} anything but {@code sys}, {@code proto=udp|rdma…}, and malformed values of honoured options.
 *
 * <p><b>Accepted and ignored</b> (listed in {@link #ignoredOptions()}, never reported as effective): every
 * other option, among them {@code nconnect} (the session opens up to {@link #MAX_CONNECTIONS} connections
 * lazily, one per concurrent call, whatever it says), {@code rsize}/{@code wsize} (libnfs negotiates its
 * transfer size with the gateway; FUSE requests are at most 1 MiB), {@code noresvport}, {@code nolock},
 * {@code local_lock}, {@code retry}, {@code intr}, {@code noatime}, {@code fsc}.
 *
 * @param version the NFS version to speak
 * @param recovery hard, soft or softerr
 * @param timeoDeciseconds the deadline of one RPC attempt in deciseconds
 * @param retrans the retries of a soft mount
 * @param readOnly whether the mount is read-only
 * @param port the gateway's NFS port, 0 for the default
 * @param attributeCache how long names and attributes are trusted ({@code ac*}, {@code noac},
 *     {@code lookupcache})
 * @param keepCacheAcrossOpens {@code nocto}: FUSE {@code auto_cache}
 * @param kernelFlags generic mount flags for the kernel mount ({@code noexec}, {@code nosuid}, …)
 * @param effectiveOptions the options in force, nfs(5) form
 * @param ignoredOptions the options accepted but not honoured, as given
 */
public record MountSemantics(NfsVersion version, Recovery recovery, int timeoDeciseconds, int retrans,
        boolean readOnly, int port, AttributeCache attributeCache, boolean keepCacheAcrossOpens, List<String> kernelFlags,
        List<String> effectiveOptions, List<String> ignoredOptions) {

    /** The most NFS connections (libnfs contexts) one mount opens. */
    public static final int MAX_CONNECTIONS = 16;

    /** nfs(5)'s default {@code timeo} for TCP: 600 deciseconds. */
    public static final int DEFAULT_TIMEO = 600;

    /** nfs(5)'s default {@code retrans} for TCP. */
    public static final int DEFAULT_RETRANS = 2;

    /** What an operation the gateway does not answer does (nfs(5) "hard", "soft", "softerr"). */
    public enum Recovery {
        /** Retry until the gateway answers or the mount is torn down. */
        HARD("hard"),
        /** Fail with EIO after {@code timeo × (retrans + 1)}. */
        SOFT("soft"),
        /** Fail with ETIMEDOUT after {@code timeo × (retrans + 1)}. */
        SOFTERR("softerr");

        private final String option;

        Recovery(String option) {
            this.option = option;
        }

        /** The nfs(5) flag, e.g. {@code "hard"}. */
        public String option() {
            return option;
        }
    }

    private static final Set<String> KERNEL_FLAGS = Set.of("exec", "noexec", "suid", "nosuid", "dev", "nodev");

    public MountSemantics {
        kernelFlags = List.copyOf(kernelFlags);
        effectiveOptions = List.copyOf(effectiveOptions);
        ignoredOptions = List.copyOf(ignoredOptions);
    }

    /**
     * Resolves mount options. Later options win over earlier ones of the same kind, as with mount(8).
     *
     * @param options nfs(5) options, one per entry ({@code "hard"}, {@code "timeo=600"}); an entry may also
     *     hold several comma-separated ones
     * @param readOnlyRequested the request's read-only flag ({@code ro} either way makes the mount read-only)
     * @throws IllegalArgumentException for a refused option or a malformed value, naming it and the choices
     */
    public static MountSemantics parse(List<String> options, boolean readOnlyRequested) {
        NfsVersion version = NfsVersion.V4;
        Recovery recovery = Recovery.HARD;
        int timeo = DEFAULT_TIMEO;
        int retrans = DEFAULT_RETRANS;
        boolean roOption = false;
        // Honoured extras in the order first given, last value wins: name -> option text.
        Map<String, String> extras = new LinkedHashMap<>();
        List<String> ignored = new ArrayList<>();
        AttributeCache cache = AttributeCache.DEFAULT;
        boolean nocto = false;
        Map<String, String> kernel = new LinkedHashMap<>();
        for (String entry : options) {
            if (entry == null || entry.isBlank()) {
                continue;
            }
            for (String text : entry.split(",")) {
                if (text.isBlank()) {
                    continue;
                }
                MountOption o = MountOption.parse(text.strip().toLowerCase(Locale.ROOT));
                String name = o.name();
                String value = o.value();
                switch (name) {
                    case "vers", "nfsvers" -> {
                        version = parseVersion(o);
                        if (value != null && (value.equals("4.1") || value.equals("4.2"))) {
                            ignored.add(o.toString()); // served as 4.0: not honoured, so said
                        }
                    }
                    case "hard" -> recovery = flag(o, Recovery.HARD);
                    case "soft" -> recovery = flag(o, Recovery.SOFT);
                    case "softerr" -> recovery = flag(o, Recovery.SOFTERR);
                    case "timeo" -> timeo = integer(o, 1, 6000);
                    case "retrans" -> retrans = integer(o, 0, 100);
                    case "ro" -> {
                        flag(o, null);
                        roOption = true;
                    }
                    case "rw" -> {
                        flag(o, null);
                        roOption = false;
                    }
                    case "port" -> extras.put("port", "port=" + integer(o, 0, 65535));
                    case "proto" -> extras.put("proto", "proto=" + choice(o, "tcp", "tcp6"));
                    case "sec" -> extras.put("sec", "sec=" + choice(o, "sys"));
                    case "xprtsec" -> extras.put("xprtsec", "xprtsec=" + choice(o, "none"));
                    case "actimeo" -> cache = cache.withActimeo(integer(o, 0, AttributeCache.MAX_SECONDS));
                    case "acregmin" -> cache = new AttributeCache(integer(o, 0, AttributeCache.MAX_SECONDS),
                            cache.acregmax(), cache.acdirmin(), cache.acdirmax(), cache.noac(), cache.lookupcache());
                    case "acregmax" -> cache = new AttributeCache(cache.acregmin(),
                            integer(o, 0, AttributeCache.MAX_SECONDS), cache.acdirmin(), cache.acdirmax(), cache.noac(),
                            cache.lookupcache());
                    case "acdirmin" -> cache = new AttributeCache(cache.acregmin(), cache.acregmax(),
                            integer(o, 0, AttributeCache.MAX_SECONDS), cache.acdirmax(), cache.noac(),
                            cache.lookupcache());
                    case "acdirmax" -> cache = new AttributeCache(cache.acregmin(), cache.acregmax(),
                            cache.acdirmin(), integer(o, 0, AttributeCache.MAX_SECONDS), cache.noac(),
                            cache.lookupcache());
                    case "noac", "ac" -> cache = new AttributeCache(cache.acregmin(), cache.acregmax(),
                            cache.acdirmin(), cache.acdirmax(), flag(o, name.equals("noac")), cache.lookupcache());
                    case "lookupcache" -> cache = new AttributeCache(cache.acregmin(), cache.acregmax(),
                            cache.acdirmin(), cache.acdirmax(), cache.noac(),
                            AttributeCache.LookupCache.of(requireValue(o)));
                    case "nocto" -> {
                        flag(o, null);
                        nocto = true;
                        extras.put("cto", "nocto");
                    }
                    case "cto" -> {
                        flag(o, null);
                        nocto = false;
                        extras.remove("cto");
                    }
                    default -> {
                        if (KERNEL_FLAGS.contains(name)) {
                            flag(o, null);
                            String base = name.startsWith("no") ? name.substring(2) : name;
                            kernel.remove(base);
                            if (name.startsWith("no")) {
                                kernel.put(base, name);
                            }
                        } else {
                            ignored.add(o.toString());
                        }
                    }
                }
            }
        }
        boolean readOnly = readOnlyRequested || roOption;
        List<String> effective = new ArrayList<>();
        effective.add("vers=" + version.label());
        effective.add(recovery.option());
        effective.add("timeo=" + timeo);
        effective.add("retrans=" + retrans);
        effective.add(readOnly ? "ro" : "rw");
        effective.addAll(extras.values());
        effective.addAll(cache.options());
        effective.addAll(kernel.values());
        int port = extras.containsKey("port") ? Integer.parseInt(extras.get("port").substring(5)) : 0;
        return new MountSemantics(version, recovery, timeo, retrans, readOnly, port, cache, nocto,
                List.copyOf(kernel.values()), effective, ignored);
    }

    private static NfsVersion parseVersion(MountOption o) {
        String v = requireValue(o);
        return switch (v) {
            case "3" -> NfsVersion.V3;
            case "4", "4.0", "4.1", "4.2" -> NfsVersion.V4;
            default -> throw new IllegalArgumentException("mount option `" + o + "`: the mount helper speaks NFS"
                    + " versions 3 and 4.0 (4, 4.1 and 4.2 are served as 4.0); use one of 3, 4, 4.0, 4.1, 4.2");
        };
    }

    private static <T> T flag(MountOption o, T result) {
        if (o.value() != null) {
            throw new IllegalArgumentException("mount option `" + o.name() + "` takes no value, got `" + o + "`");
        }
        return result;
    }

    private static String requireValue(MountOption o) {
        if (o.value() == null) {
            throw new IllegalArgumentException("mount option `" + o.name() + "` needs a value, as in `" + o.name()
                    + "=…`");
        }
        return o.value();
    }

    private static int integer(MountOption o, int min, int max) {
        String v = requireValue(o);
        try {
            int n = Integer.parseInt(v);
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("mount option `" + o + "` needs an integer from " + min + " to " + max);
    }

    private static String choice(MountOption o, String... allowed) {
        String v = requireValue(o);
        for (String a : allowed) {
            if (a.equals(v)) {
                return v;
            }
        }
        throw new IllegalArgumentException("mount option `" + o + "` cannot be honoured by the mount helper"
                + " (libnfs 4.0 over FUSE); it supports " + o.name() + "=" + String.join("|", allowed));
    }

    /** The deadline of one RPC attempt: {@code timeo} deciseconds. */
    public Duration attemptTimeout() {
        return Duration.ofMillis(100L * timeoDeciseconds);
    }

    /** How long a soft mount keeps trying: {@code timeo × (retrans + 1)} deciseconds. */
    public Duration softDeadline() {
        return Duration.ofMillis(100L * timeoDeciseconds * (retrans + 1L));
    }

    /** Whether an unanswered operation eventually fails ({@code soft}, {@code softerr}). */
    public boolean isSoft() {
        return recovery != Recovery.HARD;
    }
}
