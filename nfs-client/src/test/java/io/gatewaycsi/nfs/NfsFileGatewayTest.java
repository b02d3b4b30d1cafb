package io.gatewaycsi.nfs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gatewaycsi.nfs.testing.TcpProxy;
import io.gatewaycsi.nfs.testing.TestGateway;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** {@link NfsFile} I/O against the real gateway: sizes beyond one RPC, offsets, EOF, buffers, consistency. */
@ExtendWith(TestGateway.class)
class NfsFileGatewayTest {
    private static final int MIB = 1 << 20;
    private static NfsSession session;
    private final TestGateway gw = TestGateway.get();
    private String dir;

    @BeforeAll
    static void connect() throws Exception {
        session = NfsClient.libnfs().connect(TestGateway.get().target(),
                NfsSessionOptions.defaults().withTimeout(Duration.ofSeconds(10)).withMaxContexts(8));
    }

    @AfterAll
    static void disconnect() {
        if (session != null) {
            session.close();
        }
        assertThat(Callbacks.pending()).as("callback registrations left behind").isZero();
    }

    @BeforeEach
    void freshDir() {
        dir = gw.freshDir("file");
    }

    @AfterEach
    void removeDir() throws Exception {
        TestFiles.deleteTree(gw.local(dir));
    }

    @Test
    void fourMebibytePwriteAndPreadMoveEveryByte() throws Exception {
        byte[] data = TestFiles.random(4 * MIB + 17, 1);
        String path = dir + "/big";
        try (NfsFile f = session.create(path, OpenFlags.O_RDWR | OpenFlags.O_EXCL, 0644)) {
            ByteBuffer src = ByteBuffer.allocateDirect(data.length).put(data).flip();
            assertThat(f.pwrite(0, src)).isEqualTo(data.length);
            assertThat(src.hasRemaining()).isFalse();
            assertThat(TestFiles.sha256(gw.local(path))).isEqualTo(TestFiles.sha256(data));

            ByteBuffer dst = ByteBuffer.allocateDirect(4 * MIB);
            assertThat(f.pread(0, dst)).isEqualTo(4 * MIB);
            assertThat(dst.position()).isEqualTo(4 * MIB);
            byte[] got = new byte[4 * MIB];
            dst.flip().get(got);
            assertThat(got).isEqualTo(Arrays.copyOf(data, 4 * MIB));

            // a read across the end returns what is there; at the end, 0
            ByteBuffer tail = ByteBuffer.allocate(3 * MIB);
            assertThat(f.pread(2 * MIB + 5, tail)).isEqualTo(data.length - (2 * MIB + 5));
            assertThat(Arrays.copyOf(tail.array(), tail.position()))
                    .isEqualTo(Arrays.copyOfRange(data, 2 * MIB + 5, data.length));
            assertThat(f.pread(data.length, ByteBuffer.allocate(10))).isZero();
            assertThat(f.pread(data.length + 12345L, ByteBuffer.allocate(10))).isZero();
        }
    }

    /**
     * NFSv4 WRITEs carry up to 1 MiB each (libnfs 4.0's own encode at most 4 KiB): 8 MiB written through a
     * proxy take a handful of RPCs, not thousands, and the bytes land exactly.
     */
    @Test
    void nfs4WritesGoOutInMebibyteRpcs() throws Exception {
        byte[] data = TestFiles.random(8 * MIB + 3, 4);
        String path = dir + "/wire";
        try (TcpProxy proxy = new TcpProxy(gw.server(), 2049);
                NfsSession viaProxy = NfsClient.libnfs().connect(
                        new NfsTarget("127.0.0.1", proxy.port(), gw.share(), NfsVersion.V4),
                        NfsSessionOptions.defaults().withMaxContexts(1).withTimeout(Duration.ofSeconds(20)))) {
            try (NfsFile f = viaProxy.create(path, OpenFlags.O_WRONLY | OpenFlags.O_EXCL, 0644)) {
                long before = proxy.connections().getFirst().requests();
                ByteBuffer src = ByteBuffer.allocateDirect(data.length).put(data).flip();
                assertThat(f.pwrite(1, src)).isEqualTo(data.length);
                assertThat(proxy.connections().getFirst().requests() - before).as("RPCs for 8 MiB")
                        .isBetween(9L, 16L);
            }
        }
        byte[] written = Files.readAllBytes(gw.local(path));
        assertThat(written[0]).isZero();
        assertThat(TestFiles.sha256(Arrays.copyOfRange(written, 1, written.length))).isEqualTo(TestFiles.sha256(data));
    }

    @Test
    void heapBuffersAndUnalignedOffsets() throws Exception {
        byte[] data = TestFiles.random(3 * MIB + 333, 2);
        String path = dir + "/heap";
        try (NfsFile f = session.create(path, OpenFlags.O_RDWR, 0600)) {
            // write it in odd pieces from heap buffers, back to front
            int[] cuts = {0, 1, 4097, MIB - 3, 2 * MIB + 11, data.length};
            for (int i = cuts.length - 2; i >= 0; i--) {
                ByteBuffer piece = ByteBuffer.wrap(data, cuts[i], cuts[i + 1] - cuts[i]);
                assertThat(f.pwrite(cuts[i], piece)).isEqualTo(cuts[i + 1] - cuts[i]);
            }
            assertThat(f.fstat().size()).isEqualTo(data.length);
            ByteBuffer dst = ByteBuffer.allocate(MIB + 7);
            dst.position(3);
            assertThat(f.pread(12345, dst)).isEqualTo(MIB + 4);
            assertThat(Arrays.copyOfRange(dst.array(), 3, MIB + 7)).isEqualTo(Arrays.copyOfRange(data, 12345, 12345 + MIB + 4));
        }
        assertThat(Files.readAllBytes(gw.local(path))).isEqualTo(data);
    }

