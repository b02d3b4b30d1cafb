package io.gatewaycsi.nfs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gatewaycsi.nfs.testing.TestGateway;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Errors from the real gateway, mapped to errno with the operation, path and target in the message. */
@ExtendWith(TestGateway.class)
class NfsErrorsGatewayTest {
    private static NfsSession session;
    private final TestGateway gw = TestGateway.get();
    private String dir;

    @BeforeAll
    static void connect() throws Exception {
        session = NfsClient.libnfs().connect(TestGateway.get().target(),
                NfsSessionOptions.defaults().withTimeout(Duration.ofSeconds(10)));
    }

    @AfterAll
    static void disconnect() {
        if (session != null) {
            session.close();
        }
    }

    @BeforeEach
    void freshDir() {
        dir = gw.freshDir("errors");
    }

    @AfterEach
    void removeDir() throws Exception {
        TestFiles.deleteTree(gw.local(dir));
    }

    private NfsException fails(ThrowingCallable call) {
        List<NfsException> caught = new ArrayList<>();
        assertThatThrownBy(call).isInstanceOfSatisfying(NfsException.class, caught::add);
        return caught.get(0);
    }

    @Test
    void enoentNamesOperationPathTargetAndErrno() throws Exception {
        NfsException e = fails(() -> session.stat(dir + "/missing"));
        assertThat(e.isNotFound()).isTrue();
        assertThat(e.errno()).isEqualTo(2);
        assertThat(e.errnoName()).isEqualTo("ENOENT");
        assertThat(e.operation()).isEqualTo("stat");
        assertThat(e.path()).isEqualTo(dir + "/missing");
        assertThat(e.target()).isEqualTo(gw.server() + ":" + gw.share());
        assertThat(e.getMessage()).startsWith("stat " + dir + "/missing on " + gw.server() + ":" + gw.share()
                + ": ENOENT (No such file or directory)");
        assertThat(e.libnfsError()).contains("NFS4ERR_NOENT");
        assertThat(e.isUnreachable()).isFalse();

        assertThat(fails(() -> session.lstat(dir + "/a/b/c")).isNotFound()).isTrue();
        assertThat(fails(() -> session.open(dir + "/missing", OpenFlags.O_RDONLY)).isNotFound()).isTrue();
        assertThat(fails(() -> session.readdir(dir + "/missing")).isNotFound()).isTrue();
        assertThat(fails(() -> session.rmdir(dir + "/missing")).isNotFound()).isTrue();
        assertThat(fails(() -> session.unlink(dir + "/missing")).isNotFound()).isTrue();
        assertThat(fails(() -> session.readlink(dir + "/missing")).isNotFound()).isTrue();
        assertThat(fails(() -> session.chmod(dir + "/missing", 0700)).isNotFound()).isTrue();
        assertThat(fails(() -> session.lchown(dir + "/missing", 1, 1)).isNotFound()).isTrue();
        assertThat(fails(() -> session.truncate(dir + "/missing", 0)).isNotFound()).isTrue();
        assertThat(fails(() -> session.mkdir(dir + "/no/parent", 0755)).isNotFound()).isTrue();
        assertThat(fails(() -> session.create(dir + "/no/parent", OpenFlags.O_WRONLY, 0644)).isNotFound()).isTrue();
        NfsException rename = fails(() -> session.rename(dir + "/missing", dir + "/x"));
        assertThat(rename.isNotFound()).isTrue();
        assertThat(rename.path()).isEqualTo(dir + "/missing -> " + dir + "/x");
        assertThat(session.exists(dir + "/missing")).isFalse();
        assertThat(session.exists(dir)).isTrue();
    }

    @Test
    void eexist() throws Exception {
        Files.createDirectory(gw.local(dir + "/d"));
        Files.writeString(gw.local(dir + "/f"), "f");
        NfsException e = fails(() -> session.mkdir(dir + "/d", 0755));
        assertThat(e.isAlreadyExists()).isTrue();
        assertThat(e.getMessage()).startsWith("mkdir " + dir + "/d on " + gw.server() + ":" + gw.share()
                + ": EEXIST (File exists)");
        assertThat(fails(() -> session.mkdir(dir + "/f", 0755)).isAlreadyExists()).isTrue();
        assertThat(fails(() -> session.create(dir + "/f", OpenFlags.O_WRONLY | OpenFlags.O_EXCL, 0644))
                .isAlreadyExists()).isTrue();
        assertThat(fails(() -> session.symlink("x", dir + "/f")).isAlreadyExists()).isTrue();
        assertThat(Files.readString(gw.local(dir + "/f"))).isEqualTo("f");
    }

