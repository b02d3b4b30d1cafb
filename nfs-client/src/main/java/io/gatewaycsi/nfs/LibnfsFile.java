package io.gatewaycsi.nfs;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/** {@link NfsFile} over libnfs: see {@link NfsFile} for how it uses the session's contexts. */
final class LibnfsFile implements NfsFile {
    /** Heap buffers are written through a native copy of at most this many bytes at a time. */
    private static final int COPY_PIECE = 4 << 20;

    private final LibnfsSession session;
    private final String path;
    private final int flags;

    // Guarded by the pool's lock.
    final List<FileHandle> handles = new ArrayList<>();
    boolean closed;
    boolean noExpand;

    LibnfsFile(LibnfsSession session, String path, int flags) {
        this.session = session;
        this.path = path;
        this.flags = flags;
    }

    @Override
    public String path() {
        return path;
    }

    @Override
    public int flags() {
        return flags;
    }

    /** The flags to open the file again with on another context: no create, exclusive or truncate. */
    int reopenFlags() {
        return flags & ~(OpenFlags.O_CREAT | OpenFlags.O_EXCL | OpenFlags.O_TRUNC);
    }

    @Override
    public int pread(long offset, ByteBuffer dst) throws NfsException {
        checkOffset("pread", offset);
        if (dst.isReadOnly()) {
            throw new IllegalArgumentException("pread into a read-only buffer");
        }
        if (!OpenFlags.isReadable(flags)) {
            throw new NfsException("pread", path, session.spec(), Errno.EBADF, "file is not open for reading", false);
        }
        if (!dst.hasRemaining()) {
            return 0;
        }
        MemorySegment seg = MemorySegment.ofBuffer(dst);
        int n = session.onFile(this, "pread", (ctx, h) -> (int) ctx.pread(path, h.fh, offset, seg));
        dst.position(dst.position() + n);
        return n;
    }

    @Override
    public int pwrite(long offset, ByteBuffer src) throws NfsException {
        checkOffset("pwrite", offset);
        if (!OpenFlags.isWritable(flags)) {
            throw new NfsException("pwrite", path, session.spec(), Errno.EBADF, "file is not open for writing", false);
        }
        int len = src.remaining();
        if (len == 0) {
            return 0;
        }
        if (src.isDirect() && !src.isReadOnly()) {
            MemorySegment seg = MemorySegment.ofBuffer(src);
            session.onFile(this, "pwrite", (ctx, h) -> {
                ctx.pwrite(path, h.fh, offset, seg);
                return null;
            });
        } else {
            MemorySegment heap = MemorySegment.ofBuffer(src);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment buf = arena.allocate(Math.min(len, COPY_PIECE));
                for (long done = 0; done < len; done += buf.byteSize()) {
                    long n = Math.min(buf.byteSize(), len - done);
                    MemorySegment piece = buf.asSlice(0, n);
                    MemorySegment.copy(heap, done, piece, 0, n);
                    long at = offset + done;
                    session.onFile(this, "pwrite", (ctx, h) -> {
                        ctx.pwrite(path, h.fh, at, piece);
                        return null;
                    });
                }
            }
        }
        src.position(src.position() + len);
        return len;
    }

    @Override
    public void fsync() throws NfsException {
        session.onFile(this, "fsync", (ctx, h) -> {
            ctx.fsync(path, h.fh);
            return null;
        });
    }

    @Override
    public void ftruncate(long length) throws NfsException {
        checkOffset("ftruncate", length);
        if (!OpenFlags.isWritable(flags)) {
            throw new NfsException("ftruncate", path, session.spec(), Errno.EBADF, "file is not open for writing",
                    false);
        }
        session.onFile(this, "ftruncate", (ctx, h) -> {
            ctx.ftruncate(path, h.fh, length);
            return null;
        });
    }

    @Override
    public NfsAttributes fstat() throws NfsException {
        return session.onFile(this, "fstat", (ctx, h) -> ctx.fstat(path, h.fh));
    }

    @Override
    public void close() throws NfsException {
        session.closeFile(this);
    }

    private void checkOffset(String op, long offset) {
        if (offset < 0) {
            throw new IllegalArgumentException(op + " " + path + ": negative offset/length " + offset);
        }
    }

    @Override
    public String toString() {
        return "NfsFile[" + path + " on " + session.spec() + "]";
    }
}
