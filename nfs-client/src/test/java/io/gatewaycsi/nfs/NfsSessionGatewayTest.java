package io.gatewaycsi.nfs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gatewaycsi.nfs.testing.TestGateway;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Every {@link NfsSession} operation against the real gateway, checked on the gateway's side. */
@ExtendWith(TestGateway.class)
class NfsSessionGatewayTest {
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
        dir = gw.freshDir("session");
    }

    @AfterEach
    void removeDir() throws Exception {
        TestFiles.deleteTree(gw.local(dir));
    }

    private Path local(String sharePath) {
        return gw.local(sharePath);
    }

    private static int mode(Path p) throws Exception {
        return (int) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777;
    }

    @Test
    void statOfRootAndOfADirectoryMatchesTheGateway() throws Exception {
        NfsAttributes root = session.stat("/");
        assertThat(root.isDirectory()).isTrue();

        NfsAttributes a = session.stat(dir);
        PosixFileAttributes local = Files.readAttributes(local(dir), PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        assertThat(a.type()).isEqualTo(NfsAttributes.Type.DIRECTORY);
        assertThat(a.mode()).isEqualTo(0777);
        assertThat(a.inode()).isEqualTo((long) Files.getAttribute(local(dir), "unix:ino"));
        assertThat(a.uid()).isEqualTo((int) Files.getAttribute(local(dir), "unix:uid"));
        assertThat(a.nlink()).isEqualTo(2);
        assertThat(a.mtime()).isEqualTo(local.lastModifiedTime().toInstant());
        assertThat(a.statMode()).isEqualTo(040777);
    }

    @Test
    void mkdirCreatesTheDirectoryWithTheExactMode() throws Exception {
        session.mkdir(dir + "/a", 0750);
        session.mkdir(dir + "/a/b", 0705);
        assertThat(local(dir + "/a")).isDirectory();
        assertThat(mode(local(dir + "/a"))).isEqualTo(0750);
        assertThat(mode(local(dir + "/a/b"))).isEqualTo(0705);
    }

    @Test
    void createWriteReadTheBytesOnTheGateway() throws Exception {
        String path = dir + "/f.txt";
        byte[] data = "hello, gateway\n".getBytes(StandardCharsets.UTF_8);
        try (NfsFile f = session.create(path, OpenFlags.O_RDWR | OpenFlags.O_EXCL, 0640)) {
            assertThat(f.pwrite(0, ByteBuffer.wrap(data))).isEqualTo(data.length);
            ByteBuffer back = ByteBuffer.allocate(100);
            assertThat(f.pread(0, back)).isEqualTo(data.length);
            assertThat(back.flip()).isEqualTo(ByteBuffer.wrap(data));
            assertThat(f.pread(data.length, ByteBuffer.allocate(10))).isZero();
            assertThat(f.fstat().size()).isEqualTo(data.length);
            f.fsync();
        }
        assertThat(Files.readAllBytes(local(path))).isEqualTo(data);
        assertThat(mode(local(path))).isEqualTo(0640);
        // libnfs's NFSv4 exclusive create leaves its verifier in atime/mtime; the session fixes both
        Instant atime = Files.readAttributes(local(path), PosixFileAttributes.class).lastAccessTime().toInstant();
        assertThat(atime).isAfter(Instant.now().minus(Duration.ofMinutes(5)));
    }

    @Test
    void createWithoutExclusiveOpensAnExistingFileAndTruncates() throws Exception {
        String path = dir + "/existing";
        Files.writeString(local(path), "old contents");
        try (NfsFile f = session.create(path, OpenFlags.O_WRONLY | OpenFlags.O_TRUNC, 0600)) {
            f.pwrite(0, ByteBuffer.wrap("new".getBytes(StandardCharsets.UTF_8)));
        }
        assertThat(Files.readString(local(path))).isEqualTo("new");
        // without O_TRUNC it keeps the contents
        try (NfsFile f = session.create(path, OpenFlags.O_RDWR, 0600)) {
            assertThat(f.fstat().size()).isEqualTo(3);
        }
        // a new file without O_EXCL gets the mode too
        try (NfsFile f = session.create(dir + "/new", OpenFlags.O_WRONLY, 0604)) {
            assertThat(f.fstat().mode()).isEqualTo(0604);
        }
        assertThat(mode(local(dir + "/new"))).isEqualTo(0604);
    }

    @Test
    void openReadsAnExistingFile() throws Exception {
        Files.writeString(local(dir + "/r"), "abcdef");
        try (NfsFile f = session.open(dir + "/r", OpenFlags.O_RDONLY)) {
            ByteBuffer b = ByteBuffer.allocateDirect(3);
            assertThat(f.pread(2, b)).isEqualTo(3);
            b.flip();
            assertThat(StandardCharsets.UTF_8.decode(b).toString()).isEqualTo("cde");
            assertThatThrownBy(() -> f.pwrite(0, ByteBuffer.wrap(new byte[1])))
                    .isInstanceOfSatisfying(NfsException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EBADF));
        }
        assertThatThrownBy(() -> session.open(dir + "/r", OpenFlags.O_RDWR | OpenFlags.O_CREAT))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void readdirListsNamesAndTypesWithoutDotEntries() throws Exception {
        Files.writeString(local(dir + "/file"), "12345");
        Files.createDirectory(local(dir + "/sub"));
        Files.createSymbolicLink(local(dir + "/link"), Path.of("file"));
        Files.writeString(local(dir + "/ünïcødé"), "");
        Map<String, NfsAttributes> entries = session.readdir(dir).stream()
                .collect(Collectors.toMap(NfsDirEntry::name, NfsDirEntry::attributes));
        assertThat(entries).containsOnlyKeys("file", "sub", "link", "ünïcødé");
        assertThat(entries.get("file").type()).isEqualTo(NfsAttributes.Type.FILE);
        assertThat(entries.get("file").size()).isEqualTo(5);
        assertThat(entries.get("sub").type()).isEqualTo(NfsAttributes.Type.DIRECTORY);
        assertThat(entries.get("link").type()).isEqualTo(NfsAttributes.Type.SYMLINK);
        assertThat(entries.get("file").mtime())
                .isEqualTo(Files.getLastModifiedTime(local(dir + "/file")).toInstant());
        assertThat(session.readdir(dir + "/sub")).isEmpty();
    }

    @Test
    void truncateCutsAndExtends() throws Exception {
        Files.writeString(local(dir + "/t"), "0123456789");
        session.truncate(dir + "/t", 4);
        assertThat(Files.readString(local(dir + "/t"))).isEqualTo("0123");
        session.truncate(dir + "/t", 6);
        assertThat(Files.readAllBytes(local(dir + "/t"))).containsExactly('0', '1', '2', '3', 0, 0);
    }

    @Test
    void unlinkRmdirRename() throws Exception {
        Files.writeString(local(dir + "/u"), "x");
        Files.createDirectory(local(dir + "/d"));
        session.rename(dir + "/u", dir + "/d/moved");
        assertThat(local(dir + "/u")).doesNotExist();
        assertThat(Files.readString(local(dir + "/d/moved"))).isEqualTo("x");
        session.unlink(dir + "/d/moved");
        assertThat(local(dir + "/d/moved")).doesNotExist();
        session.rmdir(dir + "/d");
        assertThat(local(dir + "/d")).doesNotExist();
    }

    @Test
    void renameReplacesAnExistingFile() throws Exception {
        Files.writeString(local(dir + "/a"), "a");
        Files.writeString(local(dir + "/b"), "b");
        session.rename(dir + "/a", dir + "/b");
        assertThat(Files.readString(local(dir + "/b"))).isEqualTo("a");
        assertThat(local(dir + "/a")).doesNotExist();
    }

    /**
     * libnfs 4.0 hands NFSv4 link contents over without a terminating NUL: reading up to a NUL returned the
     * link plus whatever followed it in memory (seen as {@code target\u00ff…}), so snapshots copied links
     * with corrupted targets. Links of every length up to a few XDR words, and long ones, read back exactly.
     */
    @Test
    void readlinkReturnsExactlyTheLinksContentsWhateverItsLength() throws Exception {
        for (int length = 1; length <= 64; length++) {
            String target = "t".repeat(length - 1) + (char) ('a' + length % 26);
            Files.createSymbolicLink(local(dir + "/l" + length), Path.of(target));
            assertThat(session.readlink(dir + "/l" + length)).isEqualTo(target);
        }
        String longTarget = "../d/".repeat(200) + "x";
        session.symlink(longTarget, dir + "/long");
        assertThat(session.readlink(dir + "/long")).isEqualTo(longTarget);
    }

    @Test
    void symlinkAndReadlinkAndLstat() throws Exception {
        session.symlink("../elsewhere/target", dir + "/l");
        Path l = local(dir + "/l");
        assertThat(Files.isSymbolicLink(l)).isTrue();
        assertThat(Files.readSymbolicLink(l)).isEqualTo(Path.of("../elsewhere/target"));
        assertThat(session.readlink(dir + "/l")).isEqualTo("../elsewhere/target");
        NfsAttributes a = session.lstat(dir + "/l");
        assertThat(a.isSymlink()).isTrue();
        assertThat(a.size()).isEqualTo("../elsewhere/target".length());
        // stat follows it (to nowhere)
        assertThatThrownBy(() -> session.stat(dir + "/l"))
                .isInstanceOfSatisfying(NfsException.class, e -> assertThat(e.isNotFound()).isTrue());
        Files.writeString(local(dir + "/real"), "r");
        session.symlink("real", dir + "/ok");
        assertThat(session.stat(dir + "/ok").isFile()).isTrue();
    }

    @Test
    void chmodWorksOnFilesAndDirectoriesAndFollowsSymlinks() throws Exception {
        Files.writeString(local(dir + "/f"), "f");
        Files.createDirectory(local(dir + "/d"));
        Files.createSymbolicLink(local(dir + "/lf"), Path.of("f"));
        session.chmod(dir + "/f", 0600);
        session.chmod(dir + "/d", 02750);
        assertThat(mode(local(dir + "/f"))).isEqualTo(0600);
        assertThat(mode(local(dir + "/d"))).isEqualTo(02750);
        session.chmod(dir + "/lf", 0444);
        assertThat(mode(local(dir + "/f"))).isEqualTo(0444);
        assertThat(session.stat(dir + "/d").mode()).isEqualTo(02750);
    }

    @Test
    void chownAndLchown() throws Exception {
        Files.writeString(local(dir + "/f"), "f");
        Files.createDirectory(local(dir + "/d"));
        Files.createSymbolicLink(local(dir + "/l"), Path.of("f"));
        session.chown(dir + "/f", 1234, 5678);
        session.chown(dir + "/d", 1001, -1);
        session.lchown(dir + "/l", 4321, 8765);
        assertThat(Files.getAttribute(local(dir + "/f"), "unix:uid")).isEqualTo(1234);
        assertThat(Files.getAttribute(local(dir + "/f"), "unix:gid")).isEqualTo(5678);
        assertThat(Files.getAttribute(local(dir + "/d"), "unix:uid")).isEqualTo(1001);
        assertThat(Files.getAttribute(local(dir + "/d"), "unix:gid")).isEqualTo(0);
        assertThat(Files.getAttribute(local(dir + "/l"), "unix:uid", LinkOption.NOFOLLOW_LINKS)).isEqualTo(4321);
        assertThat(Files.getAttribute(local(dir + "/f"), "unix:uid")).isEqualTo(1234);
        NfsAttributes a = session.lstat(dir + "/l");
        assertThat(a.uid()).isEqualTo(4321);
        assertThat(a.gid()).isEqualTo(8765);
    }

    @Test
    void utimesSetsNanosecondTimesOnFilesDirectoriesAndLinks() throws Exception {
        Files.writeString(local(dir + "/f"), "f");
        Files.createDirectory(local(dir + "/d"));
        Files.createSymbolicLink(local(dir + "/l"), Path.of("f"));
        Instant atime = Instant.parse("2021-03-04T05:06:07.123456789Z");
        Instant mtime = Instant.parse("2020-01-02T03:04:05.987654321Z");
        session.utimes(dir + "/f", atime, mtime);
        session.utimes(dir + "/d", atime, mtime);
        assertThat(Files.getLastModifiedTime(local(dir + "/f"))).isEqualTo(FileTime.from(mtime));
        assertThat(Files.readAttributes(local(dir + "/f"), PosixFileAttributes.class).lastAccessTime())
                .isEqualTo(FileTime.from(atime));
        assertThat(Files.getLastModifiedTime(local(dir + "/d"))).isEqualTo(FileTime.from(mtime));
        assertThat(session.stat(dir + "/f").mtime()).isEqualTo(mtime);

        // null keeps a time
        Instant later = Instant.parse("2022-02-02T02:02:02Z");
        session.utimes(dir + "/f", null, later);
        assertThat(session.stat(dir + "/f").atime()).isEqualTo(atime);
        assertThat(session.stat(dir + "/f").mtime()).isEqualTo(later);

        // lutimes acts on the link, not on its target. (nfs-ganesha 4.3's VFS FSAL answers OK but keeps a
        // symbolic link's own times, so only "the target is untouched" can be checked here.)
        session.lutimes(dir + "/l", atime, mtime);
        assertThat(Files.getLastModifiedTime(local(dir + "/f"))).isEqualTo(FileTime.from(later));
    }

    @Test
    void statvfsReportsTheGatewayFileSystem() throws Exception {
        NfsFsStats s = session.statvfs("/");
        var store = Files.getFileStore(gw.exportDir());
        assertThat(s.totalBytes()).isEqualTo(store.getTotalSpace());
        assertThat(s.availableBytes()).isPositive().isLessThanOrEqualTo(s.freeBytes());
        assertThat(s.freeBytes()).isLessThanOrEqualTo(s.totalBytes());
        assertThat(s.totalInodes()).isPositive();
        assertThat(s.freeInodes()).isPositive().isLessThanOrEqualTo(s.totalInodes());
        assertThat(s.blockSize()).isPositive();
        assertThat(s.maxNameLength()).isGreaterThanOrEqualTo(255);
    }

    @Test
    void modeOfCreatedFilesIsNotMaskedByAUmask() throws Exception {
        session.mkdir(dir + "/open", 0777);
        try (NfsFile f = session.create(dir + "/open/x", OpenFlags.O_WRONLY | OpenFlags.O_EXCL, 0666)) {
            f.pwrite(0, ByteBuffer.wrap(new byte[] {1}));
        }
        assertThat(Files.getPosixFilePermissions(local(dir + "/open")))
                .isEqualTo(PosixFilePermissions.fromString("rwxrwxrwx"));
        assertThat(mode(local(dir + "/open/x"))).isEqualTo(0666);
    }

    @Test
    void pathsThroughASymlinkedDirectory() throws Exception {
        Files.createDirectory(local(dir + "/real"));
        Files.createSymbolicLink(local(dir + "/via"), Path.of("real"));
        session.mkdir(dir + "/via/sub", 0700);
        assertThat(local(dir + "/real/sub")).isDirectory();
        try (NfsFile f = session.create(dir + "/via/new", OpenFlags.O_WRONLY, 0640)) {
            f.pwrite(0, ByteBuffer.wrap(new byte[] {1, 2, 3}));
        }
        assertThat(mode(local(dir + "/real/new"))).isEqualTo(0640);
        session.chmod(dir + "/via/new", 0600);
        assertThat(mode(local(dir + "/real/new"))).isEqualTo(0600);
        session.lchown(dir + "/via/new", 42, 43);
        assertThat(Files.getAttribute(local(dir + "/real/new"), "unix:uid")).isEqualTo(42);
        Instant t = Instant.parse("2017-07-07T07:07:07Z");
        session.utimes(dir + "/via/sub", t, t);
        assertThat(Files.getLastModifiedTime(local(dir + "/real/sub")).toInstant()).isEqualTo(t);
        // chmod on the link itself follows it to the directory
        session.chmod(dir + "/via", 0751);
        assertThat(mode(local(dir + "/real"))).isEqualTo(0751);
    }

    @Test
    void presentedCredentialsOwnNewFilesAndAreCheckedByTheGateway() throws Exception {
        Files.createDirectory(local(dir + "/closed"));
        Files.setAttribute(local(dir + "/closed"), "unix:mode", 0755);
        try (NfsSession user = NfsClient.libnfs().connect(gw.target(),
                NfsSessionOptions.defaults().withCredentials(1234, 5678).withTimeout(Duration.ofSeconds(10)))) {
            user.mkdir(dir + "/mine", 0700);
            assertThat(Files.getAttribute(local(dir + "/mine"), "unix:uid")).isEqualTo(1234);
            assertThat(Files.getAttribute(local(dir + "/mine"), "unix:gid")).isEqualTo(5678);
            try (NfsFile f = user.create(dir + "/mine/f", OpenFlags.O_WRONLY | OpenFlags.O_EXCL, 0600)) {
                f.pwrite(0, ByteBuffer.wrap(new byte[] {1}));
            }
            assertThat(Files.getAttribute(local(dir + "/mine/f"), "unix:uid")).isEqualTo(1234);
            assertThatThrownBy(() -> user.mkdir(dir + "/closed/x", 0700))
                    .isInstanceOfSatisfying(NfsException.class, e -> {
                        assertThat(e.isPermissionDenied()).isTrue();
                        assertThat(e.errno()).isEqualTo(Errno.EACCES);
                    });
        }
    }
}
