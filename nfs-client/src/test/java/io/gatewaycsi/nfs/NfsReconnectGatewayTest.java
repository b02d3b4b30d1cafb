package io.gatewaycsi.nfs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gatewaycsi.nfs.testing.TestGateway;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Reconnection against a private gateway (its own namespace: restarting or cutting the shared one would
 * disturb other tests): after ganesha restarts, or after its link was cut and restored, calls work again
 * on fresh contexts, and open files are reopened.
 */
class NfsReconnectGatewayTest {
    private static TestGateway gw;

    @BeforeAll
    static void start() {
        gw = TestGateway.startPrivate("nfsc-reconn", "10.213.77.0/30");
    }

    @AfterAll
    static void stop() {
        if (gw != null) {
            gw.close();
        }
    }

    @Test
    void callsWorkAgainAfterTheGatewayRestarts() throws Exception {
        String dir = gw.freshDir("restart");
        byte[] data = TestFiles.random(3 << 20, 11);
        try (NfsSession session = NfsClient.libnfs().connect(gw.target(),
                NfsSessionOptions.defaults().withTimeout(Duration.ofSeconds(5)).withMaxContexts(4))) {
            session.mkdir(dir + "/before", 0755);
            NfsFile writer = session.create(dir + "/data", OpenFlags.O_RDWR | OpenFlags.O_EXCL, 0644);
            writer.pwrite(0, ByteBuffer.wrap(data));
            NfsFile reader = session.open(dir + "/data", OpenFlags.O_RDONLY);
            long contextsBefore = ((LibnfsSession) session).contextsCreated();

            gw.restart(); // ganesha down and up again: connections broken, NFSv4 state gone

            // the very next calls work: dead idle contexts are noticed and replaced
            assertThat(session.stat(dir + "/before").isDirectory()).isTrue();
            session.mkdir(dir + "/after", 0700);
            assertThat(gw.local(dir + "/after")).isDirectory();
            // open files are reopened on fresh contexts
            ByteBuffer b = ByteBuffer.allocate(data.length);
            assertThat(reader.pread(0, b)).isEqualTo(data.length);
            assertThat(b.array()).isEqualTo(data);
            writer.pwrite(1, ByteBuffer.wrap(new byte[] {42}));
            assertThat(Files.readAllBytes(gw.local(dir + "/data"))[1]).isEqualTo((byte) 42);
            writer.close();
            reader.close();
            assertThat(((LibnfsSession) session).contextsCreated()).isGreaterThan(contextsBefore);
            assertThat(session.reconnects()).as("broken contexts replaced").isPositive();
        }
        assertThat(Callbacks.pending()).isZero();
    }

    @Test
    void aPartitionTimesOutAndTheNextCallAfterItWorks() throws Exception {
        String dir = gw.freshDir("partition");
        Files.writeString(gw.local(dir + "/f"), "f");
        try (NfsSession session = NfsClient.libnfs().connect(gw.target(),
                NfsSessionOptions.defaults().withTimeout(Duration.ofSeconds(2)).withMaxContexts(2))) {
            assertThat(session.stat(dir + "/f").isFile()).isTrue();
            assertThat(session.reconnects()).isZero();
            gw.cutLink("gateway"); // packets vanish
            try {
                assertThatThrownBy(() -> session.stat(dir + "/f"))
                        .isInstanceOfSatisfying(NfsException.class, e -> {
                            assertThat(e.isTimeout()).isTrue();
                            assertThat(e.isUnreachable()).isTrue();
                        });
                // while it lasts, new contexts cannot connect either: also a timeout, not a hang
                assertThatThrownBy(() -> NfsClient.libnfs().connect(gw.target(),
                        NfsSessionOptions.defaults().withTimeout(Duration.ofSeconds(1))))
                        .isInstanceOfSatisfying(NfsException.class, e -> assertThat(e.isUnreachable()).isTrue());
            } finally {
                gw.restoreLink();
            }
            assertThat(session.stat(dir + "/f").isFile()).isTrue();
            assertThat(session.reconnects()).as("the timed-out context was replaced once").isEqualTo(1);
        }
    }

    @Test
    void aCutAtTheHostEndFailsAndRecovers() throws Exception {
        String dir = gw.freshDir("hostcut");
        Files.writeString(gw.local(dir + "/f"), "f");
        try (NfsSession session = NfsClient.libnfs().connect(gw.target(),
                NfsSessionOptions.defaults().withTimeout(Duration.ofSeconds(2)).withMaxContexts(2))) {
            assertThat(session.stat(dir + "/f").isFile()).isTrue();
            gw.cutLink("host");
            try {
                assertThatThrownBy(() -> session.stat(dir + "/f"))
                        .isInstanceOfSatisfying(NfsException.class, e -> assertThat(e.isUnreachable()).isTrue());
            } finally {
                gw.restoreLink();
            }
            assertThat(session.stat(dir + "/f").isFile()).isTrue();
        }
    }
}
