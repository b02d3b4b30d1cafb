package io.gatewaycsi.mounthelper;

import io.gatewaycsi.mounthelper.v1.ListRequest;
import io.gatewaycsi.mounthelper.v1.MountHelperGrpc;
import io.gatewaycsi.mounthelper.v1.MountInfo;
import io.gatewaycsi.mounthelper.v1.MountRequest;
import io.gatewaycsi.mounthelper.v1.MountResponse;
import io.gatewaycsi.mounthelper.v1.UnmountRequest;
import io.gatewaycsi.nfs.NfsClient;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * The mount helper served in-process over gRPC, as the node plugin reaches it, plus what the FUSE tests
 * share: writing and hashing files, and a last-resort cleanup that leaves no FUSE mount behind.
 */
final class HelperHarness implements AutoCloseable {
    final MountHelperService service;
    private final Server server;
    private final ManagedChannel channel;
    final MountHelperGrpc.MountHelperBlockingStub stub;

    HelperHarness() throws IOException {
        service = new MountHelperService(Path.of("/dev/fuse"), NfsClient.libnfs());
        String name = "mount-helper-" + UUID.randomUUID();
        server = InProcessServerBuilder.forName(name).addService(service).build().start();
        channel = InProcessChannelBuilder.forName(name).build();
        stub = MountHelperGrpc.newBlockingStub(channel);
    }

    /** A Mount request for {@code share + subDir} at {@code staging}. */
    static MountRequest.Builder request(String volumeId, String server, String share, String subDir, Path staging,
            String... options) {
        return MountRequest.newBuilder().setVolumeId(volumeId).setServer(server).setShare(share)
                .setSubDir(subDir.startsWith("/") ? subDir.substring(1) : subDir).setStagingPath(staging.toString())
                .addAllMountOptions(List.of(options));
    }

    MountResponse mount(MountRequest.Builder request) {
        MOUNTED.add(Path.of(request.getStagingPath()).toAbsolutePath().normalize().toString());
        return stub.withDeadlineAfter(60, TimeUnit.SECONDS).mount(request.build());
    }

    /**
     * Staging paths this JVM's tests asked to mount: the last-resort cleanup detaches only those, never the
     * mounts of other test runs on the machine (the reliability suite's, a benchmark's).
     */
    static final java.util.Set<String> MOUNTED = java.util.concurrent.ConcurrentHashMap.newKeySet();

    void unmount(Path staging) {
        stub.withDeadlineAfter(30, TimeUnit.SECONDS).unmount(UnmountRequest.newBuilder()
                .setStagingPath(staging.toString()).build());
    }

    List<MountInfo> list() {
        return stub.withDeadlineAfter(10, TimeUnit.SECONDS).list(ListRequest.getDefaultInstance()).getMountsList();
    }

    /** Unmounts everything the helper serves (tests call it before JUnit removes their temp dirs). */
    void unmountAll() {
        for (MountInfo m : list()) {
            try {
                unmount(Path.of(m.getStagingPath()));
            } catch (RuntimeException e) {
                System.err.println("unmount of " + m.getStagingPath() + " failed: " + e);
            }
        }
        detachLeftovers();
    }

    /**
     * Lazily detaches any fuse.gateway-csi mount still in the table at a staging path this JVM's tests used (a
     * failed test must not leave one).
     */
    static void detachLeftovers() {
        try {
            for (MountTable.Entry e : MountTable.read()) {
                if (e.fsType().equals(GatewayMount.FS_TYPE) && MOUNTED.contains(e.mountPoint())) {
                    System.err.println("detaching leftover mount " + e.mountPoint());
                    Process p = new ProcessBuilder("fusermount3", "-u", "-z", e.mountPoint()).inheritIO().start();
                    p.waitFor(10, TimeUnit.SECONDS);
                }
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The mount-table entries of type fuse.gateway-csi at {@code path}. */
    static List<MountTable.Entry> gatewayMountsAt(Path path) throws IOException {
        List<MountTable.Entry> out = new ArrayList<>();
        for (MountTable.Entry e : MountTable.read()) {
            if (e.mountPoint().equals(path.toRealPath().toString()) && e.fsType().equals(GatewayMount.FS_TYPE)) {
                out.add(e);
            }
        }
        return out;
    }

    /** Writes {@code bytes} of seeded random data to {@code file} in 1 MiB write(2) calls, then fsyncs. */
    static void writeRandom(Path file, long bytes, long seed) throws IOException {
        SplittableRandom random = new SplittableRandom(seed);
        ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            long left = bytes;
            while (left > 0) {
                buf.clear();
                int n = (int) Math.min(buf.capacity(), left);
                for (int i = 0; i < n; i += 8) {
                    buf.putLong(random.nextLong());
                }
                buf.flip().limit(n);
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
                left -= n;
            }
            ch.force(true);
        }
    }

    /** The SHA-256 of a file, read in 4 MiB pieces. */
    static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[4 << 20];
            int n;
            while ((n = in.read(buf)) > 0) {
                md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    @Override
    public void close() {
        try {
            service.close();
        } finally {
            channel.shutdownNow();
            server.shutdownNow();
            try {
                channel.awaitTermination(5, TimeUnit.SECONDS);
                server.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            detachLeftovers();
        }
    }
}
