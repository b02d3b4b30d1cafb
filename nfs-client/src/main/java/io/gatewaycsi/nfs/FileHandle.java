package io.gatewaycsi.nfs;

import java.lang.foreign.MemorySegment;

/**
 * One open of a path on one {@link NativeContext}, shared by every {@link LibnfsFile} of that path that uses
 * the context. NFSv4 keeps open state per (client, open-owner, file), and libnfs 4.0 has a single open-owner
 * per context: a second OPEN of the same file on the same context returns the same state with a newer
 * sequence id (upgraded to the union of the accesses), and one CLOSE ends it for all. So a context opens a
 * path once, newer OPENs replace the entry's nfsfh (the old one is freed without CLOSE), and the CLOSE is
 * sent when the last user lets go.
 *
 * <p>{@link #refs}, {@link #access} and membership in the context's table are guarded by the pool's lock;
 * {@link #fh} and {@link #dead} change only while the context is borrowed or being destroyed.
 */
final class FileHandle {
    static final int READ = 1;
    static final int WRITE = 2;

    final String path;
    final NativeContext ctx;
    volatile MemorySegment fh;
    volatile boolean dead;
    int access;
    int refs;

    FileHandle(String path, NativeContext ctx, MemorySegment fh, int access) {
        this.path = path;
        this.ctx = ctx;
        this.fh = fh;
        this.access = access;
    }

    /** READ and/or WRITE for open(2) flags. */
    static int accessOf(int flags) {
        return (OpenFlags.isReadable(flags) ? READ : 0) | (OpenFlags.isWritable(flags) ? WRITE : 0);
    }
}
