package io.gatewaycsi.nfs;

import java.time.Instant;
import java.util.List;

/**
 * A connection to one share of one gateway ({@link NfsClient#connect}). Safe for use by many threads.
 *
 * <p><b>Paths</b> are absolute within the share and must pass {@link NfsPaths#requireValid} (no
 * {@code "."}, {@code ".."} or empty components); an invalid path throws {@link IllegalArgumentException}.
 * libnfs follows symbolic links in the directories leading to a path, as a local file system does.
 *
 * <p><b>Pool.</b> libnfs 4.0 has no thread safety within one context, and a synchronous call occupies its
 * context until the reply arrives. The session therefore keeps a pool of contexts, opened lazily up to
 * {@link NfsSessionOptions#maxContexts()}: each call borrows a free context (opening a new one when none is
 * free and the pool is below its maximum, otherwise waiting up to the timeout for one), runs, and returns
 * it. One slow call (a large read, an unresponsive RPC) thus occupies one context and blocks nobody else.
 *
 * <p><b>Deadlines and reconnection.</b> Each RPC has {@link NfsSessionOptions#timeout()} as its deadline.
 * A context whose call timed out, whose connection broke, or whose NFSv4 state the gateway no longer knows
 * (a restarted gateway, a lease that lapsed) is destroyed, never reused; the next call opens a fresh one. A
 * call that failed because an idle context's connection had died meanwhile is retried once on a fresh context;
 * one that found its NFSv4 state gone ({@link NfsException#isStateLost}: after a partition longer than the
 * lease every context's may be) is retried on other contexts, at most once per context the pool may hold,
 * until one answers or the timeout passes.
 * {@code EAGAIN} replies ({@code NFS4ERR_DELAY}, {@code NFS4ERR_GRACE}) are retried until the timeout.
 *
 * <p><b>Modes</b> are taken literally: no umask is applied.
 *
 * <p>All methods throw {@link NfsException} (with the operation, path and errno) on failure; the errno
 * values named below are the usual ones, not the only ones.
 */
public interface NfsSession extends AutoCloseable {
    /** The share this session is connected to. */
    NfsTarget target();

    /** The options it was opened with. */
    NfsSessionOptions options();

    /**
     * How often this session reconnected: connections (libnfs contexts) opened to replace one that failed —
     * its call timed out, its connection broke, or the gateway no longer knew its NFSv4 state. Only grows.
     */
    default long reconnects() {
        return 0;
    }

    /**
     * The attributes of {@code path}, following a symbolic link at the end (stat(2)).
     *
     * @throws NfsException {@code ENOENT}, {@code ENOTDIR}, {@code EACCES}, {@code ELOOP}
     */
    NfsAttributes stat(String path) throws NfsException;

    /** The attributes of {@code path} itself, not following a symbolic link at the end (lstat(2)). */
    NfsAttributes lstat(String path) throws NfsException;

    /**
     * Whether {@code path} exists (lstat(2) succeeds); {@code ENOENT} and {@code ENOTDIR} mean it does not.
     *
     * @throws NfsException for any other failure
     */
    default boolean exists(String path) throws NfsException {
        try {
            lstat(path);
            return true;
        } catch (NfsException e) {
            if (e.isNotFound() || e.isNotDirectory()) {
                return false;
            }
            throw e;
        }
    }

    /**
     * Creates directory {@code path} with permission bits {@code mode} (mkdir(2)).
     *
     * @param mode permission bits, {@code 07777} at most, applied without umask
     * @throws NfsException {@code EEXIST}, {@code ENOENT} (no parent), {@code ENOTDIR}, {@code EACCES}
     */
    void mkdir(String path, int mode) throws NfsException;

    /**
     * Lists directory {@code path}: every entry but {@code "."} and {@code ".."}, with the entry's own
     * attributes (a symbolic link's, not its target's), in the gateway's order. The whole listing is read
     * before returning. With NFSv4, libnfs 4.0 does not report inode numbers here ({@code inode} is 0): use
     * {@link #lstat} when it is needed.
     *
     * @throws NfsException {@code ENOENT}, {@code ENOTDIR}, {@code EACCES}
     */
    List<NfsDirEntry> readdir(String path) throws NfsException;

    /**
     * Opens existing file {@code path} (open(2) without {@code O_CREAT}).
     *
     * @param flags {@link OpenFlags} without {@link OpenFlags#O_CREAT} (use {@link #create} to create)
     * @throws NfsException {@code ENOENT}, {@code EISDIR}, {@code EACCES}, {@code ELOOP} (with
     *     {@link OpenFlags#O_NOFOLLOW} on a symbolic link)
     * @throws IllegalArgumentException if {@code flags} contains {@link OpenFlags#O_CREAT}
     */
    NfsFile open(String path, int flags) throws NfsException;

