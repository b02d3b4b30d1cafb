package io.gatewaycsi.mounthelper;

import static org.assertj.core.api.Assertions.assertThat;

import io.gatewaycsi.nfs.testing.TestGateway;
import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
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
 * {@code lookupcache}).
 */
@ExtendWith(TestGateway.class)
class MetadataCacheGatewayTest {
    private static HelperHarness helper;

    @BeforeAll
    static void start() throws IOException {
        helper = new HelperHarness();
    }

    @AfterAll
    static void stop() {
        if (helper != null) {
            helper.close();
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
}
