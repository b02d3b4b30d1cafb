package io.gatewaycsi.node;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

/**
 * A real FUSE mount (type {@code fuse.gateway-csi}) whose server is this test, holding the /dev/fuse
 * descriptor and never answering: every call that reaches the file system (stat, statvfs, open) blocks, as on
 * a hard NFS mount whose gateway is gone. {@link #killServer()} closes the descriptor, which is exactly what
 * the kernel sees when a FUSE server process dies: the connection is aborted and calls fail with ENOTCONN.
 * Needs no FUSE package, only /dev/fuse and CAP_SYS_ADMIN.
 */
final class StuckFuse implements AutoCloseable {

    static final int O_RDWR = 2;
    static final int O_WRONLY = 1;
    static final int O_CREAT = 0100;
    static final int O_CLOEXEC = 02000000;

    private static final MethodHandle OPEN = Libc.downcall("open",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), Linker.Option.firstVariadicArg(2));
    private static final MethodHandle CLOSE = Libc.downcall("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));

    private final Path mountPoint;
    private int fd;

    private StuckFuse(Path mountPoint, int fd) {
        this.mountPoint = mountPoint;
        this.fd = fd;
    }

    /** Mounts a FUSE file system with no answering server at {@code mountPoint} (an existing directory). */
    static StuckFuse mount(Path mountPoint) {
        int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC, 0);
        if (fd < 0) {
            throw new IllegalStateException("open /dev/fuse: " + Errno.of(-fd));
        }
        int errno = Libc.mount("gateway-csi-test", mountPoint.toString(), "fuse.gateway-csi",
                Libc.MS_NOSUID | Libc.MS_NODEV, "fd=" + fd + ",rootmode=40000,user_id=0,group_id=0");
        if (errno != 0) {
            close(fd);
            throw new IllegalStateException("mount fuse at " + mountPoint + ": " + Errno.of(errno));
        }
        return new StuckFuse(mountPoint, fd);
    }

    Path mountPoint() {
        return mountPoint;
    }

    /** "Kills the server": closes /dev/fuse, aborting the connection (calls then fail with ENOTCONN). */
    void killServer() {
        if (fd >= 0) {
            close(fd);
            fd = -1;
        }
    }

    /** Kills the server (releasing any thread blocked on the mount) and detaches the mount if still there. */
    @Override
    public void close() {
        killServer();
        Libc.umount2(mountPoint.toString(), Libc.MNT_DETACH);
    }

    /** open(2): the descriptor, or minus the errno. */
    static int open(String path, int flags, int mode) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = Libc.captureState(arena);
            int fd = (int) OPEN.invokeExact(state, arena.allocateFrom(path), flags, mode);
            return fd >= 0 ? fd : -Libc.errno(state);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    static void close(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            int rc = (int) CLOSE.invokeExact(Libc.captureState(arena), fd);
            if (rc != 0) {
                throw new IllegalStateException("close(" + fd + ") failed");
            }
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }
}
