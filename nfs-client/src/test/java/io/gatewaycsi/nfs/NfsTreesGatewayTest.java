package io.gatewaycsi.nfs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gatewaycsi.nfs.testing.TestGateway;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** {@link NfsTrees} against the real gateway. */
@ExtendWith(TestGateway.class)
class NfsTreesGatewayTest {
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
        dir = gw.freshDir("trees");
    }

    @AfterEach
    void removeDir() throws Exception {
        TestFiles.deleteTree(gw.local(dir));
    }

    private static void mode(Path p, int mode) throws Exception {
        Files.setAttribute(p, "unix:mode", mode);
    }

    private static int mode(Path p) throws Exception {
        return (int) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777;
    }

    @Test
    void removeTreeRemovesEverythingButNeverFollowsSymlinksOutOfTheTree() throws Exception {
        // outside the tree: a directory and a file that links inside the tree point to
        Path outside = gw.local(dir + "/outside");
        Files.createDirectories(outside.resolve("keep"));
        Files.writeString(outside.resolve("keep/precious"), "do not delete");
        Files.writeString(outside.resolve("file"), "also keep");

        Path vol = gw.local(dir + "/vol");
        Files.createDirectories(vol.resolve("a/b/c"));
        Files.writeString(vol.resolve("top"), "1");
        Files.write(vol.resolve("a/b/c/deep"), TestFiles.random(100_000, 5));
        Files.createSymbolicLink(vol.resolve("a/to-outside-dir"), Path.of("../../outside"));
        Files.createSymbolicLink(vol.resolve("a/b/to-outside-file"), Path.of("../../../outside/file"));
        // absolute targets resolve against the share's root in libnfs
        Files.createSymbolicLink(vol.resolve("abs-link"), Path.of(dir + "/outside"));
        Files.createSymbolicLink(vol.resolve("dangling"), Path.of("nowhere"));
        Files.createSymbolicLink(vol.resolve("a/self"), Path.of("."));
        Files.createDirectory(vol.resolve("readonly-dir"));
        Files.writeString(vol.resolve("readonly-dir/x"), "x");
        mode(vol.resolve("readonly-dir"), 0555);

        assertThat(NfsTrees.removeTree(session, dir + "/vol")).isTrue();

        assertThat(vol).doesNotExist();
        assertThat(Files.readString(outside.resolve("keep/precious"))).isEqualTo("do not delete");
        assertThat(Files.readString(outside.resolve("file"))).isEqualTo("also keep");
        assertThat(NfsTrees.removeTree(session, dir + "/vol")).isFalse();
    }

    @Test
    void removeTreeOfASymlinkRemovesOnlyTheLink() throws Exception {
        Files.createDirectories(gw.local(dir + "/target/inner"));
        Files.createSymbolicLink(gw.local(dir + "/link"), Path.of("target"));
        assertThat(NfsTrees.removeTree(session, dir + "/link")).isTrue();
        assertThat(gw.local(dir + "/link")).doesNotExist();
        assertThat(gw.local(dir + "/target/inner")).isDirectory();
    }

    @Test
    void removeTreeOfAFileAndWideDirectories() throws Exception {
        Files.writeString(gw.local(dir + "/single"), "s");
        assertThat(NfsTrees.removeTree(session, dir + "/single")).isTrue();
        assertThat(gw.local(dir + "/single")).doesNotExist();

        Path wide = gw.local(dir + "/wide");
        Files.createDirectory(wide);
        for (int i = 0; i < 300; i++) {
            Files.writeString(wide.resolve("f" + i), "x");
        }
        NfsTrees.removeTree(session, dir + "/wide");
        assertThat(wide).doesNotExist();
        assertThatThrownBy(() -> NfsTrees.removeTree(session, "/")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void copyTreePreservesBytesModesSymlinksAndTimes() throws Exception {
        Path src = gw.local(dir + "/src");
        Files.createDirectories(src.resolve("sub/deeper"));
        Files.write(src.resolve("empty"), new byte[0]);
        Files.write(src.resolve("small"), TestFiles.random(17, 6));
        Files.write(src.resolve("sub/megabyte-plus"), TestFiles.random((1 << 20) + 17, 7));
        Files.write(src.resolve("sub/deeper/three-mib"), TestFiles.random(3 << 20, 8));
        Files.createSymbolicLink(src.resolve("rel-link"), Path.of("sub/megabyte-plus"));
        Files.createSymbolicLink(src.resolve("sub/abs-link"), Path.of("/etc/passwd"));
        Files.createSymbolicLink(src.resolve("dangling"), Path.of("does/not/exist"));
        mode(src.resolve("small"), 0640);
        mode(src.resolve("empty"), 0400);
        mode(src.resolve("sub/megabyte-plus"), 0755);
        mode(src.resolve("sub/deeper/three-mib"), 04711);
        mode(src.resolve("sub/deeper"), 0500);
        mode(src.resolve("sub"), 02750);
        Files.setAttribute(src.resolve("small"), "unix:uid", 1234);
        Instant mtime = Instant.parse("2019-06-07T08:09:10.123456789Z");
        Files.setLastModifiedTime(src.resolve("small"), FileTime.from(mtime));
        Files.setLastModifiedTime(src.resolve("sub"), FileTime.from(mtime));

        NfsTrees.copyTree(session, dir + "/src", dir + "/snap");

        Path dst = gw.local(dir + "/snap");
        assertThat(describe(dst)).isEqualTo(describe(src));
        assertThat(Files.getLastModifiedTime(dst.resolve("small")).toInstant()).isEqualTo(mtime);
        assertThat(Files.getLastModifiedTime(dst.resolve("sub")).toInstant()).isEqualTo(mtime);
        assertThat(Files.getAttribute(dst.resolve("small"), "unix:uid")).isEqualTo(1234);
        assertThat(Files.readSymbolicLink(dst.resolve("sub/abs-link"))).isEqualTo(Path.of("/etc/passwd"));
        assertThat(Files.isSymbolicLink(dst.resolve("rel-link"))).isTrue();
    }

    @Test
    void copyTreeRefusesAnExistingTargetAndCopiesIntoItself() throws Exception {
        Files.createDirectories(gw.local(dir + "/a/b"));
        Files.createDirectories(gw.local(dir + "/exists"));
        assertThatThrownBy(() -> NfsTrees.copyTree(session, dir + "/a", dir + "/exists"))
                .isInstanceOfSatisfying(NfsException.class, e -> assertThat(e.isAlreadyExists()).isTrue());
        assertThatThrownBy(() -> NfsTrees.copyTree(session, dir + "/a", dir + "/a/b/c"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    /** Relative path -> "type mode sha256-or-link-target" for every entry below {@code root}. */
    private static Map<String, String> describe(Path root) throws Exception {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : (Iterable<Path>) all::iterator) {
                String rel = root.relativize(p).toString();
                if (Files.isSymbolicLink(p)) {
                    out.put(rel, "link " + Files.readSymbolicLink(p));
                } else if (Files.isDirectory(p)) {
                    out.put(rel, "dir " + Integer.toOctalString(mode(p)));
                } else {
                    out.put(rel, "file " + Integer.toOctalString(mode(p)) + " " + TestFiles.sha256(p));
                }
            }
        }
        return out;
    }
}
