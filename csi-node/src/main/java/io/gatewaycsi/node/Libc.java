package io.gatewaycsi.node;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * Downcalls into the C library (through java.lang.foreign) for the syscalls the JDK lacks: mount(2),
 * umount2(2), statvfs(3). Each call returns 0 or the errno it failed with, captured by the linker right after
 * the call ({@code Linker.Option.captureCallState("errno")}), so no other libc call can clobber it. These
 * calls block for as long as the kernel does: callers run them through {@link BlockingCalls}.
 */
final class Libc {

    // mount(2) flags, <linux/mount.h>
    static final long MS_RDONLY = 1;
    static final long MS_NOSUID = 2;
    static final long MS_NODEV = 4;
    static final long MS_NOEXEC = 8;
    static final long MS_REMOUNT = 32;
    static final long MS_NOATIME = 1024;
    static final long MS_NODIRATIME = 2048;
    static final long MS_BIND = 4096;
    static final long MS_PRIVATE = 1 << 18;
    static final long MS_SLAVE = 1 << 19;
    static final long MS_SHARED = 1 << 20;
    static final long MS_RELATIME = 1 << 21;

    // umount2(2) flags
    static final int MNT_FORCE = 1;
    static final int MNT_DETACH = 2;
    static final int UMOUNT_NOFOLLOW = 8;

    // statvfs(3) f_flag bits
    static final long ST_RDONLY = 1;
    static final long ST_NOSUID = 2;
    static final long ST_NODEV = 4;
    static final long ST_NOEXEC = 8;
    static final long ST_NOATIME = 1024;
    static final long ST_NODIRATIME = 2048;
    static final long ST_RELATIME = 4096;

