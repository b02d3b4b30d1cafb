package io.gatewaycsi.mounthelper;

import static org.assertj.core.api.Assertions.assertThat;

import io.gatewaycsi.mounthelper.v1.UnmountRequest;
import io.gatewaycsi.nfs.testing.TestGateway;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mount semantics when the gateway goes away: a private gateway whose link the tests cut and restore, or
 * which they restart. Every test restores the link and unmounts, also when it fails.
 */
class MountHelperOutageTest {
    private static TestGateway gw;
    private static HelperHarness helper;
    private static ExecutorService pods;

    @BeforeAll
    static void start() throws IOException {
        gw = TestGateway.startPrivate("gwhelper", "10.213.11.0/30");
        helper = new HelperHarness();
        pods = Executors.newCachedThreadPool(Thread.ofPlatform().daemon().name("pod-", 0).factory());
    }

    @AfterAll
    static void stop() {
        try {
            if (helper != null) {
                helper.close();
            }
        } finally {
            if (pods != null) {
                pods.shutdownNow();
            }
            if (gw != null) {
                gw.close();
            }
        }
    }

    @AfterEach
    void restoreAndUnmount() {
        try {
            gw.restoreLink();
        } finally {
            helper.unmountAll();
        }
    }

    private static void mount(String volume, String dir, Path staging, String... options) {
        helper.mount(HelperHarness.request(volume, gw.server(), gw.share(), dir, staging, options));
    }

    @Test
    void aSoftMountFailsWithEioWhenTheGatewayIsCutOff(@TempDir Path staging) throws Exception {
        String dir = gw.freshDir("soft");
        Files.writeString(gw.local(dir + "/f.txt"), "answer");
        mount("vol-soft", dir, staging, "soft", "timeo=10", "retrans=1");

        gw.cutLink("gateway");
        long start = System.nanoTime();
        Future<Object> read = pods.submit(() -> {
            try {
                return Files.readString(staging.resolve("f.txt"));
            } catch (IOException e) {
                return e;
            }
        });
        Object outcome = read.get(60, TimeUnit.SECONDS);
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        assertThat(outcome).isInstanceOf(IOException.class);
        assertThat(((IOException) outcome).getMessage()).contains("Input/output error");
        // timeo × (retrans + 1) = 2 s; generous bound for the attempt in flight and a loaded machine
        assertThat(took).isLessThan(Duration.ofSeconds(30));
        assertThat(helper.list().getFirst().getHealthy()).as("healthy while the gateway is cut off").isFalse();

        gw.restoreLink();
        assertThat(staging.resolve("f.txt")).hasContent("answer");
        assertThat(helper.list().getFirst().getHealthy()).isTrue();
    }

    @Test
    void aHardMountWaitsForTheGatewayAndThenReturnsTheRightBytes(@TempDir Path staging) throws Exception {
        String dir = gw.freshDir("hard");
        Path source = gw.local(dir + "/big.bin");
        HelperHarness.writeRandom(source, 8L << 20, 11);
        String expected = HelperHarness.sha256(source);
        mount("vol-hard", dir, staging, "hard", "timeo=10");

        gw.cutLink("gateway");
        Future<String> read = pods.submit(() -> HelperHarness.sha256(staging.resolve("big.bin")));
        Thread.sleep(3000);
        assertThat(read.isDone()).as("a hard mount's read waits while the gateway is away").isFalse();

        gw.restoreLink();
        assertThat(read.get(90, TimeUnit.SECONDS)).isEqualTo(expected);
    }

    @Test
    void aHardMountSurvivesAGatewayRestartWithOpenFiles(@TempDir Path staging) throws Exception {
        String dir = gw.freshDir("restart");
        Path source = gw.local(dir + "/data.bin");
        HelperHarness.writeRandom(source, 64L << 20, 5);
        String expected = HelperHarness.sha256(source);
        mount("vol-restart", dir, staging, "hard", "timeo=20");

        MessageDigest md = MessageDigest.getInstance("SHA-256");
        ByteBuffer buf = ByteBuffer.allocate(1 << 20);
        try (FileChannel in = FileChannel.open(staging.resolve("data.bin"));
                FileChannel out = FileChannel.open(staging.resolve("written.bin"), StandardOpenOption.CREATE_NEW,
                        StandardOpenOption.WRITE)) {
            for (int i = 0; i < 8; i++) {
                buf.clear();
                while (buf.hasRemaining() && in.read(buf) > 0) {
                    // fill
                }
                md.update(buf.flip());
                out.write(buf.rewind());
            }
            gw.restart(); // connections break, NFSv4 state (opens) is gone
            int n;
            do {
                buf.clear();
                n = 0;
                while (buf.hasRemaining() && (n = in.read(buf)) > 0) {
                    // fill
                }
                buf.flip();
                md.update(buf.duplicate());
                while (buf.hasRemaining()) {
                    out.write(buf);
                }
            } while (n > 0);
            out.force(true);
        }
        assertThat(HexFormat.of().formatHex(md.digest())).isEqualTo(expected);
        assertThat(HelperHarness.sha256(gw.local(dir + "/written.bin"))).isEqualTo(expected);
    }

    @Test
    void unmountCompletesWhileTheGatewayIsCutOff(@TempDir Path staging) throws Exception {
        String dir = gw.freshDir("cut-unmount");
        Files.writeString(gw.local(dir + "/f.txt"), "never read");
        mount("vol-cut", dir, staging, "hard"); // timeo=600: an RPC in flight waits a minute

        gw.cutLink("gateway");
        Future<Object> stuck = pods.submit(() -> {
            try {
                return Files.readString(staging.resolve("f.txt"));
            } catch (IOException e) {
                return e;
            }
        });
        Thread.sleep(1500);
        assertThat(stuck.isDone()).isFalse();

        long start = System.nanoTime();
        helper.stub.withDeadlineAfter(20, TimeUnit.SECONDS)
                .unmount(UnmountRequest.newBuilder().setStagingPath(staging.toString()).build());
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        assertThat(took).isLessThan(Duration.ofSeconds(20));
        assertThat(HelperHarness.gatewayMountsAt(staging)).isEmpty();
        assertThat(helper.list()).isEmpty();
        // the pod's blocked call ends (its FUSE connection was aborted) instead of hanging
        assertThat(stuck.get(20, TimeUnit.SECONDS)).isInstanceOf(IOException.class);
    }
}
