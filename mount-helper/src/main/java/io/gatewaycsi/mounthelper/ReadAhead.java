package io.gatewaycsi.mounthelper;

import io.gatewaycsi.nfs.NfsException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Sequential read-ahead for one open file: detects a sequential stream and prefetches the chunks after it
 * asynchronously, so that a reader streaming through a large file waits for the gateway as little as
 * possible.
 *
 * <p><b>Detection.</b> A read is sequential when it starts within one chunk of where the previous reads
 * ended, or inside prefetched data (the kernel's own read-ahead sends several requests at once, slightly
 * out of order). A non-sequential read drops everything prefetched and starts a new run. Prefetching starts
 * once a run has asked for a whole chunk's worth of bytes: a random read of a megabyte, which the kernel
 * sends as a few adjacent requests, fetches nothing beyond what it asked for.
 *
 * <p><b>Prefetch.</b> While the stream is sequential, up to {@code maxChunks} consecutive chunks of
 * {@link ChunkPool#chunkBytes()} bytes (e.g. 2 × 4 MiB) starting where the reads end are kept fetched or in
 * flight; chunks the reader has passed are dropped and the next one is started. Buffers come from the
 * process-wide {@link ChunkPool}; when it is exhausted no prefetch starts (reads then go to the gateway
 * directly), so memory stays bounded. A prefetch is one plain attempt on the gateway: if it fails, readers
 * fall back to a direct read with the mount's retry semantics.
 *
 * <p><b>Consistency.</b> {@link #invalidate()} (called on every write or truncate of the file through this
 * mount) drops all prefetched data. Prefetched data is otherwise as fresh as when it was fetched, like a
 * kernel NFS client's page cache within its attribute timeout.
 *
 * <p>Thread-safe: FUSE may run several reads of one open file at once.
 */
final class ReadAhead {
    /** Where the bytes come from: {@code NfsFile.pread} semantics (fewer bytes only at end of file). */
    @FunctionalInterface
    interface Source {
        int pread(long offset, ByteBuffer dst) throws NfsException;
    }

    private static final class Chunk {
        final long start;
        final ByteBuffer buffer;
        final CompletableFuture<Integer> length = new CompletableFuture<>();
        final AtomicInteger refs = new AtomicInteger(1); // the deque's own reference

        Chunk(long start, ByteBuffer buffer) {
            this.start = start;
            this.buffer = buffer;
        }

        long requestedEnd() {
            return start + buffer.capacity();
        }

        boolean covers(long pos) {
            return pos >= start && pos < requestedEnd();
        }
    }

    private final Source source;
    private final ChunkPool pool;
    private final Executor executor;
    private final int maxChunks;
    private final long window;
    private final ArrayDeque<Chunk> chunks = new ArrayDeque<>();
    private long lastEnd = -1;
    /** Bytes asked for since the current run began. */
    private long runBytes;
    private long eof = Long.MAX_VALUE;
    private long generation;
    private boolean closed;

    /**
     * @param source the file
     * @param pool the process-wide buffers
     * @param executor runs prefetches (platform threads: they block in native calls)
     * @param maxChunks the most chunks prefetched ahead of one stream
     */
    ReadAhead(Source source, ChunkPool pool, Executor executor, int maxChunks) {
        this.source = source;
        this.pool = pool;
        this.executor = executor;
        this.maxChunks = maxChunks;
        this.window = pool.chunkBytes();
    }

    /**
     * Copies the bytes at {@code offset} into {@code dst} from prefetched data as far as it holds them
     * (waiting for a prefetch in flight that covers {@code offset}), and starts further prefetches when the
     * stream is sequential.
     *
     * @param offset the file offset in bytes
     * @return the number of bytes copied; 0 when nothing prefetched covers {@code offset}
     */
    int serve(long offset, ByteBuffer dst) {
        long end = offset + dst.remaining();
        synchronized (this) {
            if (closed) {
                return 0;
            }
            boolean near = lastEnd >= 0 && offset >= lastEnd - window && offset <= lastEnd + window;
            if (near || find(offset) != null) {
                lastEnd = Math.max(lastEnd, end);
                runBytes += end - offset;
                while (!chunks.isEmpty() && chunks.peekFirst().requestedEnd() <= offset) {
                    release(chunks.pollFirst());
                }
                if (runBytes >= window) {
                    schedule(end);
                }
            } else {
                dropAll();
                lastEnd = end;
                runBytes = end - offset;
            }
        }
        int copied = 0;
        long pos = offset;
        while (dst.hasRemaining()) {
            Chunk c;
            synchronized (this) {
                c = closed ? null : find(pos);
                if (c != null) {
                    c.refs.incrementAndGet();
                }
            }
            if (c == null) {
                break;
            }
            int n;
            try {
                n = copy(c, pos, dst);
            } finally {
                release(c);
            }
            if (n <= 0) {
                break;
            }
            copied += n;
            pos += n;
        }
        return copied;
    }

    /** Whether {@code pos} is known to be at or past the end of the file (from a short prefetch). */
    synchronized boolean isEndOfFile(long pos) {
        return pos >= eof;
    }

    /** Drops all prefetched data (the file changed). */
    synchronized void invalidate() {
        dropAll();
        lastEnd = -1;
        runBytes = 0;
        eof = Long.MAX_VALUE;
        generation++;
    }

    /** Drops all prefetched data for good; prefetches in flight finish and free their buffers. */
    synchronized void close() {
        closed = true;
        dropAll();
    }

    private Chunk find(long pos) {
        for (Chunk c : chunks) {
            if (c.covers(pos)) {
                return c;
            }
        }
        return null;
    }

    private void schedule(long readEnd) {
        long next = chunks.isEmpty() ? readEnd : chunks.peekLast().requestedEnd();
        while (chunks.size() < maxChunks && next < eof) {
            ByteBuffer buffer = pool.tryAcquire();
            if (buffer == null) {
                return;
            }
            Chunk c = new Chunk(next, buffer);
            c.refs.incrementAndGet(); // the fetch's reference
            long gen = generation;
            try {
                executor.execute(() -> fetch(c, gen));
            } catch (RejectedExecutionException e) {
                c.refs.decrementAndGet();
                release(c);
                return;
            }
            chunks.addLast(c);
            next = c.requestedEnd();
        }
    }

    private void fetch(Chunk c, long gen) {
        try {
            ByteBuffer dst = c.buffer.duplicate().clear();
            int n = source.pread(c.start, dst);
            c.length.complete(n);
            if (n < c.buffer.capacity()) {
                synchronized (this) {
                    if (gen == generation) {
                        eof = Math.min(eof, c.start + n);
                    }
                }
            }
        } catch (Throwable t) {
            c.length.completeExceptionally(t);
        } finally {
            release(c);
        }
    }

    /** Copies from {@code c} at {@code pos}: bytes copied, 0 at the end of its data, -1 if its fetch failed. */
    private static int copy(Chunk c, long pos, ByteBuffer dst) {
        int len;
        try {
            len = c.length.get();
        } catch (ExecutionException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
        int from = (int) (pos - c.start);
        if (from >= len) {
            return 0;
        }
        int n = Math.min(dst.remaining(), len - from);
        dst.put(dst.position(), c.buffer, from, n);
        dst.position(dst.position() + n);
        return n;
    }

    private void dropAll() {
        Chunk c;
        while ((c = chunks.pollFirst()) != null) {
            release(c);
        }
    }

    private void release(Chunk c) {
        if (c.refs.decrementAndGet() == 0) {
            pool.release(c.buffer);
        }
    }
}
