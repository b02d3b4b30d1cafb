package io.gatewaycsi.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real mount(2), umount2(2) and statvfs(3) calls on bind mounts in a temporary directory (needs root). */
class MounterTest {

    private final Mounter mounter = new Mounter(Duration.ofSeconds(5));

    @TempDir
    Path tmp;

    @Test
    void bindMakesTheSourceContentVisibleAtTheTarget() throws IOException {
        Path source = Files.createDirectory(tmp.resolve("source"));
        Files.writeString(source.resolve("hello.txt"), "hello");
        Path target = Files.createDirectory(tmp.resolve("target"));
        try (TestMounts mounts = new TestMounts()) {
            mounter.bind(source, mounts.track(target));

            assertThat(target.resolve("hello.txt")).hasContent("hello");
            Files.writeString(target.resolve("written-through.txt"), "x");
            assertThat(source.resolve("written-through.txt")).exists();
            assertThat(TestMounts.isMounted(target)).isTrue();

            mounter.unmount(target);
            assertThat(TestMounts.isMounted(target)).isFalse();
            assertThat(target.resolve("hello.txt")).doesNotExist();
        }
    }

    /**
     * A repair replaces a target's dead bind mount without ever showing the directory underneath: the new
     * bind goes beneath the old one, which is then detached; one layer remains, read-only if asked.
     */
    @Test
    void replaceWithBindSwapsTheTopmostMountWithoutShowingTheDirectoryUnderneath() throws IOException {
        Path old = Files.createDirectory(tmp.resolve("old"));
        Files.writeString(old.resolve("which.txt"), "old");
        Path fresh = Files.createDirectory(tmp.resolve("fresh"));
        Files.writeString(fresh.resolve("which.txt"), "fresh");
        Path target = Files.createDirectory(tmp.resolve("target"));
        Files.writeString(target.resolve("underneath.txt"), "the node's own disk");
        try (TestMounts mounts = new TestMounts()) {
            mounter.bind(old, mounts.track(target));
            assertThat(mounter.replaceWithBind(fresh, target, true)).as("replaced, not stacked").isTrue();
            assertThat(target.resolve("which.txt")).hasContent("fresh");
            assertThat(target.resolve("underneath.txt")).doesNotExist();
            assertThat(MountTable.read().at(target)).as("one layer").hasSize(1);
            assertThat(MountTable.read().topmost(target).orElseThrow().readOnly()).isTrue();
            mounter.unmount(target);
            assertThat(TestMounts.isMounted(target)).isFalse();
        }
    }

    /** statx's STATX_ATTR_MOUNT_ROOT tells mount points apart without reading the mount table. */
    @Test
    void mountPointsAreToldFromStatxWithoutFollowingALink() throws IOException {
        Path source = Files.createDirectory(tmp.resolve("src"));
        Path target = Files.createDirectory(tmp.resolve("tgt"));
        Path link = Files.createSymbolicLink(tmp.resolve("link"), target);
        assertThat(mounter.mountPoint(tmp.resolve("missing"))).isEqualTo(Mounter.MountPoint.ABSENT);
        assertThat(mounter.mountPoint(target)).isEqualTo(Mounter.MountPoint.NOT_MOUNTED);
        try (TestMounts mounts = new TestMounts()) {
            mounter.bind(source, mounts.track(target));
            assertThat(mounter.mountPoint(target)).isEqualTo(Mounter.MountPoint.MOUNTED);
            assertThat(mounter.mountPoint(link)).as("the link itself").isEqualTo(Mounter.MountPoint.NOT_MOUNTED);
            assertThat(mounter.mountPoint(source)).isEqualTo(Mounter.MountPoint.NOT_MOUNTED);
            mounter.unmount(target);
            assertThat(mounter.mountPoint(target)).isEqualTo(Mounter.MountPoint.NOT_MOUNTED);
        }
    }

