package io.gatewaycsi.mounthelper;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;

/**
 * The read-ahead buffers of a whole mount helper process: at most {@code maxChunks} direct buffers of
 * {@code chunkBytes} bytes each exist at once (so read-ahead memory is bounded by
 * {@code maxChunks × chunkBytes} however many files are open), recycled instead of freed. Thread-safe.
 */
final class ChunkPool {
    private final int chunkBytes;
    private final Semaphore permits;
    private final ConcurrentLinkedQueue<ByteBuffer> free = new ConcurrentLinkedQueue<>();

    /**
     * @param chunkBytes the size of one buffer in bytes
     * @param maxChunks the most buffers in use at once
     */
    ChunkPool(int chunkBytes, int maxChunks) {
        if (chunkBytes <= 0 || maxChunks <= 0) {
            throw new IllegalArgumentException("chunkBytes and maxChunks must be positive");
        }
        this.chunkBytes = chunkBytes;
        this.permits = new Semaphore(maxChunks);
    }

    /** The size of one buffer in bytes. */
    int chunkBytes() {
        return chunkBytes;
    }

    /** A cleared buffer of {@link #chunkBytes()} bytes, or null when the budget is used up (never waits). */
    ByteBuffer tryAcquire() {
        if (!permits.tryAcquire()) {
            return null;
        }
        ByteBuffer b = free.poll();
        if (b == null) {
            try {
                b = ByteBuffer.allocateDirect(chunkBytes);
            } catch (OutOfMemoryError e) {
                permits.release();
                return null;
            }
        }
        return b.clear();
    }

    /** Returns a buffer from {@link #tryAcquire()}; it must no longer be used. */
    void release(ByteBuffer buffer) {
        free.offer(buffer);
        permits.release();
    }

    /** Buffers that could be handed out now. */
    int available() {
        return permits.availablePermits();
    }
}
