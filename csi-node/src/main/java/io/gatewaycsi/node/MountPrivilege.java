package io.gatewaycsi.node;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Whether this process may mount NFS itself: it holds CAP_SYS_ADMIN (capabilities(7): bit 21 of
 * {@code CapEff} in proc(5) {@code /proc/self/status}) in the initial user namespace ({@code
 * /proc/self/uid_map} maps the whole id range onto itself; NFS cannot be mounted from another user namespace).
 * A mount that then fails with EPERM was refused by the gateway, not by this node.
 */
final class MountPrivilege {

    private static final int CAP_SYS_ADMIN = 21;
    private static final Path STATUS = Path.of("/proc/self/status");
    private static final Path UID_MAP = Path.of("/proc/self/uid_map");

    private MountPrivilege() {
    }

    /** Reads the two files (local procfs, never blocks on NFS); {@code false} when they cannot be read. */
    static boolean permitted() {
        try {
            return permitted(Files.readAllLines(STATUS), Files.readString(UID_MAP));
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** The decision on the files' text: {@code CapEff:} with bit 21 set, and the identity uid map. */
    static boolean permitted(List<String> status, String uidMap) {
        boolean sysAdmin = status.stream().filter(line -> line.startsWith("CapEff:")).findFirst()
                .map(line -> (Long.parseUnsignedLong(line.substring("CapEff:".length()).strip(), 16)
                        & (1L << CAP_SYS_ADMIN)) != 0)
                .orElse(false);
        return sysAdmin && uidMap.strip().matches("0\\s+0\\s+4294967295");
    }
}