    @Test
    void aReadOnlyRemountMakesWritesFailWithErofs() throws IOException {
        Path source = Files.createDirectory(tmp.resolve("source"));
        Path target = Files.createDirectory(tmp.resolve("target"));
        try (TestMounts mounts = new TestMounts()) {
            mounter.bind(source, mounts.track(target));
            mounter.remountReadOnly(target);

            int result = StuckFuse.open(target.resolve("new.txt").toString(),
                    StuckFuse.O_WRONLY | StuckFuse.O_CREAT | StuckFuse.O_CLOEXEC, 0644);
            assertThat(Errno.of(-result)).isEqualTo(Errno.EROFS);
            assertThatThrownBy(() -> Files.writeString(target.resolve("new.txt"), "x"))
                    .hasMessageContaining("Read-only file system");
            assertThat(MountTable.read().topmost(target).orElseThrow().readOnly()).isTrue();
            assertThat(mounter.statvfs(target).readOnly()).isTrue();
            // The source stays writable: only the bind mount is read-only.
            Files.writeString(source.resolve("still-writable.txt"), "x");
        }
    }

    @Test
    void aReadOnlyRemountKeepsTheMountsNosuidAndNodevFlags() throws IOException {
        Path source = Files.createDirectory(tmp.resolve("source"));
        Path target = Files.createDirectory(tmp.resolve("target"));
        try (TestMounts mounts = new TestMounts()) {
            mounter.bind(source, mounts.track(target));
            assertThat(Libc.mount(null, target.toString(), null,
                    Libc.MS_REMOUNT | Libc.MS_BIND | Libc.MS_NOSUID | Libc.MS_NODEV, null)).isZero();

            mounter.remountReadOnly(target);

            assertThat(MountTable.read().topmost(target).orElseThrow().mountOptions())
                    .contains("ro", "nosuid", "nodev");
        }
    }

    @Test
    void bindReadOnlyGivesAReadOnlyBindMountInOneCall() throws IOException {
        Path source = Files.createDirectory(tmp.resolve("source"));
        Path target = Files.createDirectory(tmp.resolve("target"));
        try (TestMounts mounts = new TestMounts()) {
            mounter.bindReadOnly(source, mounts.track(target));

            assertThat(MountTable.read().topmost(target).orElseThrow().readOnly()).isTrue();
        }
    }

    @Test
    void unmountingADirectoryThatIsNotAMountPointFailsWithEinval() throws IOException {
        Path plain = Files.createDirectory(tmp.resolve("plain"));

        assertThatThrownBy(() -> mounter.unmount(plain))
                .isInstanceOfSatisfying(MountException.class, e -> {
                    assertThat(e.errno()).isEqualTo(Errno.EINVAL);
                    assertThat(e.errnoValue()).isEqualTo(22);
                    assertThat(e.path()).isEqualTo(plain);
                    assertThat(e.isTimeout()).isFalse();
                })
                .hasMessage("umount2 of " + plain + " failed: EINVAL (Invalid argument)");
    }

    @Test
    void callsOnMissingPathsFailWithEnoent() {
        Path missing = tmp.resolve("missing");

        assertThatThrownBy(() -> mounter.unmount(missing))
                .isInstanceOfSatisfying(MountException.class, e -> assertThat(e.errno()).isEqualTo(Errno.ENOENT));
        assertThatThrownBy(() -> mounter.bind(missing, tmp))
                .isInstanceOfSatisfying(MountException.class, e -> assertThat(e.errno()).isEqualTo(Errno.ENOENT));
        assertThatThrownBy(() -> mounter.statvfs(missing))
                .isInstanceOfSatisfying(MountException.class, e -> assertThat(e.errno()).isEqualTo(Errno.ENOENT))
                .hasMessageContaining(missing.toString());
    }

    @Test
    void aBusyMountRefusesAPlainUnmountWithEbusyButDetachesLazily() throws IOException {
        Path source = Files.createDirectory(tmp.resolve("source"));
        Files.writeString(source.resolve("held.txt"), "still readable");
        Path target = Files.createDirectory(tmp.resolve("target"));
        try (TestMounts mounts = new TestMounts()) {
            mounter.bind(source, mounts.track(target));
            try (FileChannel held = FileChannel.open(target.resolve("held.txt"), StandardOpenOption.READ)) {
                assertThatThrownBy(() -> mounter.unmount(target)).isInstanceOfSatisfying(MountException.class,
                        e -> assertThat(e.errno()).isEqualTo(Errno.EBUSY));

                mounter.lazyUnmount(target);

                assertThat(TestMounts.isMounted(target)).isFalse();
                assertThat(held.read(java.nio.ByteBuffer.allocate(64))).isEqualTo("still readable".length());
            }
        }
    }

