package io.gatewaycsi.mounthelper;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gatewaycsi.mounthelper.v1.MountInfo;
import io.gatewaycsi.mounthelper.v1.MountResponse;
import io.gatewaycsi.nfs.testing.TestGateway;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The mount helper against the real shared test gateway, through real FUSE mounts made over gRPC. */
@ExtendWith(TestGateway.class)
class MountHelperGatewayTest {
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

    private static MountResponse mount(TestGateway gw, String volume, String dir, Path staging, String... options) {
        return helper.mount(HelperHarness.request(volume, gw.server(), gw.share(), dir, staging, options));
    }

    @Test
    void bigFilesWrittenThroughTheMountLandOnTheGatewayAndBack(TestGateway gw, @TempDir Path staging)
            throws IOException {
        String dir = gw.freshDir("mh-io");
        mount(gw, "vol-io", dir, staging, "vers=4.1", "hard");

        Path viaMount = staging.resolve("random.bin");
        HelperHarness.writeRandom(viaMount, 64L << 20, 42);
        assertThat(HelperHarness.sha256(gw.local(dir + "/random.bin"))).isEqualTo(HelperHarness.sha256(viaMount));

        HelperHarness.writeRandom(gw.local(dir + "/from-gateway.bin"), 64L << 20, 7);
        assertThat(HelperHarness.sha256(staging.resolve("from-gateway.bin")))
                .isEqualTo(HelperHarness.sha256(gw.local(dir + "/from-gateway.bin")));

        GatewayFileSystem.IoStats stats = helper.service.mounts().values().iterator().next().fileSystem().ioStats();
        System.err.println("io stats: " + stats);
        assertThat(stats.negotiatedMaxWrite()).isGreaterThanOrEqualTo(1 << 20);
        assertThat(stats.largestWrite()).isGreaterThanOrEqualTo(1 << 20);
    }

    /**
     * Writes go through the kernel's writeback cache (write(2) returns once the kernel has the data; it sends
     * them in large WRITEs in the background and reports failures at fsync and close). The kernel reads the
     * rest of a page before writing part of it, so a write-only open is opened read-write on the gateway; an
     * appending open lands at the end.
     */
    @Test
    void partialPageWritesThroughWriteOnlyAndAppendingOpensLandExactly(TestGateway gw, @TempDir Path staging)
            throws IOException {
        String dir = gw.freshDir("mh-wb");
        byte[] original = new byte[10_000];
        java.util.Arrays.fill(original, (byte) 'o');
        java.nio.file.Files.write(gw.local(dir + "/f"), original);
        mount(gw, "vol-wb", dir, staging, "vers=4.1", "hard");

        try (java.nio.channels.FileChannel out = java.nio.channels.FileChannel.open(staging.resolve("f"),
                java.nio.file.StandardOpenOption.WRITE)) {
            out.write(java.nio.ByteBuffer.wrap("hello".getBytes(java.nio.charset.StandardCharsets.US_ASCII)), 4097);
            out.force(true);
        }
        java.nio.file.Files.writeString(staging.resolve("f"), "END", java.nio.file.StandardOpenOption.APPEND);

        byte[] expected = java.util.Arrays.copyOf(original, 10_003);
        System.arraycopy("hello".getBytes(java.nio.charset.StandardCharsets.US_ASCII), 0, expected, 4097, 5);
        System.arraycopy("END".getBytes(java.nio.charset.StandardCharsets.US_ASCII), 0, expected, 10_000, 3);
        String want = new String(expected, java.nio.charset.StandardCharsets.US_ASCII);
        assertThat(java.nio.file.Files.readString(staging.resolve("f"), java.nio.charset.StandardCharsets.US_ASCII))
                .as("through the mount").isEqualTo(want);
        assertThat(java.nio.file.Files.readString(gw.local(dir + "/f"), java.nio.charset.StandardCharsets.US_ASCII))
                .as("on the gateway").isEqualTo(want);
        GatewayFileSystem.IoStats stats = helper.service.mounts().values().iterator().next().fileSystem().ioStats();
        assertThat(stats.writebackCache()).as("the kernel offers FUSE_CAP_WRITEBACK_CACHE and it is taken").isTrue();
    }

