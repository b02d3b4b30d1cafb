package io.gatewaycsi.mounthelper;

import io.gatewaycsi.nfs.NfsFile;
import io.gatewaycsi.nfs.OpenFlags;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One file opened through FUSE (one {@code fuse_file_info.fh}): the gateway file, its read-ahead, and what
 * {@code flush} and {@code O_APPEND} need. Thread-safe.
 */
final class OpenFile {
    private final long handle;
    private final String sharePath;
    private final NfsFile file;
    private final int flags;
    private final ReadAhead readAhead;
    private final AtomicBoolean dirty = new AtomicBoolean();
    private long appendOffset = -1;

    /**
     * @param handle the FUSE file handle
     * @param sharePath the share path it was opened by
     * @param file the gateway file
     * @param flags the open(2) flags FUSE passed
     * @param readAhead its read-ahead, or null (not readable)
     */
    OpenFile(long handle, String sharePath, NfsFile file, int flags, ReadAhead readAhead) {
        this.handle = handle;
        this.sharePath = sharePath;
        this.file = file;
        this.flags = flags;
        this.readAhead = readAhead;
    }

    long handle() {
        return handle;
    }

    String sharePath() {
        return sharePath;
    }

    NfsFile file() {
        return file;
    }

    /** The read-ahead, or null when the file is not open for reading. */
    ReadAhead readAhead() {
        return readAhead;
    }

    boolean isAppend() {
        return (flags & OpenFlags.O_APPEND) != 0;
    }

    boolean isWritable() {
        return OpenFlags.isWritable(flags);
    }

    /** Marks unstable written data that {@code flush}/{@code fsync} must commit. */
    void markDirty() {
        dirty.set(true);
    }

    /** Clears the dirty mark, returning whether it was set. */
    boolean takeDirty() {
        return dirty.getAndSet(false);
    }

    /** Restores the dirty mark after a failed commit. */
    void restoreDirty() {
        dirty.set(true);
    }

    /** Whether an {@code O_APPEND} write needs the file's size first (no append position yet). */
    synchronized boolean needsAppendSize() {
        return appendOffset < 0;
    }

    /**
     * For {@code O_APPEND} writes: reserves {@code length} bytes at the end of the file and returns the offset
     * to write them at. The first append starts at {@code fileSize} (the gateway's size, asked because
     * {@link #needsAppendSize()}); later ones continue where this handle's last one ended.
     */
    synchronized long reserveAppend(long fileSize, int length) {
        if (appendOffset < 0) {
            appendOffset = fileSize;
        }
        long at = appendOffset;
        appendOffset += length;
        return at;
    }

    /** Forgets the append position (after a truncate). */
    synchronized void resetAppend() {
        appendOffset = -1;
    }

    /** Drops prefetched data (the file changed). */
    void invalidate() {
        if (readAhead != null) {
            readAhead.invalidate();
        }
    }

    /** Copies prefetched bytes at {@code offset} into {@code dst}; see {@link ReadAhead#serve}. */
    int serveFromReadAhead(long offset, ByteBuffer dst) {
        return readAhead == null ? 0 : readAhead.serve(offset, dst);
    }
}
