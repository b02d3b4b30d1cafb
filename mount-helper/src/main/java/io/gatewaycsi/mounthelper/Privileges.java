package io.gatewaycsi.mounthelper;

import io.gatewaycsi.common.LogLine;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.logging.Logger;

/**
 * The mount helper keeps only the capabilities FUSE and the NFS client need. In a cluster it runs in a
 * privileged container (Kubernetes allows Bidirectional mount propagation only there), which gives it every
 * capability; it keeps
 * <ul>
 *   <li>{@code CAP_SYS_ADMIN}: mount(2) of its FUSE file systems and umount2(2) of them (libfuse mounts
 *       directly as root, without the setuid fusermount3);</li>
 *   <li>{@code CAP_NET_BIND_SERVICE}: libnfs, running as root, connects from a reserved source port (below
 *       1024), which gateways exporting with {@code secure} (Linux knfsd's default) require.</li>
 * </ul>
 * and drops every other one from its effective, permitted, inheritable, ambient and bounding sets, with
 * {@code no_new_privs} set, so nothing it executes can regain them. What else it touches needs no capability
 * as root: {@code /dev/fuse} (mode 0666), the FUSE control files of its own connections
 * ({@code /sys/fs/fuse/connections/N/abort}, owned by root), the read-ahead of its FUSE devices
 * ({@code /sys/class/bdi/…/read_ahead_kb}, owned by root), staging directories owned by root, and chown of new
 * files on the gateway (an NFS SETATTR: the gateway decides, not the local kernel).
 *
 * <p>Capabilities are per thread in Linux and a JVM has started many threads before {@code main}, so the
 * drop cannot be applied in place: the calling thread lowers its bounding set (and clears its inheritable and
 * ambient sets), then re-executes this same JVM command line with {@code execve(/proc/self/exe)} — same
 * process ID, same open standard streams. A root process's new capabilities after execve are its bounding set,
 * so the new JVM starts with exactly the kept ones; {@value #MARK} in its environment says the drop happened.
 * If any step fails, the helper logs why and keeps running with what it has.
 */
public final class Privileges {

    private static final Logger LOG = Logger.getLogger(Privileges.class.getName());

    /** Capability numbers (linux/capability.h). */
    static final int CAP_NET_BIND_SERVICE = 10;
    static final int CAP_SYS_ADMIN = 21;
    /** The capabilities kept, as a mask. */
    public static final long KEPT = (1L << CAP_NET_BIND_SERVICE) | (1L << CAP_SYS_ADMIN);
    /** Environment variable set in the re-executed JVM. */
    public static final String MARK = "GATEWAY_CSI_CAPABILITIES_DROPPED";

    private static final int PR_CAPBSET_DROP = 24;
    private static final int PR_SET_NO_NEW_PRIVS = 38;
    private static final int PR_CAP_AMBIENT = 47;
    private static final int PR_CAP_AMBIENT_CLEAR_ALL = 4;
    private static final int LINUX_CAPABILITY_VERSION_3 = 0x20080522;

    /** What {@link #dropToWhatFuseNeeds} found or did. */
    public enum Outcome {
        /** Not root: nothing to drop (and nothing to mount with, unless the kernel allows it otherwise). */
        NOT_ROOT,
        /** Already holds no more than the kept capabilities (after the re-exec, or started that way). */
        ALREADY_MINIMAL,
        /** Could not drop (reason logged); runs with what it has. */
        FAILED
    }

    private Privileges() {
    }

    /**
     * Drops every capability but {@link #KEPT}: returns when there was nothing to drop (or it failed, logged);
     * otherwise replaces the process with a fresh start of the same command line and does not return.
     */
    public static Outcome dropToWhatFuseNeeds() {
        try {
            if (LinuxSyscalls.geteuid() != 0) {
                return Outcome.NOT_ROOT;
            }
            Map<String, Long> sets = capabilitySets();
            long extra = (sets.get("CapEff") | sets.get("CapPrm") | sets.get("CapBnd") | sets.get("CapInh")
                    | sets.get("CapAmb")) & ~KEPT;
            if (extra == 0) {
                LOG.info(LogLine.event("capabilities").with("kept", names(sets.get("CapEff")))
                        .with("bounding", names(sets.get("CapBnd"))).with("no_new_privs", noNewPrivs()).toString());
                return Outcome.ALREADY_MINIMAL;
            }
            if (System.getenv(MARK) != null) {
                LOG.warning(LogLine.event("capabilities-not-dropped").with("extra", names(extra))
                        .with("reason", "still held after re-executing").toString());
                return Outcome.FAILED;
            }
            reexecWithout(extra);
            return Outcome.FAILED; // not reached: execve returned an error, thrown above
        } catch (IOException | RuntimeException e) {
            LOG.warning(LogLine.event("capabilities-not-dropped").with("reason", e.getMessage()).toString());
            return Outcome.FAILED;
        }
    }

