package io.gatewaycsi.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Teardown of real mounts: healthy, busy, stacked, FUSE with a dead or silent server, bindfs killed -9. */
class TeardownTest {

    private final Mounter mounter = new Mounter(Duration.ofSeconds(2));
    private final Teardown teardown = new Teardown(mounter, 2, Duration.ofMillis(20));

    @TempDir
    Path tmp;

    @Test
    void aHealthyMountIsUnmountedNormallyAndItsDirectoryRemoved() throws IOException {
        Path source = Files.createDirectory(tmp.resolve("source"));
        Files.writeString(source.resolve("data"), "kept");
        Path target = Files.createDirectory(tmp.resolve("target"));
        try (TestMounts mounts = new TestMounts()) {
            mounter.bind(source, mounts.track(target));

            Teardown.Result result = teardown.unmountAndRemove(target);

            assertThat(result.step()).isEqualTo(TeardownStep.NORMAL);
            assertThat(result.layers()).isEqualTo(1);
            assertThat(result.escalation()).isEmpty();
            assertThat(target).doesNotExist();
            assertThat(source.resolve("data")).hasContent("kept");
        }
    }

    @Test
    void aPathWithNothingMountedIsReportedNotMountedAndStillRemoved() throws IOException {
        Path target = Files.createDirectory(tmp.resolve("target"));

        assertThat(teardown.unmountAndRemove(target).step()).isEqualTo(TeardownStep.NOT_MOUNTED);
        assertThat(target).doesNotExist();
        assertThat(teardown.unmountAndRemove(target).step()).isEqualTo(TeardownStep.NOT_MOUNTED);
    }

    @Test
    void unmountLeavesTheDirectoryInPlace() throws IOException {
        Path source = Files.createDirectory(tmp.resolve("source"));
        Path staging = Files.createDirectory(tmp.resolve("staging"));
        try (TestMounts mounts = new TestMounts()) {
            mounter.bind(source, mounts.track(staging));

            assertThat(teardown.unmount(staging).step()).isEqualTo(TeardownStep.NORMAL);
            assertThat(staging).isEmptyDirectory();
        }
    }

    @Test
    void everyStackedMountIsUnmounted() throws IOException {
        Path first = Files.createDirectory(tmp.resolve("first"));
        Path second = Files.createDirectory(tmp.resolve("second"));
        Path target = Files.createDirectory(tmp.resolve("target"));
        try (TestMounts mounts = new TestMounts()) {
            mounter.bind(first, mounts.track(target));
            mounter.bind(second, target);
            assertThat(MountTable.read().at(target)).hasSize(2);

            Teardown.Result result = teardown.unmountAndRemove(target);

            assertThat(result.step()).isEqualTo(TeardownStep.NORMAL);
            assertThat(result.layers()).isEqualTo(2);
            assertThat(target).doesNotExist();
        }
    }

    @Test
    void aBindMountThatStaysBusyIsDetachedLazilyAfterRetriesAndNeverForced() throws IOException {
        Path source = Files.createDirectory(tmp.resolve("source"));
        Files.writeString(source.resolve("open.txt"), "x");
        Path target = Files.createDirectory(tmp.resolve("target"));
        try (TestMounts mounts = new TestMounts()) {
            mounter.bind(source, mounts.track(target));
            try (FileChannel held = FileChannel.open(target.resolve("open.txt"), StandardOpenOption.READ)) {
                Teardown.Result result = teardown.unmountAndRemove(target);

                assertThat(result.step()).isEqualTo(TeardownStep.LAZY);
                // The bind shares its superblock with the mount of tmp: MNT_FORCE would act on that superblock.
                assertThat(result.escalation()).hasSize(2);
                assertThat(result.escalation().get(0)).contains("EBUSY");
                assertThat(result.escalation().get(1)).contains("no forced unmount", "also mounted at");
                assertThat(result.escalation()).noneSatisfy(reason -> assertThat(reason).contains("umount2(MNT_FORCE)"));
                assertThat(target).doesNotExist();
                assertThat(held.isOpen()).isTrue();
            }
        }
    }

