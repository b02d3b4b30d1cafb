package io.gatewaycsi.mounthelper;

import static org.assertj.core.api.Assertions.assertThat;

import io.gatewaycsi.nfs.NfsClient;
import io.gatewaycsi.nfs.NfsFile;
import io.gatewaycsi.nfs.NfsSession;
import io.gatewaycsi.nfs.NfsSessionOptions;
import io.gatewaycsi.nfs.OpenFlags;
import io.gatewaycsi.nfs.testing.TestGateway;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Metadata through the mount helper against the real test gateway and real FUSE: directory listings carry
 * attributes to the kernel in bulk (READDIRPLUS from NFSv4 READDIR with attributes), and cached attributes and
 * entries live as long as the volume's options say (nfs(5) {@code actimeo}, {@code ac*}, {@code noac},
 * {@code lookupcache}). Changes "on the gateway" are made by another NFS client, as another node would (the
 * gateway caches attributes itself, so changes made behind its back in the export directory show late).
 */
@ExtendWith(TestGateway.class)
class MetadataCacheGatewayTest {
    private static HelperHarness helper;
    /** Another NFS client of the gateway (another node): its changes reach the gateway's own caches. */
    private static NfsSession otherClient;

    @BeforeAll
    static void start() throws Exception {
        helper = new HelperHarness();
        otherClient = NfsClient.libnfs().connect(TestGateway.get().target(),
                NfsSessionOptions.defaults().withTimeout(Duration.ofSeconds(30)));
    }

    @AfterAll
    static void stop() {
        if (otherClient != null) {
            otherClient.close();
        }
        if (helper != null) {
            helper.close();
        }
    }

    /** Writes {@code size} zero bytes to {@code dir/name} through the other client (created or truncated). */
    private static void writeElsewhere(String dir, String name, int size) throws Exception {
        try (NfsFile f = otherClient.create(dir + "/" + name, OpenFlags.O_WRONLY | OpenFlags.O_TRUNC, 0644)) {
            f.pwrite(0, ByteBuffer.allocate(size));
            f.fsync();
        }
    }

    @AfterEach
    void unmountAll() {
        helper.unmountAll();
    }

    private static GatewayMount mount(TestGateway gw, String volume, String dir, Path staging, String... options) {
        helper.mount(HelperHarness.request(volume, gw.server(), gw.share(), dir, staging, options));
        return helper.service.mounts().values().stream()
                .filter(m -> m.spec().volumeId().equals(volume)).findFirst().orElseThrow();
    }

