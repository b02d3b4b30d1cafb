package io.gatewaycsi.mounthelper;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The few system calls the JDK lacks, through FFM (glibc): umount2(2), mount(2), geteuid(2). They may block
 * (an unmount of a FUSE file system can wait for its daemon): callers run them off the gRPC threads with a
 * deadline ({@link Blocking}).
 */
@SuppressWarnings("restricted") // FFM downcalls into libc (needs --enable-native-access)
final class LinuxSyscalls {
    /** umount2(2) flag: detach now, clean up when no longer busy ("lazy"). */
    static final int MNT_DETACH = 2;
    /** mount(2) flags for a control file system. */
    static final long MS_NOSUID = 2;
    static final long MS_NODEV = 4;
    static final long MS_NOEXEC = 8;

    /** A failed system call. */
    static final class SyscallException extends Exception {
        private static final long serialVersionUID = 1L;
        private final int errno;

        SyscallException(String call, int errno) {
            super(call + ": " + io.gatewaycsi.nfs.Errno.name(errno) + " (" + io.gatewaycsi.nfs.Errno.describe(errno) + ")");
            this.errno = errno;
        }

        /** The positive errno. */
        int errno() {
            return errno;
        }
    }

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");

    private static final MethodHandle UMOUNT2 = LINKER.downcallHandle(LIBC.find("umount2").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT), CAPTURE_ERRNO);
    private static final MethodHandle MOUNT = LINKER.downcallHandle(LIBC.find("mount").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.JAVA_LONG, ValueLayout.ADDRESS), CAPTURE_ERRNO);
    private static final MethodHandle GETEUID = LINKER.downcallHandle(LIBC.find("geteuid").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT));

    private LinuxSyscalls() {
    }

    /**
     * umount2(2).
     *
     * @param target the mount point, absolute
     * @param flags 0 or {@link #MNT_DETACH}
     * @throws SyscallException e.g. {@code EBUSY} (in use), {@code EINVAL} (not a mount point), {@code ENOENT}
     */
    static void umount2(String target, int flags) throws SyscallException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            int rc = (int) UMOUNT2.invokeExact(state, arena.allocateFrom(target), flags);
            if (rc != 0) {
                throw new SyscallException("umount2 " + target, (int) ERRNO.get(state, 0L));
            }
        } catch (SyscallException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("umount2 downcall failed", t);
        }
    }

    /**
     * mount(2) without data.
     *
     * @throws SyscallException e.g. {@code EPERM}, {@code ENODEV}, {@code EBUSY}
     */
    static void mount(String source, String target, String type, long flags) throws SyscallException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            int rc = (int) MOUNT.invokeExact(state, arena.allocateFrom(source), arena.allocateFrom(target),
                    arena.allocateFrom(type), flags, MemorySegment.NULL);
            if (rc != 0) {
                throw new SyscallException("mount " + type + " on " + target, (int) ERRNO.get(state, 0L));
            }
        } catch (SyscallException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("mount downcall failed", t);
        }
    }

    /** geteuid(2). */
    static int geteuid() {
        try {
            return (int) GETEUID.invokeExact();
        } catch (Throwable t) {
            throw new IllegalStateException("geteuid downcall failed", t);
        }
    }
}
