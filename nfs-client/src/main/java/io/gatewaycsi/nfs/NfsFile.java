package io.gatewaycsi.nfs;

import java.nio.ByteBuffer;

/**
 * An open file on the gateway ({@link NfsSession#open}, {@link NfsSession#create}). Safe for use by many
 * threads.
 *
 * <p><b>Contexts.</b> The file is opened on one libnfs context of its session's pool; the file holds that
 * context only while a call on it runs, so other files and path operations use the other contexts in the
 * meantime. When a call finds every context the file is open on busy (two threads reading the same file),
 * the file is opened once more, by its path, on another free context (up to 4 contexts per file), so
 * concurrent reads of one file run in parallel too. When a context dies (timeout, lost connection, gateway
 * restart) the file is reopened by its path on a fresh one at the next call. Trade-off: a file renamed or
 * removed since it was opened cannot be reopened that way; such a call fails with {@code ESTALE}. The
 * simpler alternative, one dedicated context per open file, would cap the number of open files at the pool
 * size.
 *
 * <p><b>NFSv4 open state.</b> libnfs 4.0 never renews its NFSv4 lease, so the session renews it for every
 * context that holds open files and sat idle for 15 s (a 0-byte READ); an open file therefore keeps
 * working however long it sits idle, renamed or unlinked meanwhile included. If the state is lost anyway
 * (gateway restart), the next call reopens the file by path as described above.
 *
 * <p><b>Sizes.</b> Calls move any number of bytes: they are split into RPCs of at most the gateway's
 * maximum (at most 1 MiB; libnfs 4.0 encodes NFSv4 WRITEs of at most ~3.9 KiB), sent pipelined on one
 * connection and reassembled, so a 4 MiB {@link #pread} returns 4 MiB unless the file ends first.
 */
public interface NfsFile extends AutoCloseable {
    /** The share path the file was opened by. */
    String path();

    /** The open flags, see {@link OpenFlags}. */
    int flags();

    /**
     * Reads up to {@code dst.remaining()} bytes starting at byte {@code offset} of the file into {@code dst}
     * (heap or direct), advancing its position. Fewer bytes than asked for mean the file ends there.
     *
     * @param offset the file offset in bytes, {@code >= 0}
     * @return the number of bytes read: 0 at or past the end of the file (or if {@code dst} is full)
     * @throws NfsException e.g. {@code EBADF} (not open for reading, or closed), {@code ETIMEDOUT},
     *     {@code ESTALE}
     */
    int pread(long offset, ByteBuffer dst) throws NfsException;

    /**
     * Writes all of {@code src.remaining()} bytes at byte {@code offset} of the file, advancing {@code src}'s
     * position. The data is UNSTABLE on the wire unless the file was opened {@link OpenFlags#O_SYNC}; call
     * {@link #fsync()} to make it durable.
     *
     * @param offset the file offset in bytes, {@code >= 0}
     * @return the number of bytes written: always {@code src.remaining()} as it was on entry
     * @throws NfsException e.g. {@code EBADF}, {@code ENOSPC}, {@code EDQUOT}, {@code EFBIG}; after a failure
     *     some of the bytes may have been written
     */
    int pwrite(long offset, ByteBuffer src) throws NfsException;

    /** Commits the file's written data to stable storage on the gateway (NFS COMMIT). */
    void fsync() throws NfsException;

    /**
     * Sets the file's size in bytes, cutting it or extending it with zeros.
     *
     * @throws NfsException e.g. {@code EBADF} if not open for writing
     */
    void ftruncate(long length) throws NfsException;

    /** The file's attributes, fresh from the gateway. */
    NfsAttributes fstat() throws NfsException;

    /**
     * Closes the file on every context it is open on (NFSv4 CLOSE, sent when no other open file of the same
     * path shares that context's open). Idempotent. Calls made after it fail with {@code EBADF}. A CLOSE
     * whose open state is already gone (lease expired, gateway restarted) counts as done.
     *
     * @throws NfsException if the gateway refused the CLOSE; the file is closed here regardless
     */
    @Override
    void close() throws NfsException;
}