    /** CapInh, CapPrm, CapEff, CapBnd and CapAmb of /proc/self/status, as masks. */
    static Map<String, Long> capabilitySets() throws IOException {
        Map<String, Long> sets = new TreeMap<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("Cap")) {
                int colon = line.indexOf(':');
                sets.put(line.substring(0, colon), Long.parseUnsignedLong(line.substring(colon + 1).strip(), 16));
            }
        }
        for (String key : List.of("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")) {
            sets.putIfAbsent(key, 0L);
        }
        return sets;
    }

    private static String noNewPrivs() throws IOException {
        return Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("NoNewPrivs:"))
                .map(l -> l.substring("NoNewPrivs:".length()).strip()).findFirst().orElse("?");
    }

    /** Names of the capabilities in {@code mask}: {@code cap_sys_admin}, or {@code cap_N} for others. */
    static String names(long mask) {
        List<String> names = new ArrayList<>();
        for (int cap = 0; cap < 64; cap++) {
            if ((mask & (1L << cap)) != 0) {
                names.add(switch (cap) {
                    case CAP_NET_BIND_SERVICE -> "cap_net_bind_service";
                    case CAP_SYS_ADMIN -> "cap_sys_admin";
                    default -> "cap_" + cap;
                });
            }
        }
        return names.isEmpty() ? "none" : String.join(",", names);
    }

    @SuppressWarnings("restricted") // FFM downcalls into libc (needs --enable-native-access)
    private static void reexecWithout(long extra) throws IOException {
        Linker linker = Linker.nativeLinker();
        SymbolLookup libc = linker.defaultLookup();
        MethodHandle prctl = linker.downcallHandle(libc.find("prctl").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG),
                Linker.Option.firstVariadicArg(1));
        MethodHandle capget = linker.downcallHandle(libc.find("capget").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS));
        MethodHandle capset = linker.downcallHandle(libc.find("capset").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS));
        MethodHandle execve = linker.downcallHandle(libc.find("execve").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                        ValueLayout.ADDRESS));
        int lastCap = lastCapability();
        List<String> argv = commandLine();
        Map<String, String> env = new TreeMap<>(System.getenv());
        env.put(MARK, "1");
        LOG.info(LogLine.event("capabilities-drop").with("dropping", names(extra)).with("keeping", names(KEPT))
                .with("how", "re-executing the same command line").toString());
        // Everything below runs on this one thread, which execve then turns into the new process's only one.
        Arena arena = Arena.global();
        try {
            for (int cap = 0; cap <= lastCap; cap++) {
                if ((KEPT & (1L << cap)) == 0) {
                    check("prctl(PR_CAPBSET_DROP)", (int) prctl.invokeExact(PR_CAPBSET_DROP, (long) cap, 0L, 0L, 0L));
                }
            }
            check("prctl(PR_CAP_AMBIENT_CLEAR_ALL)",
                    (int) prctl.invokeExact(PR_CAP_AMBIENT, (long) PR_CAP_AMBIENT_CLEAR_ALL, 0L, 0L, 0L));
            // inheritable := 0 (effective and permitted stay until execve recomputes them from the bounding set)
            MemorySegment header = arena.allocate(8);
            header.set(ValueLayout.JAVA_INT, 0, LINUX_CAPABILITY_VERSION_3);
            header.set(ValueLayout.JAVA_INT, 4, 0);
            MemorySegment data = arena.allocate(24);
            check("capget", (int) capget.invokeExact(header, data));
            data.set(ValueLayout.JAVA_INT, 8, 0);
            data.set(ValueLayout.JAVA_INT, 20, 0);
            check("capset", (int) capset.invokeExact(header, data));
            check("prctl(PR_SET_NO_NEW_PRIVS)", (int) prctl.invokeExact(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L));
            MemorySegment path = arena.allocateFrom("/proc/self/exe");
            int rc = (int) execve.invokeExact(path, cStrings(arena, argv),
                    cStrings(arena, env.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList()));
            throw new IOException("execve(/proc/self/exe) failed (" + rc + ")");
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("capability drop failed: " + t, t);
        }
    }

    /**
     * The highest capability number the kernel knows (/proc/sys/kernel/cap_last_cap). Read line-wise: a
     * whole-file read of this sysctl returned only its first byte ("4" of "40").
     */
    private static int lastCapability() throws IOException {
        try (java.io.BufferedReader in = Files.newBufferedReader(Path.of("/proc/sys/kernel/cap_last_cap"))) {
            String line = in.readLine();
            if (line == null) {
                throw new IOException("/proc/sys/kernel/cap_last_cap is empty");
            }
            return Integer.parseInt(line.strip());
        }
    }

    /** The command line this JVM was started with (/proc/self/cmdline). */
    private static List<String> commandLine() throws IOException {
        byte[] raw = Files.readAllBytes(Path.of("/proc/self/cmdline"));
        List<String> argv = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < raw.length; i++) {
            if (raw[i] == 0) {
                argv.add(new String(raw, start, i - start, StandardCharsets.UTF_8));
                start = i + 1;
            }
        }
        if (argv.isEmpty()) {
            throw new IOException("/proc/self/cmdline is empty");
        }
        return argv;
    }

    private static MemorySegment cStrings(Arena arena, List<String> strings) {
        MemorySegment array = arena.allocate(ValueLayout.ADDRESS, strings.size() + 1L);
        for (int i = 0; i < strings.size(); i++) {
            array.setAtIndex(ValueLayout.ADDRESS, i, arena.allocateFrom(strings.get(i)));
        }
        array.setAtIndex(ValueLayout.ADDRESS, strings.size(), MemorySegment.NULL);
        return array;
    }

    private static void check(String call, int rc) throws IOException {
        if (rc != 0) {
            throw new IOException(call + " failed");
        }
    }
}
