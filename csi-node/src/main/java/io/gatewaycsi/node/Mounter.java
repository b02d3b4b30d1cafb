package io.gatewaycsi.node;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * The mount syscalls the node needs and the JDK lacks, through FFM downcalls into libc: bind mounts and
 * read-only remounts (mount(2)), unmounts (umount2(2)) and capacity (statvfs(3)).
 *
 * <p>Every call runs through {@link BlockingCalls} with this mounter's deadline, since any of them may touch a
 * dead NFS or FUSE mount: a call past its deadline throws a {@link MountException} with
 * {@link MountException#isTimeout()} and is left blocked in the kernel (the caller escalates, see
 * {@link Teardown}). A call that fails throws a {@link MountException} naming the errno and the path.
 * Unmounts pass {@code UMOUNT_NOFOLLOW}, so a symlink planted at a target is never followed. Paths must be
 * absolute.
 */
public final class Mounter {

    /** The deadline used by {@link #Mounter()}. */
    public static final Duration DEFAULT_DEADLINE = Duration.ofSeconds(10);

    private final Duration deadline;

    /** A mounter whose calls have {@link #DEFAULT_DEADLINE}. */
    public Mounter() {
        this(DEFAULT_DEADLINE);
    }

    /** A mounter whose calls each have {@code deadline}. */
    public Mounter(Duration deadline) {
        this.deadline = Objects.requireNonNull(deadline, "deadline");
        if (deadline.isNegative() || deadline.isZero()) {
            throw new IllegalArgumentException("deadline must be positive, got " + deadline);
        }
    }

    /** The deadline of each call. */
    public Duration deadline() {
        return deadline;
    }

    /**
     * Bind-mounts {@code source} at {@code target} (mount(2) with MS_BIND, not recursive): the content of
     * {@code source} appears at {@code target}. Both must exist and be of the same kind (directory or file).
     *
     * @throws MountException ENOENT when either is missing, ENOTDIR on a kind mismatch, EPERM without
     *                        CAP_SYS_ADMIN, or a timeout
     */
    public void bind(Path source, Path target) throws IOException {
        String from = absolute(source);
        String to = absolute(target);
        call("mount(MS_BIND)", target, () -> Libc.mount(from, to, null, Libc.MS_BIND, null));
    }

    /**
     * Makes the bind mount at {@code target} read-only (mount(2) with MS_REMOUNT|MS_BIND|MS_RDONLY, as
     * {@code mount -o remount,bind,ro}): writes through it then fail with EROFS. The mount's other per-mount
     * flags (nosuid, nodev, noexec, noatime, nodiratime, relatime), read with statvfs first, are kept.
     *
     * @throws MountException EINVAL when {@code target} is not a mount point, or a timeout
     */
    public void remountReadOnly(Path target) throws IOException {
        String to = absolute(target);
        call("mount(MS_REMOUNT|MS_BIND|MS_RDONLY)", target, () -> {
            long[] fields = new long[16];
            int errno = Libc.statvfs(to, fields);
            if (errno != 0) {
                return errno;
            }
            long flags = Libc.MS_REMOUNT | Libc.MS_BIND | Libc.MS_RDONLY | keptFlags(fields[Libc.F_FLAG]);
            return Libc.mount(null, to, null, flags, null);
        });
    }

    /**
     * Bind-mounts {@code source} at {@code target} read-only: {@link #bind} then {@link #remountReadOnly}; if
     * the remount fails, the bind mount is detached again before the failure is thrown.
     */
    public void bindReadOnly(Path source, Path target) throws IOException {
        bind(source, target);
        try {
            remountReadOnly(target);
        } catch (IOException e) {
            try {
                lazyUnmount(target);
            } catch (IOException undo) {
                e.addSuppressed(undo);
            }
            throw e;
        }
    }

    /** {@link #bindReadOnly} when {@code readOnly}, else {@link #bind}. */
    public void bind(Path source, Path target, boolean readOnly) throws IOException {
        if (readOnly) {
            bindReadOnly(source, target);
        } else {
            bind(source, target);
        }
    }

