package io.gatewaycsi.nfs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gatewaycsi.nfs.testing.TcpProxy;
import io.gatewaycsi.nfs.testing.TestGateway;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The context pool under concurrency: many threads at once, and slow callers that must not hold up the
 * others. Asserts on "completes while the other is still running", never on wall-clock speed.
 */
@ExtendWith(TestGateway.class)
class NfsConcurrencyGatewayTest {
    private static final int MIB = 1 << 20;
    private final TestGateway gw = TestGateway.get();
    private String dir;

    @AfterEach
    void removeDir() throws Exception {
        if (dir != null) {
            TestFiles.deleteTree(gw.local(dir));
        }
    }

    @Test
    void sixteenThreadsStatMkdirAndReadInParallel() throws Exception {
        dir = gw.freshDir("conc");
        byte[] data = TestFiles.random(2 * MIB + 5, 9);
        Files.write(gw.local(dir + "/data"), data);
        NfsSessionOptions options = NfsSessionOptions.defaults().withMaxContexts(16).withTimeout(Duration.ofSeconds(20));
        try (NfsSession session = NfsClient.libnfs().connect(gw.target(), options);
                ExecutorService pool = Executors.newFixedThreadPool(16)) {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < 16; t++) {
                int id = t;
                results.add(pool.submit(() -> {
                    start.await();
                    int ops = 0;
                    for (int i = 0; i < 20; i++) {
                        switch ((id + i) % 3) {
                            case 0 -> {
                                if (!session.stat(dir + "/data").isFile()) {
                                    throw new AssertionError("not a file");
                                }
                            }
                            case 1 -> session.mkdir(dir + "/d-" + id + "-" + i, 0755);
                            default -> {
                                try (NfsFile f = session.open(dir + "/data", OpenFlags.O_RDONLY)) {
                                    ByteBuffer b = ByteBuffer.allocateDirect(data.length);
                                    if (f.pread(0, b) != data.length) {
                                        throw new AssertionError("short read");
                                    }
                                    byte[] got = new byte[data.length];
                                    b.flip().get(got);
                                    if (!Arrays.equals(got, data)) {
                                        throw new AssertionError("wrong bytes");
                                    }
                                }
                            }
                        }
                        ops++;
                    }
                    return ops;
                }));
            }
            start.countDown();
            for (Future<Integer> r : results) {
                assertThat(r.get(60, TimeUnit.SECONDS)).isEqualTo(20);
            }
            long dirs;
            try (var s = Files.list(gw.local(dir))) {
                dirs = s.filter(p -> p.getFileName().toString().startsWith("d-")).count();
            }
            int expected = 0;
            for (int id = 0; id < 16; id++) {
                for (int i = 0; i < 20; i++) {
                    expected += (id + i) % 3 == 1 ? 1 : 0;
                }
            }
            assertThat(dirs).isEqualTo(expected);
            LibnfsSession impl = (LibnfsSession) session;
            assertThat(impl.contextCount()).isBetween(2, 16);
        }
        assertThat(Callbacks.pending()).isZero();
    }

    /**
     * More callers than contexts, all writing files in one directory as the controller writes its records
     * (create, pwrite, fsync, close, rename, unlink): callers wait for the context and take turns on it, and
     * every call succeeds. (A context reused by another caller between two of one caller's calls once made
     * creates fail with ENOENT for the existing directory.)
     */
    @Test
    void callersTakingTurnsOnOneContextWriteFilesInOneDirectory() throws Exception {
        dir = gw.freshDir("turns");
        NfsSessionOptions options = NfsSessionOptions.defaults().withMaxContexts(1).withTimeout(Duration.ofSeconds(20));
        byte[] record = TestFiles.random(300, 3);
        try (NfsSession session = NfsClient.libnfs().connect(gw.target(), options);
                ExecutorService pool = Executors.newFixedThreadPool(4)) {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int id = t;
                results.add(pool.submit(() -> {
                    start.await();
                    for (int i = 0; i < 10; i++) {
                        String name = dir + "/r-" + id + "-" + i;
                        try (NfsFile f = session.create(name + ".tmp", OpenFlags.O_WRONLY, 0600)) {
                            f.pwrite(0, ByteBuffer.wrap(record));
                            f.fsync();
                        }
                        session.rename(name + ".tmp", name);
                        if (session.stat(name).size() != record.length) {
                            throw new AssertionError(name + " has the wrong size");
                        }
                        session.unlink(name);
                    }
                    return 10;
                }));
            }
            start.countDown();
            for (Future<Integer> r : results) {
                assertThat(r.get(120, TimeUnit.SECONDS)).isEqualTo(10);
            }
        }
        try (var left = Files.list(gw.local(dir))) {
            assertThat(left).as("every file renamed and removed").isEmpty();
        }
    }

    /**
     * An NFSv4 OPEN the gateway refuses (here: the file does not exist) steps the gateway's open-owner
     * sequence ID but not libnfs 4.0's; the context then gets the refused OPEN's answer replayed for its next
     * OPEN while it holds an open file. The session retires such a context: later opens and creates succeed,
     * and the file that was open on it keeps working (reopened on the next context).
     */
    @Test
    void aRefusedOpenDoesNotBreakLaterOpensWhileAnotherFileIsOpen() throws Exception {
        dir = gw.freshDir("refused");
        NfsSessionOptions options = NfsSessionOptions.defaults().withMaxContexts(1).withTimeout(Duration.ofSeconds(20));
        byte[] data = TestFiles.random(1000, 5);
        try (NfsSession session = NfsClient.libnfs().connect(gw.target(), options)) {
            try (NfsFile held = session.create(dir + "/held", OpenFlags.O_RDWR, 0644)) {
                for (int round = 0; round < 3; round++) {
                    String missing = dir + "/missing-" + round;
                    assertThatThrownBy(() -> session.open(missing, OpenFlags.O_RDONLY))
                            .isInstanceOfSatisfying(NfsException.class, e -> assertThat(e.isNotFound()).isTrue());
                    session.create(dir + "/after-" + round, OpenFlags.O_WRONLY, 0600).close();
                    session.open(dir + "/after-" + round, OpenFlags.O_RDONLY).close();
                }
                assertThat(held.pwrite(0, ByteBuffer.wrap(data))).isEqualTo(data.length);
                held.fsync();
            }
        }
        assertThat(Files.readAllBytes(gw.local(dir + "/held"))).isEqualTo(data);
        assertThat(gw.local(dir + "/after-2")).exists();
    }

    @Test
    void aStreamingReaderDoesNotHoldUpStatCallers() throws Exception {
        dir = gw.freshDir("stream");
        byte[] data = TestFiles.random(32 * MIB, 10);
        Files.write(gw.local(dir + "/large"), data);
        Files.writeString(gw.local(dir + "/small"), "s");
        try (NfsSession session = NfsClient.libnfs().connect(gw.target(),
                NfsSessionOptions.defaults().withMaxContexts(4));
                ExecutorService pool = Executors.newFixedThreadPool(4)) {
            AtomicBoolean stop = new AtomicBoolean();
            AtomicBoolean inPread = new AtomicBoolean();
            AtomicInteger passes = new AtomicInteger();
            Future<?> streamer = pool.submit(() -> {
                try (NfsFile f = session.open(dir + "/large", OpenFlags.O_RDONLY)) {
                    ByteBuffer b = ByteBuffer.allocateDirect(4 * MIB);
                    while (!stop.get()) {
                        for (long off = 0; off < data.length && !stop.get(); off += 4 * MIB) {
                            b.clear();
                            inPread.set(true);
                            f.pread(off, b);
                            inPread.set(false);
                        }
                        passes.incrementAndGet();
                    }
                }
                return null;
            });
            // wait until the streamer is really streaming
            while (!inPread.get()) {
                Thread.onSpinWait();
            }
            AtomicInteger duringPread = new AtomicInteger();
            List<Future<Integer>> statters = new ArrayList<>();
            for (int t = 0; t < 3; t++) {
                statters.add(pool.submit(() -> {
                    for (int i = 0; i < 200; i++) {
                        session.stat(dir + "/small");
                        if (inPread.get()) {
                            duringPread.incrementAndGet();
                        }
                    }
                    return 200;
                }));
            }
            for (Future<Integer> s : statters) {
                assertThat(s.get(60, TimeUnit.SECONDS)).isEqualTo(200);
            }
            // every stat finished while the streamer was still going, many of them during one of its preads
            assertThat(streamer.isDone()).isFalse();
            assertThat(duringPread.get()).isPositive();
            stop.set(true);
            streamer.get(60, TimeUnit.SECONDS);
        }
    }

    @Test
    void aCallStuckOnAFrozenConnectionDoesNotBlockOthersAndTimesOut() throws Exception {
        dir = gw.freshDir("frozen");
        Files.writeString(gw.local(dir + "/f"), "f");
        try (TcpProxy proxy = new TcpProxy(gw.server(), 2049);
                NfsSession session = NfsClient.libnfs().connect(
                        new NfsTarget("127.0.0.1", proxy.port(), gw.share(), NfsVersion.V4),
                        NfsSessionOptions.defaults().withMaxContexts(4).withTimeout(Duration.ofSeconds(3)));
                ExecutorService pool = Executors.newFixedThreadPool(2)) {
            // connect opened context #1 on proxy connection #1: freeze it, then a call that takes it hangs
            assertThat(proxy.connections()).hasSize(1);
            proxy.connections().get(0).freeze();
            Future<NfsException> stuck = pool.submit(() -> {
                try {
                    session.stat(dir + "/f");
                    return null;
                } catch (NfsException e) {
                    return e;
                }
            });
            while (((LibnfsSession) session).contextCount() < 1 || proxy.connections().size() < 1) {
                Thread.onSpinWait();
            }
            Thread.sleep(200); // let the stuck call take the context
            // meanwhile other callers get other contexts and finish
            for (int i = 0; i < 50; i++) {
                assertThat(session.stat(dir + "/f").isFile()).isTrue();
            }
            assertThat(stuck.isDone()).as("the frozen call is still waiting").isFalse();
            NfsException e = stuck.get(30, TimeUnit.SECONDS);
            assertThat(e).isNotNull();
            assertThat(e.isTimeout()).isTrue();
            assertThat(e.getMessage()).startsWith("stat " + dir + "/f on 127.0.0.1:" + gw.share() + ": ETIMEDOUT");
            // the timed-out context was destroyed; calls go on
            assertThat(session.stat(dir + "/f").isFile()).isTrue();
            assertThat(((LibnfsSession) session).contextsCreated()).isGreaterThanOrEqualTo(2);
        }
        assertThat(Callbacks.pending()).isZero();
    }

    @Test
    void aWholeGatewayFreezeTimesOutEveryCallAndRecoversAfterwards() throws Exception {
        dir = gw.freshDir("freeze");
        Files.writeString(gw.local(dir + "/f"), "f");
        try (TcpProxy proxy = new TcpProxy(gw.server(), 2049);
                NfsSession session = NfsClient.libnfs().connect(
                        new NfsTarget("127.0.0.1", proxy.port(), gw.share(), NfsVersion.V4),
                        NfsSessionOptions.defaults().withMaxContexts(2).withTimeout(Duration.ofSeconds(1)))) {
            NfsFile open = session.open(dir + "/f", OpenFlags.O_RDONLY);
            proxy.freezeAll();
            NfsException e = null;
            try {
                session.stat(dir + "/f");
            } catch (NfsException x) {
                e = x;
            }
            assertThat(e).isNotNull();
            assertThat(e.isTimeout()).isTrue();
            proxy.breakAll();
            proxy.thawAll();
            // fresh contexts work again, and the open file is reopened on one
            assertThat(session.stat(dir + "/f").size()).isEqualTo(1);
            ByteBuffer b = ByteBuffer.allocate(10);
            assertThat(open.pread(0, b)).isEqualTo(1);
            open.close();
        }
    }
}