    /** Files.walkFileTree with the attributes of every entry (an lstat each, as find(1) or du(1) do). */
    private static long walk(Path root) throws IOException {
        AtomicLong seen = new AtomicLong();
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                seen.incrementAndGet();
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                seen.addAndGet(attrs.size() >= 0 ? 1 : 0);
                return FileVisitResult.CONTINUE;
            }
        });
        return seen.get();
    }

    @Test
    void aWalkCostsAboutOneGatewayCallPerDirectoryNotOnePerEntry(TestGateway gw, @TempDir Path staging)
            throws IOException {
        String dir = gw.freshDir("md-walk");
        int dirs = 10;
        int files = 100;
        for (int d = 0; d < dirs; d++) {
            Path local = Files.createDirectories(gw.local(dir + "/d" + d));
            for (int f = 0; f < files; f++) {
                Files.write(local.resolve("f" + f), new byte[f]);
            }
        }
        GatewayMount m = mount(gw, "vol-walk", dir, staging, "vers=4.1", "hard");
        long before = m.gatewayCalls();
        assertThat(walk(staging)).isEqualTo(1 + dirs + (long) dirs * files);
        long calls = m.gatewayCalls() - before;
        System.err.println("walk of " + (dirs * files) + " files in " + dirs + " directories: " + calls
                + " gateway calls; FUSE getattr " + m.fileSystem().operations(FuseOp.GETATTR) + ", readdir "
                + m.fileSystem().operations(FuseOp.READDIR) + ", opendir " + m.fileSystem().operations(FuseOp.OPENDIR));
        assertThat(calls).as("gateway calls for a walk of %d entries in %d directories", dirs * files, dirs)
                .isLessThanOrEqualTo(4L * (dirs + 1));
    }

    /**
     * What a listing hands the kernel is what a stat on the gateway says: owner, group, mode, size, link count and
     * modification time of files and directories seen through READDIRPLUS (no LOOKUP or GETATTR of their own).
     */
    @Test
    void listedAttributesAreTheGatewaysOwn(TestGateway gw, @TempDir Path staging) throws Exception {
        String dir = gw.freshDir("md-attrs");
        Path local = gw.local(dir);
        Path file = Files.write(local.resolve("f"), new byte[1234]);
        Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r-----"));
        Files.setAttribute(file, "unix:uid", 1234, java.nio.file.LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(file, "unix:gid", 5678, java.nio.file.LinkOption.NOFOLLOW_LINKS);
        Files.setLastModifiedTime(file, java.nio.file.attribute.FileTime.from(java.time.Instant.parse("2024-05-06T07:08:09.123456789Z")));
        Files.createDirectories(local.resolve("sub/a"));
        Files.createDirectories(local.resolve("sub/b"));
        GatewayMount m = mount(gw, "vol-attrs", dir, staging, "vers=4.1", "hard", "ro");
        try (var listing = Files.list(staging)) {
            assertThat(listing.count()).isEqualTo(2);
        }
        long getattrs = m.fileSystem().operations(FuseOp.GETATTR);
        for (String name : List.of("f", "sub")) {
            var ours = Files.readAttributes(staging.resolve(name), java.nio.file.attribute.PosixFileAttributes.class,
                    java.nio.file.LinkOption.NOFOLLOW_LINKS);
            var theirs = Files.readAttributes(local.resolve(name), java.nio.file.attribute.PosixFileAttributes.class,
                    java.nio.file.LinkOption.NOFOLLOW_LINKS);
            assertThat(ours.permissions()).as(name).isEqualTo(theirs.permissions());
            assertThat(ours.isDirectory()).as(name).isEqualTo(theirs.isDirectory());
            assertThat(ours.lastModifiedTime()).as(name).isEqualTo(theirs.lastModifiedTime());
            for (String unix : List.of("unix:uid", "unix:gid", "unix:nlink")) {
                assertThat(Files.getAttribute(staging.resolve(name), unix, java.nio.file.LinkOption.NOFOLLOW_LINKS))
                        .as(name + " " + unix)
                        .isEqualTo(Files.getAttribute(local.resolve(name), unix, java.nio.file.LinkOption.NOFOLLOW_LINKS));
            }
            if (!ours.isDirectory()) {
                assertThat(ours.size()).isEqualTo(theirs.size());
            }
        }
        assertThat(m.fileSystem().operations(FuseOp.GETATTR)).as("served from the listing").isEqualTo(getattrs);
    }

    /**
     * A name the kernel still holds (entry_timeout) but another client removed: opening it with O_CREAT creates
     * it anew, opening it without says ENOENT, as on a kernel NFS mount (the helper answers ESTALE and the VFS
     * looks the name up again).
     */
    @Test
    void aNameRemovedElsewhereCanBeCreatedAgainThroughTheMount(TestGateway gw, @TempDir Path staging)
            throws Exception {
        String dir = gw.freshDir("md-stale");
        Files.write(gw.local(dir + "/f"), new byte[10]);
        Files.write(gw.local(dir + "/g"), new byte[10]);
        mount(gw, "vol-stale", dir, staging, "vers=4.1", "hard", "actimeo=600");
        assertThat(sizeThroughMount(staging.resolve("f"))).isEqualTo(10);
        assertThat(sizeThroughMount(staging.resolve("g"))).isEqualTo(10);
        otherClient.unlink(dir + "/f");
        otherClient.unlink(dir + "/g");
        Files.write(staging.resolve("f"), new byte[7]);
        assertThat(Files.size(gw.local(dir + "/f"))).isEqualTo(7);
        helper.unmount(staging);
        // With the default times (attributes 3 s, names no longer), after the attributes expired.
        mount(gw, "vol-stale-default", dir, staging, "vers=4.1", "hard");
        for (int round = 0; round < 3; round++) {
            // Written through the mount, removed elsewhere, written again: dd, as bench datapath does.
            Process dd = new ProcessBuilder("dd", "if=/dev/zero", "of=" + staging.resolve("w"), "bs=1M", "count=4",
                    "status=none").redirectErrorStream(true).start();
            String out = new String(dd.getInputStream().readAllBytes());
            assertThat(dd.waitFor()).as("dd round " + round + ": " + out).isZero();
            assertThat(Files.size(gw.local(dir + "/w"))).isEqualTo(4 << 20);
            otherClient.unlink(dir + "/w");
            Thread.sleep(3500);
        }
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Files.readAllBytes(staging.resolve("g")))
                .isInstanceOf(java.nio.file.NoSuchFileException.class);
    }

    /** The size the mount shows for {@code file}, or -1 when the mount says it does not exist. */
    private static long sizeThroughMount(Path file) throws IOException {
        try {
            return Files.readAttributes(file, BasicFileAttributes.class, java.nio.file.LinkOption.NOFOLLOW_LINKS).size();
        } catch (java.nio.file.NoSuchFileException e) {
            return -1;
        }
    }

    /**
     * readOnlyCache's options ({@code nocto,actimeo=N}, here with N = 4 s, read-only): a file grown on the
     * gateway keeps its old size through the mount until N seconds after the mount last asked, then shows the
     * new one.
     */
    @Test
    void aChangeOnTheGatewayIsSeenAfterActimeoNotBefore(TestGateway gw, @TempDir Path staging) throws Exception {
        String dir = gw.freshDir("md-actimeo");
        Files.write(gw.local(dir + "/f"), new byte[10]);
        mount(gw, "vol-actimeo", dir, staging, "vers=4.1", "hard", "nocto", "actimeo=4", "ro");
        long cachedAt = System.nanoTime();
        assertThat(sizeThroughMount(staging.resolve("f"))).isEqualTo(10);
        writeElsewhere(dir, "f", 20);

        long seenAfter = -1;
        long deadline = cachedAt + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            long asked = System.nanoTime();
            long size = sizeThroughMount(staging.resolve("f"));
            if (size == 20) {
                seenAfter = asked - cachedAt;
                break;
            }
            assertThat(size).isEqualTo(10);
            Thread.sleep(100);
        }
        System.err.printf("actimeo=4: the change was seen %.1f s after the attributes were cached%n", seenAfter / 1e9);
        assertThat(seenAfter).as("the new size shows within 30 s").isPositive();
        assertThat(seenAfter).as("not before actimeo (4 s) has passed")
                .isGreaterThanOrEqualTo(java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(3900));
    }

    /** readOnlyCache exactly as the node passes it: a change stays unseen for a while (600 s are not waited). */
    @Test
    void readOnlyCacheKeepsAttributesMinutesNotTheDefaultSecond(TestGateway gw, @TempDir Path staging)
            throws Exception {
        String dir = gw.freshDir("md-roc");
        Files.write(gw.local(dir + "/f"), new byte[10]);
        GatewayMount m = mount(gw, "vol-roc", dir, staging, "vers=4.1,hard,timeo=600,retrans=2,nocto,actimeo=600", "ro");
        assertThat(m.response().getEffectiveOptionsList()).contains("nocto", "actimeo=600", "lookupcache=all");
        assertThat(sizeThroughMount(staging.resolve("f"))).isEqualTo(10);
        writeElsewhere(dir, "f", 20);
        Thread.sleep(4000);
        assertThat(sizeThroughMount(staging.resolve("f"))).as("4 s later, within actimeo=600").isEqualTo(10);
        assertThat(sizeThroughMount(staging.resolve("missing"))).isEqualTo(-1);
        writeElsewhere(dir, "missing", 5);
        assertThat(sizeThroughMount(staging.resolve("missing"))).as("a name found missing stays missing (lookupcache=all)")
                .isEqualTo(-1);
    }

    /**
     * With {@code lookupcache=none} or {@code noac} every stat reaches the gateway: changes show at once. A
     * {@code noac} mount writes through (no writeback cache, as nfs(5)'s noac makes writes synchronous): under
     * the writeback cache the kernel would keep its own size of a file and not take the gateway's.
     */
    @Test
    void lookupcacheNoneAndNoacSeeChangesImmediately(TestGateway gw, @TempDir Path staging) throws Exception {
        for (List<String> options : List.of(List.of("lookupcache=none", "ro"), List.of("noac", "rw"))) {
            String name = String.join("-", options).replace('=', '-');
            String dir = gw.freshDir("md-now");
            Files.write(gw.local(dir + "/f"), new byte[10]);
            Path at = Files.createDirectories(staging.resolve(name));
            List<String> all = new java.util.ArrayList<>(List.of("vers=4.1", "hard", "actimeo=600"));
            all.addAll(options);
            GatewayMount m = mount(gw, "vol-" + name, dir, at, all.toArray(String[]::new));
            assertThat(sizeThroughMount(at.resolve("f"))).isEqualTo(10);
            assertThat(sizeThroughMount(at.resolve("new"))).isEqualTo(-1);
            writeElsewhere(dir, "f", 20);
            writeElsewhere(dir, "new", 3);
            assertThat(sizeThroughMount(at.resolve("f"))).as(name + ": a changed size").isEqualTo(20);
            assertThat(sizeThroughMount(at.resolve("new"))).as(name + ": a new name").isEqualTo(3);
            if (options.contains("noac")) {
                assertThat(m.fileSystem().ioStats().writebackCache()).as("noac writes through").isFalse();
            }
            helper.unmount(at);
        }
    }

    /** {@code lookupcache=positive}: names found are cached, names found missing are not. */
    @Test
    void lookupcachePositiveForgetsMissingNames(TestGateway gw, @TempDir Path staging) throws Exception {
        String dir = gw.freshDir("md-pos");
        mount(gw, "vol-pos", dir, staging, "vers=4.1", "hard", "actimeo=600", "lookupcache=positive");
        assertThat(sizeThroughMount(staging.resolve("new"))).isEqualTo(-1);
        writeElsewhere(dir, "new", 3);
        assertThat(sizeThroughMount(staging.resolve("new"))).isEqualTo(3);
    }
}
