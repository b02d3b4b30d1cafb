package io.gatewaycsi.mounthelper;

import static org.assertj.core.api.Assertions.assertThat;

import io.gatewaycsi.nfs.Errno;
import java.nio.ByteBuffer;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import org.cryptomator.jfuse.api.FileInfo;
import org.cryptomator.jfuse.api.FuseOperations;
import org.junit.jupiter.api.Test;

/** What the file system decides before it asks the gateway (no session needed). */
class GatewayFileSystemTest {

    private static final class Fi implements FileInfo {
        long fh;
        final int flags;

        Fi(int flags) {
            this.flags = flags;
        }

        @Override
        public long getFh() {
            return fh;
        }

        @Override
        public void setFh(long fh) {
            this.fh = fh;
        }

        @Override
        public int getFlags() {
            return flags;
        }

        @Override
        public Set<StandardOpenOption> getOpenFlags() {
            return Set.of();
        }

        @Override
        public long getLockOwner() {
            return 0;
        }
    }

    private static GatewayFileSystem readOnlyFs() {
        MountSemantics ro = MountSemantics.parse(List.of("ro"), false);
        GatewayCaller caller = new GatewayCaller(ro, new GatewayHealth(Duration.ofSeconds(1), System::nanoTime),
                System::nanoTime, "test");
        return new GatewayFileSystem(null, null, new VolumePaths("vol"), ro, caller, new ChunkPool(1 << 20, 1),
                Executors.newSingleThreadExecutor(), 2, null, true, "test");
    }

    @Test
    void everyWriteOperationOfAReadOnlyMountIsErofs() {
        GatewayFileSystem fs = readOnlyFs();
        int erofs = -Errno.EROFS;
        assertThat(fs.mkdir("/d", 0755)).isEqualTo(erofs);
        assertThat(fs.create("/f", 0644, new Fi(01 | 0100))).isEqualTo(erofs);
        assertThat(fs.open("/f", new Fi(01))).isEqualTo(erofs);
        assertThat(fs.open("/f", new Fi(02))).isEqualTo(erofs);
        assertThat(fs.open("/f", new Fi(01000))).isEqualTo(erofs);
        assertThat(fs.write("/f", ByteBuffer.allocate(1), 1, 0, new Fi(02))).isEqualTo(erofs);
        assertThat(fs.unlink("/f")).isEqualTo(erofs);
        assertThat(fs.rmdir("/d")).isEqualTo(erofs);
        assertThat(fs.rename("/a", "/b", 0)).isEqualTo(erofs);
        assertThat(fs.truncate("/f", 0, null)).isEqualTo(erofs);
        assertThat(fs.symlink("target", "/l")).isEqualTo(erofs);
        assertThat(fs.chmod("/f", 0600, null)).isEqualTo(erofs);
        assertThat(fs.chown("/f", 1, 1, null)).isEqualTo(erofs);
        assertThat(fs.utimens("/f", null, null, null)).isEqualTo(erofs);
    }

    @Test
    void pathsOutsideTheVolumeAreRefusedAndFailuresNeverEscape() {
        GatewayFileSystem fs = readOnlyFs();
        assertThat(fs.getattr("/../secret", null, null)).isEqualTo(-Errno.EACCES);
        assertThat(fs.readdir("/a/../..", null, 0, null, 0)).isEqualTo(-Errno.EACCES);
        // an unexpected failure (here: no session at all) becomes EIO instead of leaving the upcall
        assertThat(fs.getattr("/ok", null, null)).isEqualTo(-Errno.EIO);
        assertThat(fs.read("/f", ByteBuffer.allocate(1), 1, 0, new Fi(0))).isEqualTo(-Errno.EBADF);
    }

    @Test
    void everyDeclaredOperationIsImplemented() throws Exception {
        // libfuse calls what is declared; a declared but unimplemented one would answer ENOSYS (or crash).
        for (FuseOperations.Operation op : readOnlyFs().supportedOperations()) {
            String method = switch (op) {
                case GET_ATTR -> "getattr";
                case OPEN_DIR -> "opendir";
                case READ_DIR -> "readdir";
                case RELEASE_DIR -> "releasedir";
                default -> op.name().toLowerCase(java.util.Locale.ROOT);
            };
            boolean declaredHere = false;
            for (var m : GatewayFileSystem.class.getDeclaredMethods()) {
                declaredHere |= m.getName().equals(method);
            }
            assertThat(declaredHere).as("%s is implemented", op).isTrue();
        }
    }
    /** statfs answers come from the gateway at most once a second (a publish storm probes every mount). */
    @Test
    void statfsAsksTheGatewayAtMostOncePerSecond() {
        java.util.concurrent.atomic.AtomicInteger asked = new java.util.concurrent.atomic.AtomicInteger();
        io.gatewaycsi.nfs.NfsSession session = (io.gatewaycsi.nfs.NfsSession) java.lang.reflect.Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] {io.gatewaycsi.nfs.NfsSession.class}, (proxy, method, args) -> {
                    if (method.getName().equals("statvfs")) {
                        asked.incrementAndGet();
                        return new io.gatewaycsi.nfs.NfsFsStats(1L << 30, 1L << 29, 1L << 29, 1000, 500, 4096, 255);
                    }
                    throw new UnsupportedOperationException(method.getName());
                });
        MountSemantics rw = MountSemantics.parse(List.of(), false);
        GatewayCaller caller = new GatewayCaller(rw, new GatewayHealth(Duration.ofSeconds(1), System::nanoTime),
                System::nanoTime, "test");
        GatewayFileSystem fs = new GatewayFileSystem(null, session, new VolumePaths("vol"), rw, caller,
                new ChunkPool(1 << 20, 1), Executors.newSingleThreadExecutor(), 2, null, true, "test");
        long[] blocks = new long[1];
        org.cryptomator.jfuse.api.Statvfs out = (org.cryptomator.jfuse.api.Statvfs) java.lang.reflect.Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] {org.cryptomator.jfuse.api.Statvfs.class}, (proxy, method, args) -> {
                    if (method.getName().equals("setBlocks")) {
                        blocks[0] = (long) args[0];
                    }
                    return method.getReturnType() == long.class ? 0L : null;
                });
        for (int i = 0; i < 50; i++) {
            assertThat(fs.statfs("/", out)).isZero();
        }
        assertThat(blocks[0]).isEqualTo((1L << 30) / 4096);
        assertThat(asked.get()).as("gateway statvfs calls for 50 statfs within a second").isEqualTo(1);
    }
}