    @Test
    void writingBeyondTheEndLeavesAHoleOfZeros() throws Exception {
        String path = dir + "/sparse";
        try (NfsFile f = session.create(path, OpenFlags.O_WRONLY, 0600)) {
            f.pwrite(10 * MIB, ByteBuffer.wrap(new byte[] {7}));
        }
        byte[] local = Files.readAllBytes(gw.local(path));
        assertThat(local).hasSize(10 * MIB + 1);
        assertThat(local[10 * MIB]).isEqualTo((byte) 7);
        assertThat(local[5 * MIB]).isZero();
    }

    @Test
    void ftruncateFsyncFstat() throws Exception {
        String path = dir + "/t";
        try (NfsFile f = session.create(path, OpenFlags.O_RDWR, 0600)) {
            f.pwrite(0, ByteBuffer.wrap(TestFiles.random(5000, 3)));
            f.fsync();
            f.ftruncate(100);
            assertThat(f.fstat().size()).isEqualTo(100);
            assertThat(Files.size(gw.local(path))).isEqualTo(100);
            f.ftruncate(MIB);
            assertThat(f.fstat().size()).isEqualTo(MIB);
            NfsAttributes a = f.fstat();
            assertThat(a.isFile()).isTrue();
            assertThat(a.inode()).isEqualTo((long) Files.getAttribute(gw.local(path), "unix:ino"));
        }
        assertThat(Files.size(gw.local(path))).isEqualTo(MIB);
    }

    @Test
    void writesThroughOneFileAreSeenAtOnceThroughAnother() throws Exception {
        String path = dir + "/shared";
        try (NfsFile w = session.create(path, OpenFlags.O_RDWR, 0600);
                NfsFile r = session.open(path, OpenFlags.O_RDONLY)) {
            for (int round = 0; round < 5; round++) {
                byte[] data = TestFiles.random(70_000, round);
                w.pwrite(0, ByteBuffer.wrap(data));
                ByteBuffer got = ByteBuffer.allocate(data.length);
                assertThat(r.pread(0, got)).isEqualTo(data.length);
                assertThat(got.array()).isEqualTo(data);
            }
        }
    }

    @Test
    void manyThreadsReadOneFileInParallel() throws Exception {
        byte[] data = TestFiles.random(16 * MIB, 4);
        Path local = gw.local(dir + "/many");
        Files.write(local, data);
        try (NfsFile f = session.open(dir + "/many", OpenFlags.O_RDONLY);
                ExecutorService pool = Executors.newFixedThreadPool(8)) {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int first = t;
                results.add(pool.submit(() -> {
                    ByteBuffer b = ByteBuffer.allocateDirect(MIB);
                    byte[] chunk = new byte[MIB];
                    for (int round = 0; round < 4; round++) {
                        int i = (first + round * 8) % 16;
                        b.clear();
                        if (f.pread((long) i * MIB, b) != MIB) {
                            return false;
                        }
                        b.flip().get(chunk);
                        if (!Arrays.equals(chunk, Arrays.copyOfRange(data, i * MIB, (i + 1) * MIB))) {
                            return false;
                        }
                    }
                    return true;
                }));
            }
            for (Future<Boolean> r : results) {
                assertThat(r.get()).isTrue();
            }
        }
    }

    @Test
    void closedFilesAndWrongModesFailWithEbadf() throws Exception {
        Files.writeString(gw.local(dir + "/ro"), "data");
        NfsFile f = session.open(dir + "/ro", OpenFlags.O_RDONLY);
        assertThatThrownBy(() -> f.ftruncate(1)).isInstanceOfSatisfying(NfsException.class,
                e -> assertThat(e.errno()).isEqualTo(Errno.EBADF));
        f.close();
        f.close(); // idempotent
        assertThatThrownBy(() -> f.pread(0, ByteBuffer.allocate(1))).isInstanceOfSatisfying(NfsException.class,
                e -> {
                    assertThat(e.errno()).isEqualTo(Errno.EBADF);
                    assertThat(e.operation()).isEqualTo("pread");
                    assertThat(e.path()).isEqualTo(dir + "/ro");
                });
        NfsFile wo = session.create(dir + "/wo", OpenFlags.O_WRONLY, 0600);
        assertThatThrownBy(() -> wo.pread(0, ByteBuffer.allocate(1))).isInstanceOfSatisfying(NfsException.class,
                e -> assertThat(e.errno()).isEqualTo(Errno.EBADF));
        wo.close();
    }

    @Test
    void emptyBuffersDoNothing() throws Exception {
        try (NfsFile f = session.create(dir + "/e", OpenFlags.O_RDWR, 0600)) {
            assertThat(f.pwrite(0, ByteBuffer.allocate(0))).isZero();
            assertThat(f.pread(0, ByteBuffer.allocate(0))).isZero();
            assertThat(f.pread(0, ByteBuffer.allocate(5))).isZero();
        }
    }
}