    @Test
    void aFuseMountWhoseServerDiedIsForcedOff() throws IOException {
        Path target = Files.createDirectory(tmp.resolve("fuse"));
        try (StuckFuse fuse = StuckFuse.mount(target)) {
            fuse.killServer();

            Teardown.Result result = teardown.unmountAndRemove(target);

            assertThat(result.step()).isEqualTo(TeardownStep.FORCED);
            assertThat(result.escalation()).singleElement().asString().contains("statvfs", "ENOTCONN");
            assertThat(MountTable.read().isMountPoint(target)).isFalse();
            assertThat(target).doesNotExist();
        }
    }

    @Test
    void aFuseMountWhoseServerNeverAnswersIsTornDownWithoutHanging() throws IOException {
        Path target = Files.createDirectory(tmp.resolve("silent"));
        Teardown quick = new Teardown(new Mounter(Duration.ofMillis(500)), 1, Duration.ofMillis(20));
        try (StuckFuse _ = StuckFuse.mount(target)) {
            long start = System.nanoTime();

            Teardown.Result result = quick.unmountAndRemove(target);

            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
            assertThat(result.step()).isIn(TeardownStep.FORCED, TeardownStep.LAZY);
            assertThat(result.escalation().getFirst()).contains("did not return within 500 ms");
            assertThat(MountTable.read().isMountPoint(target)).isFalse();
            assertThat(target).doesNotExist();
        }
    }

    @Test
    void aBindfsMountWhoseServerWasKilledWithSigkillIsTornDown() throws Exception {
        Path bindfs = Path.of("/usr/bin/bindfs");
        assumeTrue(Files.isExecutable(bindfs), "bindfs is not installed (apt-get install bindfs)");
        Path source = Files.createDirectory(tmp.resolve("source"));
        Files.writeString(source.resolve("f"), "via bindfs");
        Path target = Files.createDirectory(tmp.resolve("bindfs target"));
        Process server = new ProcessBuilder(bindfs.toString(), "-f", source.toString(), target.toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try (TestMounts mounts = new TestMounts()) {
            mounts.track(target);
            awaitMounted(target);
            assertThat(target.resolve("f")).hasContent("via bindfs");

            server.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            assertThatThrownBy(() -> mounter.statvfs(target)).isInstanceOfSatisfying(MountException.class,
                    e -> assertThat(e.errno()).isEqualTo(Errno.ENOTCONN));

            Teardown.Result result = teardown.unmountAndRemove(target);

            assertThat(result.step()).isEqualTo(TeardownStep.FORCED);
            assertThat(MountTable.read().isMountPoint(target)).isFalse();
            assertThat(target).doesNotExist();
            assertThat(source.resolve("f")).hasContent("via bindfs");
        } finally {
            server.destroyForcibly();
        }
    }

    @Test
    void removalIsRefusedWhileSomethingIsMountedUnderTheTarget() throws IOException {
        Path source = Files.createDirectory(tmp.resolve("source"));
        Path target = Files.createDirectories(tmp.resolve("target"));
        Path inner = Files.createDirectory(target.resolve("inner"));
        try (TestMounts mounts = new TestMounts()) {
            mounter.bind(source, mounts.track(inner));

            assertThatThrownBy(() -> teardown.unmountAndRemove(target))
                    .isInstanceOfSatisfying(MountException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EBUSY))
                    .hasMessageContaining("mounts remain under it").hasMessageContaining(inner.toString());
            assertThat(inner).exists();
        }
    }

    @Test
    void removalNeverDeletesContentLeftInTheUnmountedDirectory() throws IOException {
        Path target = Files.createDirectory(tmp.resolve("target"));
        Files.writeString(target.resolve("precious"), "x");

        assertThatThrownBy(() -> teardown.unmountAndRemove(target)).isInstanceOf(DirectoryNotEmptyException.class);
        assertThat(target.resolve("precious")).exists();
    }

    private static void awaitMounted(Path target) throws IOException, InterruptedException {
        long until = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!MountTable.read().isMountPoint(target)) {
            if (System.nanoTime() > until) {
                throw new AssertionError("bindfs did not mount " + target);
            }
            Thread.sleep(20);
        }
    }
}