    /**
     * Publishes {@code source} at {@code target}: a bind mount carrying the per-mount flags {@code flags} from
     * the moment it exists (open_tree(2), mount_setattr(2), move_mount(2): {@link Libc#cloneMount}), so that
     * every copy mount propagation makes of it — the host's copy of a Bidirectional mount, the one a container
     * runtime binds into a pod — has them too. Where the C library lacks the new mount API, {@link #bind} and a
     * read-only remount ({@link #bindReadOnly}) as before; other flags then stay unapplied.
     *
     * @param flags per-mount flags of mount(8): {@code ro}, {@code nosuid}, {@code nodev}, {@code noexec},
     *              {@code noatime}, {@code strictatime}, {@code nodiratime}; others are refused
     * @throws IllegalArgumentException for a flag not in that list
     * @throws MountException as {@link #bind}
     */
    public void publish(Path source, Path target, java.util.Collection<String> flags) throws IOException {
        long attrs = 0;
        for (String flag : flags) {
            attrs |= attributeOf(flag);
        }
        String from = absolute(source);
        String to = absolute(target);
        long set = attrs;
        int errno = BlockingCalls.call("open_tree+move_mount", target, deadline,
                () -> Libc.cloneMount(from, to, set, false));
        if (errno == Errno.ENOSYS.value()) {
            bind(source, target, (attrs & Libc.MOUNT_ATTR_RDONLY) != 0);
            return;
        }
        check("open_tree+mount_setattr+move_mount", target, errno);
    }

    /** The per-mount flags {@link #publish} applies. */
    public static final java.util.Set<String> PER_MOUNT_FLAGS = java.util.Set.of("ro", "nosuid", "nodev", "noexec",
            "noatime", "strictatime", "nodiratime");

    private static long attributeOf(String flag) {
        return switch (flag) {
            case "ro" -> Libc.MOUNT_ATTR_RDONLY;
            case "nosuid" -> Libc.MOUNT_ATTR_NOSUID;
            case "nodev" -> Libc.MOUNT_ATTR_NODEV;
            case "noexec" -> Libc.MOUNT_ATTR_NOEXEC;
            case "noatime" -> Libc.MOUNT_ATTR_NOATIME;
            case "strictatime" -> Libc.MOUNT_ATTR_STRICTATIME;
            case "nodiratime" -> Libc.MOUNT_ATTR_NODIRATIME;
            default -> throw new IllegalArgumentException("`" + flag + "` is not a per-mount flag a bind mount can"
                    + " carry; use one of " + PER_MOUNT_FLAGS);
        };
    }

    /**
     * Replaces the (dead) topmost mount at {@code target} by a bind mount of {@code source} with no moment in
     * between at which {@code target} shows the directory underneath: the bind is mounted beneath the old
     * mount (MOVE_MOUNT_BENEATH, Linux 6.5+), then the old one is detached. Where the kernel or the C library
     * cannot mount beneath, the bind is mounted on top of the old mount instead, which stays below it until
     * the target is torn down (every layer is).
     *
     * @return true when the old mount was replaced, false when the new one was stacked on it
     * @throws MountException as {@link #bind}
     */
    public boolean replaceWithBind(Path source, Path target, boolean readOnly) throws IOException {
        String from = absolute(source);
        String to = absolute(target);
        int errno = BlockingCalls.call("move_mount(MOVE_MOUNT_BENEATH)", target, deadline,
                () -> Libc.cloneMount(from, to, readOnly ? Libc.MOUNT_ATTR_RDONLY : 0, true));
        if (errno == Errno.ENOSYS.value() || errno == Errno.EINVAL.value()) {
            bind(source, target, readOnly);
            return false;
        }
        check("move_mount(MOVE_MOUNT_BENEATH)", target, errno);
        // The old mount is on top now: detaching it shows the new one. It is dead, so no waiting on it.
        umount2("umount2(MNT_DETACH)", target, Libc.MNT_DETACH);
        return true;
    }

    /**
     * Unmounts the topmost mount at {@code target} (umount2(2), no flags).
     *
     * @throws MountException EINVAL when {@code target} is not a mount point, EBUSY when it is in use, ENOENT
     *                        when it does not exist, or a timeout
     */
    public void unmount(Path target) throws IOException {
        umount2("umount2", target, 0);
    }

    /**
     * Force-unmounts {@code target} (umount2(2) with MNT_FORCE): NFS aborts its outstanding RPCs and FUSE
     * aborts the connection before unmounting; other file systems treat it as a plain unmount.
     *
     * @throws MountException as {@link #unmount}
     */
    public void forceUnmount(Path target) throws IOException {
        umount2("umount2(MNT_FORCE)", target, Libc.MNT_FORCE);
    }