    /** Indexes into the array {@link #statvfs} fills: the struct's unsigned long fields in order (glibc, LP64). */
    static final int F_BSIZE = 0;
    static final int F_FRSIZE = 1;
    static final int F_BLOCKS = 2;
    static final int F_BFREE = 3;
    static final int F_BAVAIL = 4;
    static final int F_FILES = 5;
    static final int F_FFREE = 6;
    static final int F_FAVAIL = 7;
    static final int F_FSID = 8;
    static final int F_FLAG = 9;
    static final int F_NAMEMAX = 10;
    private static final int STATVFS_FIELDS = 11;
    /** sizeof(struct statvfs) is 112 on LP64 glibc and musl; allocate more to be safe. */
    private static final long STATVFS_SIZE = 256;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CAPTURE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));

    private static final MethodHandle MOUNT = downcall("mount",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS));
    private static final MethodHandle UMOUNT2 = downcall("umount2",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle STATVFS = downcall("statvfs",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));

    // The new mount API (Linux 5.2+; MOVE_MOUNT_BENEATH since 6.5), <linux/mount.h> and <fcntl.h>
    static final int AT_FDCWD = -100;
    static final int AT_EMPTY_PATH = 0x1000;
    static final int OPEN_TREE_CLONE = 1;
    static final int OPEN_TREE_CLOEXEC = 02000000;
    static final int MOVE_MOUNT_F_EMPTY_PATH = 0x4;
    static final int MOVE_MOUNT_BENEATH = 0x200;
    static final long MOUNT_ATTR_RDONLY = 0x1;
    static final long MOUNT_ATTR_NOSUID = 0x2;
    static final long MOUNT_ATTR_NODEV = 0x4;
    static final long MOUNT_ATTR_NOEXEC = 0x8;
    /** The atime field (MOUNT_ATTR__ATIME): relatime (0), noatime or strictatime. */
    static final long MOUNT_ATTR_ATIME = 0x70;
    static final long MOUNT_ATTR_NOATIME = 0x10;
    static final long MOUNT_ATTR_STRICTATIME = 0x20;
    static final long MOUNT_ATTR_NODIRATIME = 0x80;

    private static final MethodHandle OPEN_TREE = downcallIfPresent("open_tree",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle MOVE_MOUNT = downcallIfPresent("move_mount",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle MOUNT_SETATTR = downcallIfPresent("mount_setattr",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle CLOSE = downcall("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));

    // statx(2), <linux/stat.h>: flags, the one mask bit asked for and the attribute read; struct statx offsets
    static final int AT_SYMLINK_NOFOLLOW = 0x100;
    static final int AT_NO_AUTOMOUNT = 0x800;
    static final int AT_STATX_DONT_SYNC = 0x4000;
    static final int STATX_TYPE = 0x1;
    static final long STATX_ATTR_MOUNT_ROOT = 0x2000;
    private static final long STATX_SIZE = 256;
    private static final long STX_ATTRIBUTES = 8;
    private static final long STX_ATTRIBUTES_MASK = 56;
    /** Indexes into the array {@link #statx} fills. */
    static final int SX_ATTRIBUTES = 0;
    static final int SX_ATTRIBUTES_MASK = 1;
    private static final MethodHandle STATX = downcallIfPresent("statx",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS));

    private Libc() {
    }

    private static MethodHandle downcallIfPresent(String name, FunctionDescriptor descriptor) {
        try {
            return downcall(name, descriptor);
        } catch (UnsatisfiedLinkError e) {
            return null; // a C library older than glibc 2.36: callers fall back
        }
    }

    /**
     * Mounts a copy of the mount at {@code source} at {@code target} (open_tree(2) with OPEN_TREE_CLONE, then
     * move_mount(2)), with the mount attributes {@code attrSet} ({@code MOUNT_ATTR_*}, mount_setattr(2)) set on
     * the copy <em>before</em> it is attached: every copy that mount propagation then makes (a Bidirectional
     * mount's peers on the host, in other containers) has them too — a bind followed by a read-only remount
     * makes only the local copy read-only. {@code beneath} mounts it beneath the topmost mount at
     * {@code target} (MOVE_MOUNT_BENEATH, Linux 6.5+): unmounting the top one afterwards then shows the new
     * one with no moment in between. Returns 0 or the errno ({@code ENOSYS} when the C library lacks the
     * calls; {@code EINVAL} from kernels before 6.5 for {@code beneath}).
     */
    static int cloneMount(String source, String target, long attrSet, boolean beneath) {
        if (OPEN_TREE == null || MOVE_MOUNT == null || MOUNT_SETATTR == null) {
            return 38; // ENOSYS
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = captureState(arena);
            int fd = (int) OPEN_TREE.invokeExact(state, AT_FDCWD, cString(arena, source),
                    OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
            if (fd < 0) {
                return errno(state);
            }
            try {
                if (attrSet != 0) {
                    MemorySegment attr = arena.allocate(32, 8); // struct mount_attr: set, clr, propagation, userns
                    attr.set(JAVA_LONG, 0, attrSet);
                    // An atime mode replaces the inherited one: clear the whole atime field first.
                    attr.set(JAVA_LONG, 8, (attrSet & MOUNT_ATTR_ATIME) != 0 ? MOUNT_ATTR_ATIME : 0L);
                    int rc = (int) MOUNT_SETATTR.invokeExact(state, fd, cString(arena, ""), AT_EMPTY_PATH, attr, 32L);
                    if (rc != 0) {
                        return errno(state);
                    }
                }
                int rc = (int) MOVE_MOUNT.invokeExact(state, fd, cString(arena, ""), AT_FDCWD, cString(arena, target),
                        MOVE_MOUNT_F_EMPTY_PATH | (beneath ? MOVE_MOUNT_BENEATH : 0));
                return rc == 0 ? 0 : errno(state);
            } finally {
                int ignored = (int) CLOSE.invokeExact(state, fd);
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * A handle for libc function {@code name} whose first argument is the errno capture segment (a
     * {@link #captureState(Arena)}), followed by {@code descriptor}'s arguments; {@code options} may add, for
     * example, {@code Linker.Option.firstVariadicArg}.
     */
    @SuppressWarnings("restricted") // FFM downcalls need --enable-native-access (the node's launcher passes it)
    static MethodHandle downcall(String name, FunctionDescriptor descriptor, Linker.Option... options) {
        MemorySegment symbol = LINKER.defaultLookup().find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("the C library has no function " + name));
        Linker.Option[] all = java.util.Arrays.copyOf(options, options.length + 1);
        all[options.length] = Linker.Option.captureCallState("errno");
        return LINKER.downcallHandle(symbol, descriptor, all);
    }

    /** A segment for a downcall made with {@link #downcall} to store errno in. */
    static MemorySegment captureState(Arena arena) {
        return arena.allocate(CAPTURE_LAYOUT);
    }

    /** The errno stored in {@code state} by the last downcall that used it. */
    static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    /** A NUL-terminated UTF-8 copy of {@code text}, or NULL for {@code null}. */
    static MemorySegment cString(Arena arena, String text) {
        return text == null ? MemorySegment.NULL : arena.allocateFrom(text);
    }

    /** mount(2). Returns 0 or the errno. */
    static int mount(String source, String target, String fsType, long flags, String data) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = captureState(arena);
            int rc = (int) MOUNT.invokeExact(state, cString(arena, source), cString(arena, target),
                    cString(arena, fsType), flags, cString(arena, data));
            return rc == 0 ? 0 : errno(state);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** umount2(2). Returns 0 or the errno. */
    static int umount2(String target, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = captureState(arena);
            int rc = (int) UMOUNT2.invokeExact(state, cString(arena, target), flags);
            return rc == 0 ? 0 : errno(state);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * statvfs(3): fills {@code fields} (length ≥ 11) with the struct's unsigned long fields, indexed by the
     * {@code F_*} constants (values ≥ 2^63 appear negative). Returns 0 or the errno.
     */
    static int statvfs(String path, long[] fields) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = captureState(arena);
            MemorySegment buf = arena.allocate(STATVFS_SIZE, 8);
            int rc = (int) STATVFS.invokeExact(state, cString(arena, path), buf);
            if (rc != 0) {
                return errno(state);
            }
            for (int i = 0; i < STATVFS_FIELDS; i++) {
                fields[i] = buf.getAtIndex(JAVA_LONG, i);
            }
            return 0;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * statx(2) of {@code path} without following a final symbolic link, triggering an automount or asking a
     * network or FUSE file system for fresh attributes (AT_STATX_DONT_SYNC): fills {@code out} (length ≥ 2,
     * indexed by the {@code SX_*} constants) with stx_attributes and stx_attributes_mask. Returns 0 or the
     * errno ({@code ENOSYS} when the C library lacks statx).
     */
    static int statx(String path, long[] out) {
        if (STATX == null) {
            return 38; // ENOSYS
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = captureState(arena);
            MemorySegment buf = arena.allocate(STATX_SIZE, 8);
            int rc = (int) STATX.invokeExact(state, AT_FDCWD, cString(arena, path),
                    AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_STATX_DONT_SYNC, STATX_TYPE, buf);
            if (rc != 0) {
                return errno(state);
            }
            out[SX_ATTRIBUTES] = buf.get(JAVA_LONG, STX_ATTRIBUTES);
            out[SX_ATTRIBUTES_MASK] = buf.get(JAVA_LONG, STX_ATTRIBUTES_MASK);
            return 0;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException e) {
            return e;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException("downcall failed", t);
    }
}