    @Test
    void namespaceOperationsReachTheGateway(TestGateway gw, @TempDir Path staging) throws IOException {
        String dir = gw.freshDir("mh-ns");
        mount(gw, "vol-ns", dir, staging);
        Path local = gw.local(dir);

        Files.createDirectory(staging.resolve("sub"));
        assertThat(local.resolve("sub")).isDirectory();

        Files.writeString(staging.resolve("sub/a.txt"), "hello gateway");
        assertThat(local.resolve("sub/a.txt")).hasContent("hello gateway");

        Files.move(staging.resolve("sub/a.txt"), staging.resolve("b.txt"));
        assertThat(local.resolve("sub/a.txt")).doesNotExist();
        assertThat(local.resolve("b.txt")).hasContent("hello gateway");

        Files.createSymbolicLink(staging.resolve("link"), Path.of("b.txt"));
        assertThat(Files.readSymbolicLink(local.resolve("link"))).isEqualTo(Path.of("b.txt"));
        assertThat(Files.readSymbolicLink(staging.resolve("link"))).isEqualTo(Path.of("b.txt"));
        assertThat(staging.resolve("link")).hasContent("hello gateway");

        Files.setPosixFilePermissions(staging.resolve("b.txt"), PosixFilePermissions.fromString("rw-r-----"));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(local.resolve("b.txt"))))
                .isEqualTo("rw-r-----");

        try (var ch = java.nio.channels.FileChannel.open(staging.resolve("b.txt"), java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(5);
        }
        assertThat(local.resolve("b.txt")).hasContent("hello");

        Instant when = Instant.parse("2021-03-04T05:06:07.123456789Z");
        Files.setLastModifiedTime(staging.resolve("b.txt"), FileTime.from(when));
        assertThat(Files.getLastModifiedTime(local.resolve("b.txt")).toInstant()).isEqualTo(when);

        try (Stream<Path> list = Files.list(staging)) {
            assertThat(list.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("sub", "b.txt", "link");
        }

        Files.delete(staging.resolve("link"));
        assertThat(Files.exists(local.resolve("link"), LinkOption.NOFOLLOW_LINKS)).isFalse();
        Files.delete(staging.resolve("b.txt"));
        assertThat(local.resolve("b.txt")).doesNotExist();
        Files.writeString(staging.resolve("sub/keep"), "x");
        assertThatThrownBy(() -> Files.delete(staging.resolve("sub")))
                .isInstanceOf(java.nio.file.DirectoryNotEmptyException.class);
        Files.delete(staging.resolve("sub/keep"));
        Files.delete(staging.resolve("sub"));
        assertThat(local.resolve("sub")).doesNotExist();
        assertThatThrownBy(() -> Files.createDirectory(staging.resolve("nodir/x")))
                .isInstanceOf(java.nio.file.NoSuchFileException.class);
    }

    @Test
    void readOnlyMountsRefuseWritesWithErofs(TestGateway gw, @TempDir Path staging) throws IOException {
        String dir = gw.freshDir("mh-ro");
        Files.writeString(gw.local(dir + "/data.txt"), "dataset");
        MountResponse r = mount(gw, "vol-ro", dir, staging, "ro");
        assertThat(r.getEffectiveOptionsList()).contains("ro");

        assertThat(staging.resolve("data.txt")).hasContent("dataset");
        assertThatThrownBy(() -> Files.writeString(staging.resolve("new.txt"), "x"))
                .isInstanceOf(FileSystemException.class).hasMessageContaining("Read-only file system");
        assertThatThrownBy(() -> Files.writeString(staging.resolve("data.txt"), "x"))
                .isInstanceOf(FileSystemException.class).hasMessageContaining("Read-only file system");
        assertThatThrownBy(() -> Files.createDirectory(staging.resolve("d")))
                .isInstanceOf(FileSystemException.class).hasMessageContaining("Read-only file system");
        assertThat(gw.local(dir + "/data.txt")).hasContent("dataset");
    }

    @Test
    void mountAndUnmountAreIdempotentAndListed(TestGateway gw, @TempDir Path staging) throws IOException {
        String dir = gw.freshDir("mh-idem");
        MountResponse first = mount(gw, "vol-idem", dir, staging, "vers=4.1", "hard", "timeo=600", "nconnect=8");
        assertThat(first.getEffectiveNfsVersion()).isEqualTo("4.0");
        assertThat(first.getEffectiveOptionsList()).contains("vers=4.0", "hard", "timeo=600", "retrans=2", "rw")
                .doesNotContain("nconnect=8");
        MountResponse again = mount(gw, "vol-idem", dir, staging, "vers=4.1", "hard", "timeo=600", "nconnect=8");
        assertThat(again).isEqualTo(first);
        assertThat(HelperHarness.gatewayMountsAt(staging)).hasSize(1);

        assertThatThrownBy(() -> mount(gw, "other-volume", dir, staging))
                .isInstanceOf(StatusRuntimeException.class)
                .satisfies(e -> assertThat(Status.fromThrowable(e).getCode()).isEqualTo(Status.Code.ALREADY_EXISTS));

        List<MountInfo> list = helper.list();
        assertThat(list).hasSize(1);
        MountInfo info = list.getFirst();
        assertThat(info.getVolumeId()).isEqualTo("vol-idem");
        assertThat(info.getEffectiveNfsVersion()).isEqualTo("4.0");
        assertThat(info.getEffectiveOptionsList()).contains("vers=4.0", "hard");
        assertThat(info.getHealthy()).isTrue();
        assertThat(info.getStagingPath()).isEqualTo(staging.toString());

        MountTable.Entry entry = HelperHarness.gatewayMountsAt(staging).getFirst();
        assertThat(entry.fsType()).isEqualTo("fuse.gateway-csi");
        assertThat(entry.source()).isEqualTo(gw.server() + ":" + gw.share() + dir);
        assertThat(entry.superOptions()).contains("allow_other", "default_permissions", "max_read=1048576");

        assertThatThrownBy(() -> mount(gw, "vol-nowhere", dir, staging.resolve("missing")))
                .isInstanceOf(StatusRuntimeException.class)
                .satisfies(e -> assertThat(Status.fromThrowable(e).getCode()).isEqualTo(Status.Code.NOT_FOUND));
        assertThatThrownBy(() -> mount(gw, "vol-nodir", dir + "/no-such-dir", staging.resolve("..")))
                .isInstanceOf(StatusRuntimeException.class)
                .satisfies(e -> assertThat(Status.fromThrowable(e).getCode()).isEqualTo(Status.Code.NOT_FOUND));

        helper.unmount(staging);
        assertThat(HelperHarness.gatewayMountsAt(staging)).isEmpty();
        helper.unmount(staging);
        helper.unmount(staging.resolve("never-mounted"));
        assertThat(helper.list()).isEmpty();
    }

    @Test
    void pathsCannotEscapeTheVolume(TestGateway gw, @TempDir Path staging) throws IOException {
        String dir = gw.freshDir("mh-esc");
        Files.writeString(gw.local(dir + "-secret"), "outside");
        for (String bad : List.of("../etc", "a/../../b", "./a", "/abs")) {
            assertThatThrownBy(() -> helper.mount(HelperHarness.request("vol-esc", gw.server(), gw.share(), "", staging)
                    .setSubDir(bad)))
                    .as("sub_dir %s", bad)
                    .isInstanceOf(StatusRuntimeException.class)
                    .satisfies(e -> assertThat(Status.fromThrowable(e).getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
        }
        mount(gw, "vol-esc", dir, staging);
        // ".." is resolved by the kernel in the local namespace: it leaves the mount, never climbs the share
        assertThat(staging.resolve("..").toRealPath()).isEqualTo(staging.getParent().toRealPath());
        assertThat(staging.resolve("../" + dir.substring(1) + "-secret")).doesNotExist();
        // a link pointing above the volume is resolved locally too
        Files.createSymbolicLink(staging.resolve("up"), Path.of("../../" + dir.substring(1) + "-secret"));
        assertThat(Files.exists(staging.resolve("up"))).isFalse();
        try (Stream<Path> list = Files.list(staging)) {
            assertThat(list.map(p -> p.getFileName().toString())).containsExactly("up");
        }
    }

    private static int runAs(int uid, int gid, String... command) throws Exception {
        List<String> argv = new java.util.ArrayList<>(List.of("setpriv", "--reuid=" + uid, "--regid=" + gid,
                "--clear-groups"));
        argv.addAll(List.of(command));
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        if (p.exitValue() != 0) {
            System.err.println(argv + ": " + out);
        }
        return p.exitValue();
    }

    @Test
    void otherUsersSeeTheMountAndOwnWhatTheyCreate(TestGateway gw, @TempDir Path staging) throws Exception {
        String dir = gw.freshDir("mh-own");
        mount(gw, "vol-own", dir, staging);
        Path open = staging.resolve("open");
        Files.createDirectory(open);
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
        Files.createDirectory(staging.resolve("closed"));
        Files.setPosixFilePermissions(staging.resolve("closed"), PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(staging, PosixFilePermissions.fromString("rwxr-xr-x"));

        assertThat(runAs(4321, 4322, "touch", open.resolve("f").toString())).isZero();
        assertThat(runAs(4321, 4322, "mkdir", open.resolve("d").toString())).isZero();
        assertThat(runAs(4321, 4322, "ln", "-s", "f", open.resolve("l").toString())).isZero();
        Path local = gw.local(dir + "/open");
        for (String name : List.of("f", "d", "l")) {
            assertThat(Files.getAttribute(local.resolve(name), "unix:uid", LinkOption.NOFOLLOW_LINKS)).as(name)
                    .isEqualTo(4321);
            assertThat(Files.getAttribute(local.resolve(name), "unix:gid", LinkOption.NOFOLLOW_LINKS)).as(name)
                    .isEqualTo(4322);
        }
        // the kernel checks access against the gateway's attributes (default_permissions)
        assertThat(runAs(4321, 4322, "touch", staging.resolve("closed/x").toString())).isNotZero();
        assertThat(gw.local(dir + "/closed/x")).doesNotExist();
    }

    @Test
    void closingTheHelperUnmountsEverything(TestGateway gw, @TempDir Path a, @TempDir Path b) throws Exception {
        String dir = gw.freshDir("mh-close");
        HelperHarness own = new HelperHarness();
        try {
            own.mount(HelperHarness.request("vol-a", gw.server(), gw.share(), dir, a));
            own.mount(HelperHarness.request("vol-b", gw.server(), gw.share(), dir, b, "ro"));
            Files.writeString(a.resolve("f"), "x");
            var open = Files.newInputStream(b.resolve("f")); // a file held open does not stop the shutdown
            own.service.close();
            try {
                open.close(); // its FUSE connection is gone: ENOTCONN
            } catch (IOException expected) {
                // the descriptor is closed all the same
            }
            assertThat(HelperHarness.gatewayMountsAt(a)).isEmpty();
            assertThat(HelperHarness.gatewayMountsAt(b)).isEmpty();
            assertThat(own.list()).isEmpty();
            assertThatThrownBy(() -> own.mount(HelperHarness.request("vol-c", gw.server(), gw.share(), dir, a)))
                    .isInstanceOf(StatusRuntimeException.class)
                    .satisfies(e -> assertThat(Status.fromThrowable(e).getCode())
                            .isEqualTo(Status.Code.FAILED_PRECONDITION));
        } finally {
            own.close();
        }
    }
}