    /**
     * Lazily unmounts {@code target} (umount2(2) with MNT_DETACH): the mount leaves the namespace at once and
     * is cleaned up when it is no longer busy. Succeeds on busy mounts.
     *
     * @throws MountException EINVAL when {@code target} is not a mount point, or a timeout
     */
    public void lazyUnmount(Path target) throws IOException {
        umount2("umount2(MNT_DETACH)", target, Libc.MNT_DETACH);
    }

    /**
     * The capacity of the file system at {@code path} (statvfs(3)).
     *
     * @throws MountException ENOENT, ESTALE, ENOTCONN, EIO…, or a timeout
     */
    public FsStats statvfs(Path path) throws IOException {
        String at = absolute(path);
        long[] fields = new long[16];
        call("statvfs", path, () -> Libc.statvfs(at, fields));
        return FsStats.fromStatvfs(fields);
    }

    /** What statx(2) tells about a path as a mount point ({@link #mountPoint}). */
    public enum MountPoint {
        /** The path does not exist. */
        ABSENT,
        /** The path exists and nothing is mounted on it. */
        NOT_MOUNTED,
        /** The path is the root of a mount (STATX_ATTR_MOUNT_ROOT). */
        MOUNTED,
        /**
         * The kernel could not say: no STATX_ATTR_MOUNT_ROOT (Linux before 5.8), no statx in the C library, or
         * the call failed (a dead mount: ENOTCONN, EIO…). Read the mount table instead.
         */
        UNKNOWN
    }

    /**
     * Whether {@code path} is a mount point, from statx(2) without following a final symbolic link and without
     * asking the file system for fresh attributes — much cheaper than reading /proc/self/mountinfo with
     * hundreds of mounts. Within the deadline; a timeout is {@link MountPoint#UNKNOWN} too.
     */
    public MountPoint mountPoint(Path path) throws IOException {
        String at = absolute(path);
        long[] out = new long[2];
        int errno;
        try {
            errno = BlockingCalls.call("statx", path, deadline, () -> Libc.statx(at, out));
        } catch (MountException e) {
            return MountPoint.UNKNOWN;
        }
        if (errno == Errno.ENOENT.value()) {
            return MountPoint.ABSENT;
        }
        if (errno != 0 || (out[Libc.SX_ATTRIBUTES_MASK] & Libc.STATX_ATTR_MOUNT_ROOT) == 0) {
            return MountPoint.UNKNOWN;
        }
        return (out[Libc.SX_ATTRIBUTES] & Libc.STATX_ATTR_MOUNT_ROOT) != 0 ? MountPoint.MOUNTED : MountPoint.NOT_MOUNTED;
    }

    private void umount2(String operation, Path target, int flags) throws IOException {
        String at = absolute(target);
        BlockingCalls.IoCall<Integer> syscall = () -> Libc.umount2(at, flags | Libc.UMOUNT_NOFOLLOW);
        // Forced and lazy unmounts are how a node gets rid of stuck calls: they run even when many are stuck.
        int errno = flags == 0 ? BlockingCalls.call(operation, target, deadline, syscall)
                : BlockingCalls.callEvenIfSaturated(operation, target, deadline, syscall);
        check(operation, target, errno);
    }

    private void call(String operation, Path path, BlockingCalls.IoCall<Integer> syscall) throws IOException {
        check(operation, path, BlockingCalls.call(operation, path, deadline, syscall));
    }

    private static void check(String operation, Path path, int errno) throws MountException {
        if (errno != 0) {
            throw MountException.ofErrno(operation, path, errno);
        }
    }

    private static long keptFlags(long statvfsFlags) {
        long flags = 0;
        if ((statvfsFlags & Libc.ST_NOSUID) != 0) {
            flags |= Libc.MS_NOSUID;
        }
        if ((statvfsFlags & Libc.ST_NODEV) != 0) {
            flags |= Libc.MS_NODEV;
        }
        if ((statvfsFlags & Libc.ST_NOEXEC) != 0) {
            flags |= Libc.MS_NOEXEC;
        }
        if ((statvfsFlags & Libc.ST_NOATIME) != 0) {
            flags |= Libc.MS_NOATIME;
        }
        if ((statvfsFlags & Libc.ST_NODIRATIME) != 0) {
            flags |= Libc.MS_NODIRATIME;
        }
        if ((statvfsFlags & Libc.ST_RELATIME) != 0) {
            flags |= Libc.MS_RELATIME;
        }
        return flags;
    }

    private static String absolute(Path path) {
        if (!path.isAbsolute()) {
            throw new IllegalArgumentException("mount paths must be absolute, got " + path);
        }
        return path.toString();
    }
}
