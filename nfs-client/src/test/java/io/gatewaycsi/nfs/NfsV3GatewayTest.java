package io.gatewaycsi.nfs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gatewaycsi.nfs.testing.TestGateway;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The NFSv3 paths of libnfs against a private gateway that also serves NFSv3 (rpcbind in its namespace). */
class NfsV3GatewayTest {
    private static TestGateway gw;
    private static NfsSession session;

    @BeforeAll
    static void start() throws Exception {
        gw = TestGateway.startPrivate("nfsc-v3", "10.213.78.0/30", Map.of("GATEWAY_NFS_V3", "1"));
        session = NfsClient.libnfs().connect(gw.target(NfsVersion.V3),
                NfsSessionOptions.defaults().withTimeout(Duration.ofSeconds(10)));
    }

    @AfterAll
    static void stop() {
        if (session != null) {
            session.close();
        }
        if (gw != null) {
            gw.close();
        }
    }

    private static int mode(Path p) throws Exception {
        return (int) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777;
    }

    @Test
    void operationsAndBytes() throws Exception {
        String dir = gw.freshDir("v3");
        session.mkdir(dir + "/d", 0750);
        assertThat(mode(gw.local(dir + "/d"))).isEqualTo(0750);
        session.chmod(dir + "/d", 0711);
        assertThat(mode(gw.local(dir + "/d"))).isEqualTo(0711);

        byte[] data = TestFiles.random((4 << 20) + 3, 12);
        try (NfsFile f = session.create(dir + "/d/f", OpenFlags.O_RDWR | OpenFlags.O_EXCL, 0640)) {
            f.pwrite(0, ByteBuffer.allocateDirect(data.length).put(data).flip());
            ByteBuffer b = ByteBuffer.allocate(4 << 20);
            assertThat(f.pread(0, b)).isEqualTo(4 << 20);
            assertThat(f.pread(4 << 20, ByteBuffer.allocate(100))).isEqualTo(3);
        }
        assertThat(TestFiles.sha256(gw.local(dir + "/d/f"))).isEqualTo(TestFiles.sha256(data));
        assertThat(mode(gw.local(dir + "/d/f"))).isEqualTo(0640);
        // O_CREAT without O_EXCL on an existing file opens it
        try (NfsFile f = session.create(dir + "/d/f", OpenFlags.O_RDONLY, 0600)) {
            assertThat(f.fstat().size()).isEqualTo(data.length);
        }

        session.symlink("f", dir + "/d/l");
        assertThat(session.readlink(dir + "/d/l")).isEqualTo("f");
        assertThat(session.lstat(dir + "/d/l").isSymlink()).isTrue();
        session.lchown(dir + "/d/l", 555, 666);
        assertThat(Files.getAttribute(gw.local(dir + "/d/l"), "unix:uid", LinkOption.NOFOLLOW_LINKS)).isEqualTo(555);
        session.chown(dir + "/d/f", 777, -1);
        assertThat(Files.getAttribute(gw.local(dir + "/d/f"), "unix:uid")).isEqualTo(777);

        Instant mtime = Instant.parse("2018-01-01T00:00:00.123456Z");
        session.utimes(dir + "/d", null, mtime);
        assertThat(Files.getLastModifiedTime(gw.local(dir + "/d"))).isEqualTo(FileTime.from(mtime));

        Map<String, NfsAttributes> entries = session.readdir(dir + "/d").stream()
                .collect(Collectors.toMap(NfsDirEntry::name, NfsDirEntry::attributes));
        assertThat(entries).containsOnlyKeys("f", "l");
        assertThat(entries.get("f").inode()).isEqualTo((long) Files.getAttribute(gw.local(dir + "/d/f"), "unix:ino"));
        assertThat(entries.get("l").isSymlink()).isTrue();

        session.rename(dir + "/d/f", dir + "/d/g");
        session.truncate(dir + "/d/g", 10);
        assertThat(Files.size(gw.local(dir + "/d/g"))).isEqualTo(10);
        assertThat(session.statvfs("/").totalBytes()).isPositive();

        NfsTrees.copyTree(session, dir + "/d", dir + "/copy");
        assertThat(Files.readAllBytes(gw.local(dir + "/copy/g"))).isEqualTo(Files.readAllBytes(gw.local(dir + "/d/g")));
        assertThat(mode(gw.local(dir + "/copy"))).isEqualTo(0711);
        assertThat(NfsTrees.removeTree(session, dir + "/d")).isTrue();
        assertThat(gw.local(dir + "/d")).doesNotExist();
    }

    @Test
    void errors() throws Exception {
        String dir = gw.freshDir("v3err");
        Files.createDirectories(gw.local(dir + "/full/sub"));
        assertThatThrownBy(() -> session.stat(dir + "/missing"))
                .isInstanceOfSatisfying(NfsException.class, e -> assertThat(e.isNotFound()).isTrue());
        assertThatThrownBy(() -> session.mkdir(dir + "/full", 0755))
                .isInstanceOfSatisfying(NfsException.class, e -> assertThat(e.isAlreadyExists()).isTrue());
        assertThatThrownBy(() -> session.rmdir(dir + "/full"))
                .isInstanceOfSatisfying(NfsException.class, e -> assertThat(e.isNotEmpty()).isTrue());
        assertThatThrownBy(() -> session.create(dir + "/full", OpenFlags.O_WRONLY | OpenFlags.O_EXCL, 0600))
                .isInstanceOfSatisfying(NfsException.class, e -> assertThat(e.isAlreadyExists()).isTrue());
    }
}