    @Test
    void forceUnmountOfAPlainBindMountActsAsAnUnmount() throws IOException {
        Path source = Files.createDirectory(tmp.resolve("source"));
        Path target = Files.createDirectory(tmp.resolve("target"));
        try (TestMounts mounts = new TestMounts()) {
            mounter.bind(source, mounts.track(target));

            mounter.forceUnmount(target);

            assertThat(TestMounts.isMounted(target)).isFalse();
        }
    }

    @Test
    void statvfsReportsCapacityInBytesComputedWithTheFragmentSize() throws IOException {
        FsStats stats = mounter.statvfs(tmp);
        FileStore store = Files.getFileStore(tmp);

        assertThat(stats.blockSize()).isPositive();
        assertThat(stats.totalBytes()).isEqualTo(store.getTotalSpace()).isPositive();
        assertThat(stats.freeBytes()).isBetween(stats.availableBytes(), stats.totalBytes());
        assertThat(stats.totalBytes() % stats.blockSize()).isZero();
        assertThat(stats.totalInodes()).isPositive();
        assertThat(stats.freeInodes()).isBetween(0L, stats.totalInodes());
        assertThat(stats.usedBytes()).isEqualTo(stats.totalBytes() - stats.freeBytes());
        assertThat(stats.readOnly()).isFalse();
    }

    @Test
    void statvfsSaturatesExabyteSizesInsteadOfOverflowing() {
        long[] fields = new long[11];
        fields[Libc.F_FRSIZE] = 1 << 20;
        fields[Libc.F_BLOCKS] = -1; // 2^64 - 1 blocks, as some object-storage gateways report
        fields[Libc.F_BFREE] = 1L << 50;
        fields[Libc.F_BAVAIL] = 3;

        FsStats stats = FsStats.fromStatvfs(fields);

        assertThat(stats.totalBytes()).isEqualTo(Long.MAX_VALUE);
        assertThat(stats.freeBytes()).isEqualTo(Long.MAX_VALUE);
        assertThat(stats.availableBytes()).isEqualTo(3L << 20);
    }

    @Test
    void aCallOnAMountWhoseServerNeverAnswersTimesOutAndIsAbandoned() throws IOException {
        Path mnt = Files.createDirectory(tmp.resolve("stuck"));
        Mounter quick = new Mounter(Duration.ofMillis(300));
        int abandonedBefore = BlockingCalls.abandonedNow();
        try (StuckFuse _ = StuckFuse.mount(mnt)) {
            long start = System.nanoTime();
            assertThatThrownBy(() -> quick.statvfs(mnt)).isInstanceOfSatisfying(MountException.class, e -> {
                assertThat(e.isTimeout()).isTrue();
                assertThat(e.errno()).isNull();
                assertThat(e.getMessage()).contains("statvfs of " + mnt, "did not return within 300 ms");
            });
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
            assertThat(BlockingCalls.abandonedNow()).isGreaterThan(abandonedBefore);
        }
    }

    @Test
    void callsOnAFuseMountWhoseServerDiedFailWithEnotconn() throws IOException {
        Path mnt = Files.createDirectory(tmp.resolve("dead"));
        try (StuckFuse fuse = StuckFuse.mount(mnt)) {
            fuse.killServer();

            assertThatThrownBy(() -> mounter.statvfs(mnt)).isInstanceOfSatisfying(MountException.class, e -> {
                assertThat(e.errno()).isEqualTo(Errno.ENOTCONN);
                assertThat(e.meansBrokenMount()).isTrue();
            });
        }
    }

    @Test
    void relativePathsAreRefused() {
        assertThatThrownBy(() -> mounter.unmount(Path.of("relative/target")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("absolute");
    }
}