    /**
     * Opens file {@code path}, creating it with permission bits {@code mode} if it does not exist (open(2)
     * with {@code O_CREAT}, implied here). With {@link OpenFlags#O_EXCL} an existing path is an error.
     *
     * @param flags {@link OpenFlags}; {@code O_CREAT} is implied
     * @param mode permission bits of a new file, {@code 07777} at most, applied without umask
     * @throws NfsException {@code EEXIST} (with {@code O_EXCL}), {@code ENOENT} (no parent), {@code EISDIR},
     *     {@code EACCES}
     */
    NfsFile create(String path, int flags, int mode) throws NfsException;

    /**
     * Sets the size of file {@code path} in bytes (truncate(2)), cutting it or extending it with zeros.
     *
     * @throws NfsException {@code ENOENT}, {@code EISDIR}, {@code EACCES}
     */
    void truncate(String path, long length) throws NfsException;

    /**
     * Removes the non-directory {@code path} (unlink(2)); a symbolic link is removed itself. Note: NFSv4's
     * REMOVE does not look at the type, so with NFSv4 this also removes an empty directory (and
     * {@link #rmdir} a file); check with {@link #lstat} first where that matters (the kernel does so before
     * calling a FUSE file system's unlink/rmdir).
     *
     * @throws NfsException {@code ENOENT}, {@code EISDIR} (NFSv3), {@code ENOTEMPTY}
     */
    void unlink(String path) throws NfsException;

    /**
     * Removes the empty directory {@code path} (rmdir(2)). See {@link #unlink} on NFSv4's REMOVE.
     *
     * @throws NfsException {@code ENOENT}, {@code ENOTEMPTY}, {@code ENOTDIR} (NFSv3)
     */
    void rmdir(String path) throws NfsException;

    /**
     * Renames {@code from} to {@code to} (rename(2)), replacing {@code to} if it exists and the types allow.
     *
     * @throws NfsException {@code ENOENT}, {@code EEXIST}/{@code ENOTEMPTY} (non-empty directory at
     *     {@code to}), {@code EISDIR}, {@code ENOTDIR}, {@code EXDEV}
     */
    void rename(String from, String to) throws NfsException;

    /**
     * Creates symbolic link {@code linkPath} whose contents are {@code target} (symlink(2)); the target is not
     * checked or resolved and may lie outside the share.
     *
     * @param target the link's contents, not empty, no NUL
     * @throws NfsException {@code EEXIST}, {@code ENOENT} (no parent)
     */
    void symlink(String target, String linkPath) throws NfsException;

    /**
     * The contents of symbolic link {@code path} (readlink(2)), decoded as UTF-8.
     *
     * @throws NfsException {@code ENOENT}, {@code EINVAL} (not a symbolic link)
     */
    String readlink(String path) throws NfsException;

    /**
     * Sets the permission bits of {@code path}, following a symbolic link at the end (chmod(2)).
     *
     * @param mode permission bits, {@code 07777} at most
     */
    void chmod(String path, int mode) throws NfsException;

    /**
     * Sets the owner of {@code path}, following a symbolic link at the end (chown(2)).
     *
     * @param uid the new owner, or -1 to keep it
     * @param gid the new group, or -1 to keep it
     * @throws NfsException {@code EPERM}, or {@code EINVAL} if an NFSv4 gateway does not accept numeric owners
     */
    void chown(String path, int uid, int gid) throws NfsException;

    /** Like {@link #chown} but acts on a symbolic link itself (lchown(2)). */
    void lchown(String path, int uid, int gid) throws NfsException;

    /**
     * Sets the access and modification times of {@code path}, following a symbolic link at the end
     * (utimensat(2)). NFSv4 keeps nanoseconds; NFSv3 through libnfs 4.0 keeps microseconds.
     *
     * @param atime the new access time, or null to keep it
     * @param mtime the new modification time, or null to keep it
     */
    void utimes(String path, Instant atime, Instant mtime) throws NfsException;

    /** Like {@link #utimes} but acts on a symbolic link itself (utimensat(2) with AT_SYMLINK_NOFOLLOW). */
    void lutimes(String path, Instant atime, Instant mtime) throws NfsException;

    /** File system statistics of the share that holds {@code path} (statvfs(3)). */
    NfsFsStats statvfs(String path) throws NfsException;

    /**
     * Closes every file still open, then every context (NFSv4 clients are left to expire on the gateway).
     * Idempotent; calls made afterwards fail with {@link IllegalStateException}.
     */
    @Override
    void close();
}