    @Test
    void enotempty() throws Exception {
        Files.createDirectories(gw.local(dir + "/full/sub"));
        NfsException e = fails(() -> session.rmdir(dir + "/full"));
        assertThat(e.isNotEmpty()).isTrue();
        assertThat(e.errno()).isEqualTo(39);
        assertThat(e.getMessage()).contains(": ENOTEMPTY (Directory not empty)");
        assertThat(gw.local(dir + "/full/sub")).isDirectory();
    }

    @Test
    void eisdirAndNotASymlink() throws Exception {
        Files.createDirectory(gw.local(dir + "/d"));
        Files.writeString(gw.local(dir + "/f"), "f");
        assertThat(fails(() -> session.open(dir + "/d", OpenFlags.O_RDONLY)).isDirectory()).isTrue();
        assertThat(fails(() -> session.readlink(dir + "/f")).errno()).isEqualTo(Errno.EINVAL);
        assertThat(fails(() -> session.readdir(dir + "/f")).isNotDirectory()).isTrue();
        Files.createSymbolicLink(gw.local(dir + "/l"), java.nio.file.Path.of("f"));
        assertThat(fails(() -> session.open(dir + "/l", OpenFlags.O_RDONLY | OpenFlags.O_NOFOLLOW)).errno())
                .isEqualTo(Errno.ELOOP);
    }

    @Test
    void invalidPathsAreRejectedBeforeAnyCall() {
        for (String bad : new String[] {"relative", "/a/../b", "/a/./b", "/a//b", "/a/", ""}) {
            assertThatThrownBy(() -> session.stat(bad)).isInstanceOf(IllegalArgumentException.class);
        }
        assertThatThrownBy(() -> session.mkdir(dir + "/m", 010777)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void connectToAMissingExportIsEnoent() {
        NfsException e = fails(() -> NfsClient.libnfs().connect(NfsTarget.v4(gw.server(), "/no-such-export")));
        assertThat(e.isNotFound()).isTrue();
        assertThat(e.operation()).isEqualTo("mount");
        assertThat(e.getMessage()).startsWith("mount on " + gw.server() + ":/no-such-export: ENOENT");
    }

    @Test
    void connectToAClosedPortIsRefused() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        NfsException e = fails(() -> NfsClient.libnfs().connect(new NfsTarget("127.0.0.1", port, "/x", NfsVersion.V4)));
        assertThat(e.errno()).isEqualTo(Errno.ECONNREFUSED);
        assertThat(e.isUnreachable()).isTrue();
        assertThat(e.isConnectionLost()).isTrue();
    }

    @Test
    void aServerThatNeverAnswersTimesOutAtTheDeadline() throws Exception {
        ServerSocket silent = new ServerSocket(0, 5, InetAddress.getLoopbackAddress());
        List<Socket> accepted = new ArrayList<>();
        Thread acceptor = Thread.ofVirtual().start(() -> {
            try {
                while (true) {
                    accepted.add(silent.accept());
                }
            } catch (Exception ignored) {
                // closed
            }
        });
        try {
            long t0 = System.nanoTime();
            NfsException e = fails(() -> NfsClient.libnfs().connect(
                    new NfsTarget("127.0.0.1", silent.getLocalPort(), "/x", NfsVersion.V4),
                    NfsSessionOptions.defaults().withTimeout(Duration.ofSeconds(1))));
            Duration took = Duration.ofNanos(System.nanoTime() - t0);
            assertThat(e.isTimeout()).isTrue();
            assertThat(e.errno()).isEqualTo(Errno.ETIMEDOUT);
            // bounded by the deadline (generous upper bound: this asserts "it ends", not a speed)
            assertThat(took).isLessThan(Duration.ofSeconds(20));
        } finally {
            silent.close();
            acceptor.join();
            for (Socket s : accepted) {
                s.close();
            }
        }
    }
}
