package io.gatewaycsi.mounthelper;

import io.gatewaycsi.nfs.Errno;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The FUSE control file system ({@code fusectl}, kernel Documentation/filesystems/fuse.rst "Control
 * filesystem"): {@code /sys/fs/fuse/connections/<N>/abort}, where N is the FUSE mount's device minor number
 * (its {@code st_dev}; anonymous devices have major 0), ends a connection at once: every pending and future
 * request fails ({@code ECONNABORTED}/{@code ENOTCONN}), and the daemon's reads of {@code /dev/fuse} return
 * {@code ENODEV}. Mounted here on first use if the host did not mount it.
 */
final class FuseConnections {
    private final Path root;

    /** @param root normally {@code /sys/fs/fuse/connections} */
    FuseConnections(Path root) {
        this.root = root;
    }

    /**
     * Aborts FUSE connection {@code minor}.
     *
     * @return true if it was aborted, false if no such connection exists (already gone)
     * @throws IOException if the control file system cannot be mounted or written
     */
    boolean abort(int minor) throws IOException {
        ensureMounted();
        Path abort = root.resolve(Integer.toString(minor)).resolve("abort");
        if (!Files.exists(abort)) {
            return false;
        }
        Files.writeString(abort, "1", StandardCharsets.US_ASCII);
        return true;
    }

    /**
     * Whether FUSE connection {@code minor} exists.
     *
     * @throws IOException if the control file system is not mounted and cannot be
     */
    boolean exists(int minor) throws IOException {
        ensureMounted();
        return Files.exists(root.resolve(Integer.toString(minor)));
    }

    private void ensureMounted() throws IOException {
        String target = root.toString();
        for (MountTable.Entry e : MountTable.read()) {
            if (e.mountPoint().equals(target) && e.fsType().equals("fusectl")) {
                return;
            }
        }
        try {
            LinuxSyscalls.mount("fusectl", target, "fusectl",
                    LinuxSyscalls.MS_NOSUID | LinuxSyscalls.MS_NODEV | LinuxSyscalls.MS_NOEXEC);
        } catch (LinuxSyscalls.SyscallException e) {
            if (e.errno() != Errno.EBUSY) {
                throw new IOException("cannot mount the FUSE control file system on " + target + ": " + e.getMessage()
                        + "; mount it on the host (mount -t fusectl none " + target + ")", e);
            }
        }
    }
}
