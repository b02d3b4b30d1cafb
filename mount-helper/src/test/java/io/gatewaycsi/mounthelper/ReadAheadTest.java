package io.gatewaycsi.mounthelper;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ReadAheadTest {
    private static final int CHUNK = 1 << 16;
    private final ExecutorService executor = Executors.newFixedThreadPool(2);

    @AfterEach
    void stop() {
        executor.shutdownNow();
    }

    /** A file in memory that counts the bytes asked of it. */
    private static final class FakeFile implements ReadAhead.Source {
        final byte[] data;
        final AtomicLong bytesFetched = new AtomicLong();
        final AtomicInteger calls = new AtomicInteger();

        FakeFile(int size) {
            data = new byte[size];
            new SplittableRandom(1).nextBytes(data);
        }

        @Override
        public int pread(long offset, ByteBuffer dst) {
            calls.incrementAndGet();
            int n = (int) Math.max(0, Math.min(dst.remaining(), data.length - offset));
            dst.put(data, (int) offset, n);
            bytesFetched.addAndGet(n);
            return n;
        }
    }

    /** What FUSE's read does: prefetched bytes first, the rest directly. */
    private static byte[] read(ReadAhead ra, FakeFile f, long offset, int len) {
        ByteBuffer dst = ByteBuffer.allocateDirect(len);
        int n = ra.serve(offset, dst);
        if (dst.hasRemaining() && !ra.isEndOfFile(offset + n)) {
            f.pread(offset + n, dst);
        }
        dst.flip();
        byte[] out = new byte[dst.remaining()];
        dst.get(out);
        return out;
    }

    @Test
    void aSequentialStreamIsServedFromPrefetchedChunksWithBoundedMemory() {
        FakeFile f = new FakeFile(10 * CHUNK + 123);
        ChunkPool pool = new ChunkPool(CHUNK, 2);
        ReadAhead ra = new ReadAhead(f, pool, executor, 2);
        int piece = CHUNK / 4;
        long served = 0;
        for (long off = 0; off < f.data.length; off += piece) {
            byte[] got = read(ra, f, off, piece);
            int expect = (int) Math.min(piece, f.data.length - off);
            assertThat(got).hasSize(expect);
            assertThat(got).isEqualTo(Arrays.copyOfRange(f.data, (int) off, (int) off + expect));
            served += got.length;
            assertThat(pool.available()).isBetween(0, 2);
        }
        assertThat(served).isEqualTo(f.data.length);
        // the chunks did the work: few large reads instead of one per request
        assertThat(f.calls.get()).isLessThan(f.data.length / piece / 2);
        ra.close();
    }

    @Test
    void randomAccessDropsPrefetchedDataAndStillReadsTheRightBytes() {
        FakeFile f = new FakeFile(20 * CHUNK);
        ReadAhead ra = new ReadAhead(f, new ChunkPool(CHUNK, 4), executor, 2);
        SplittableRandom r = new SplittableRandom(3);
        for (int i = 0; i < 200; i++) {
            long off = r.nextInt(f.data.length - 1000);
            assertThat(read(ra, f, off, 1000)).isEqualTo(Arrays.copyOfRange(f.data, (int) off, (int) off + 1000));
        }
    }

    /**
     * A random read shorter than a chunk, arriving as two adjacent requests (as the kernel splits a large
     * read), is not a stream: nothing is fetched beyond the bytes asked for.
     */
    @Test
    void randomReadsShorterThanAChunkFetchNothingExtra() {
        FakeFile f = new FakeFile(20 * CHUNK);
        ReadAhead ra = new ReadAhead(f, new ChunkPool(CHUNK, 4), executor, 2);
        SplittableRandom r = new SplittableRandom(5);
        int half = CHUNK / 8;
        long asked = 0;
        for (int i = 0; i < 50; i++) {
            long off = r.nextInt(f.data.length - 2 * half);
            assertThat(read(ra, f, off, half)).isEqualTo(Arrays.copyOfRange(f.data, (int) off, (int) off + half));
            assertThat(read(ra, f, off + half, half))
                    .isEqualTo(Arrays.copyOfRange(f.data, (int) off + half, (int) off + 2 * half));
            asked += 2L * half;
        }
        ra.close();
        assertThat(f.bytesFetched.get()).as("bytes fetched for %d asked", asked).isEqualTo(asked);
    }

    @Test
    void invalidationForgetsOldBytes() {
        FakeFile f = new FakeFile(4 * CHUNK);
        ReadAhead ra = new ReadAhead(f, new ChunkPool(CHUNK, 4), executor, 2);
        read(ra, f, 0, 100);
        read(ra, f, 100, 100);
        read(ra, f, 200, 100); // chunks after 300 are prefetched now
        f.data[5000] = (byte) (f.data[5000] + 1);
        ra.invalidate();
        assertThat(read(ra, f, 4900, 200)).isEqualTo(Arrays.copyOfRange(f.data, 4900, 5100));
    }

    @Test
    void withoutBuffersNothingIsPrefetched() {
        FakeFile f = new FakeFile(4 * CHUNK);
        ChunkPool empty = new ChunkPool(CHUNK, 1);
        ByteBuffer taken = empty.tryAcquire();
        ReadAhead ra = new ReadAhead(f, empty, executor, 2);
        for (int off = 0; off < 4 * CHUNK; off += 1000) {
            int len = Math.min(1000, 4 * CHUNK - off);
            assertThat(read(ra, f, off, len)).isEqualTo(Arrays.copyOfRange(f.data, off, off + len));
        }
        empty.release(taken);
    }
}
