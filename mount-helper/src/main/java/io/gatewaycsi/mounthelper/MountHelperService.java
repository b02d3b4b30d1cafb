package io.gatewaycsi.mounthelper;

import io.gatewaycsi.common.CsiException;
import io.gatewaycsi.common.InFlight;
import io.gatewaycsi.common.LogLine;
import io.gatewaycsi.common.Rpcs;
import io.gatewaycsi.mounthelper.v1.HealthRequest;
import io.gatewaycsi.mounthelper.v1.HealthResponse;
import io.gatewaycsi.mounthelper.v1.ListRequest;
import io.gatewaycsi.mounthelper.v1.ListResponse;
import io.gatewaycsi.mounthelper.v1.MountHelperGrpc;
import io.gatewaycsi.mounthelper.v1.MountRequest;
import io.gatewaycsi.mounthelper.v1.MountResponse;
import io.gatewaycsi.mounthelper.v1.UnmountRequest;
import io.gatewaycsi.mounthelper.v1.UnmountResponse;
import io.gatewaycsi.nfs.NfsClient;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The mount helper's gRPC API ({@code gatewaycsi.mounthelper.v1.MountHelper}) as served to the node plugin:
 * staging mounts of gateway shares in user space (libnfs through nfs-client, served over FUSE by
 * {@link GatewayFileSystem}), for nodes that cannot mount NFS in the kernel.
 *
 * <ul>
 *   <li><b>Mount</b> mounts {@code <share>/<sub_dir>} at {@code staging_path} (an existing directory) as a
 *       FUSE file system of type {@code fuse.gateway-csi} with source {@code server:/share/subDir}
 *       ({@link GatewayMount}); mount options as in nfs(5), resolved by {@link MountSemantics}, which says
 *       which are honoured. Idempotent: the same volume with the same parameters at the same path answers
 *       with the existing mount; a different volume (or other parameters) at a path in use is
 *       ALREADY_EXISTS. A {@code fuse.gateway-csi} mount at the path left by an earlier helper process (dead:
 *       its FUSE connection ended with that process) is detached first; another file system mounted there is
 *       FAILED_PRECONDITION. Errors: INVALID_ARGUMENT (bad request or option), NOT_FOUND (staging path,
 *       export or directory missing), UNAVAILABLE (gateway unreachable), PERMISSION_DENIED,
 *       DEADLINE_EXCEEDED, ABORTED (another Mount/Unmount of the path in flight).</li>
 *   <li><b>Unmount</b> removes the mount at {@code staging_path} within the call's deadline (default
 *       {@link #DEFAULT_UNMOUNT_DEADLINE}) even when the gateway is unreachable (see
 *       {@link GatewayMount#unmount}). Idempotent: an unknown path succeeds (a stale {@code fuse.gateway-csi}
 *       mount there, left by an earlier helper process, is detached). The helper unmounts only its own staging
 *       mounts: a bind mount of one of them (a pod's published target) is FAILED_PRECONDITION and stays.
 *       Once the mount is gone (umount2 succeeded) the answer is OK and its gateway session, FUSE loop and
 *       threads are released.</li>
 *   <li><b>List</b> reports every mount with its effective NFS version and options; {@code healthy} is true
 *       when the mount is still in the mount table and the gateway answered within the last 30 s.</li>
 *   <li><b>Health</b> reports whether this process can mount: the FUSE device must be there and usable, and
 *       libfuse3 present.</li>
 * </ul>
 *
 * <p><b>Lifetime.</b> Mounts live as long as this helper process: restarts of the node plugin do not affect
 * them (the node plugin finds them again with List or in the mount table). Only {@link #close()} (called on
 * the helper's shutdown, SIGTERM) unmounts everything. If the helper dies without {@link #close()}, its FUSE
 * connections end with it (reads then fail with {@code ENOTCONN}); the next helper detaches such dead mounts
 * when asked to Mount or Unmount the path.
 *
 * <p><b>Memory.</b> Sequential readers are prefetched 2 × 4 MiB ahead ({@link ReadAhead}); the whole process
 * uses at most 256 MiB of direct memory for it unless the system property
 * {@value #READ_AHEAD_MIB_PROPERTY} says otherwise (0 turns read-ahead off).
 *
 * <p>Every call that may block (gateway I/O, mount and unmount system calls, stat of the staging path) runs
 * on a platform thread with a deadline, off the gRPC threads (DESIGN §5).
 */
public final class MountHelperService extends MountHelperGrpc.MountHelperImplBase implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(MountHelperService.class.getName());

    /** libfuse3 on Debian/Ubuntu x86_64 (there is no unversioned {@code libfuse3.so} without -dev). */
    public static final Path DEFAULT_LIBFUSE3 = Path.of("/usr/lib/x86_64-linux-gnu/libfuse3.so.3");
    /** Mount's deadline when the call has none. */
    public static final Duration DEFAULT_MOUNT_DEADLINE = Duration.ofSeconds(60);
    /** Unmount's deadline when the call has none. */
    public static final Duration DEFAULT_UNMOUNT_DEADLINE = Duration.ofSeconds(30);
    /** Read-ahead: bytes per chunk (4 MiB) and chunks per sequential stream (2). */
    static final int READ_AHEAD_CHUNK_BYTES = 4 << 20;
    static final int READ_AHEAD_CHUNKS_PER_STREAM = 2;
    /**
     * System property: the read-ahead memory of the whole process in MiB (direct memory, so it also needs
     * {@code -XX:MaxDirectMemorySize} at least this large); default 256, 0 turns read-ahead off.
     */
    public static final String READ_AHEAD_MIB_PROPERTY = "gatewaycsi.mounthelper.readAheadMiB";
    private static final int DEFAULT_READ_AHEAD_MIB = 256;
    private static final Duration STAGING_CHECK_DEADLINE = Duration.ofSeconds(10);
    private static final Duration CLOSE_DEADLINE = Duration.ofSeconds(15);

    private final Path fuseDevice;
    private final NfsClient client;
    private final Path libfuse3;
    private final HelperMetrics metrics;
    private final Map<String, GatewayMount> mounts = new ConcurrentHashMap<>();
    private final InFlight inFlight = new InFlight();
    private MountEnvironment env;
    private ExecutorService prefetcher;
    private volatile boolean closed;

    /**
     * The service with libnfs ({@link NfsClient#libnfs()}) and {@link #DEFAULT_LIBFUSE3}.
     *
     * @param fuseDevice the FUSE character device, {@code /dev/fuse} outside tests
     */
    public MountHelperService(Path fuseDevice) {
        this(fuseDevice, NfsClient.libnfs());
    }

    /**
     * The service for the CLI: nothing is started until the first Mount.
     *
     * @param fuseDevice the FUSE character device, {@code /dev/fuse}
     * @param client opens gateway sessions, normally {@link NfsClient#libnfs()}
     */
    public MountHelperService(Path fuseDevice, NfsClient client) {
        this(fuseDevice, client, DEFAULT_LIBFUSE3);
    }

    /**
     * @param fuseDevice the FUSE character device
     * @param client opens gateway sessions
     * @param libfuse3 the libfuse3 shared library jfuse loads
     */
    public MountHelperService(Path fuseDevice, NfsClient client, Path libfuse3) {
        this(fuseDevice, client, libfuse3, HelperMetrics.unregistered());
    }

    /**
     * @param fuseDevice the FUSE character device
     * @param client opens gateway sessions
     * @param libfuse3 the libfuse3 shared library jfuse loads
     * @param metrics where FUSE operations, bytes, NFS errors, reconnects and mounts are counted
     */
    public MountHelperService(Path fuseDevice, NfsClient client, Path libfuse3, HelperMetrics metrics) {
        this.fuseDevice = fuseDevice;
        this.client = client;
        this.libfuse3 = libfuse3;
        this.metrics = metrics;
        metrics.countMountsWith(mounts::size);
    }

    private synchronized MountEnvironment env() {
        if (closed) {
            throw CsiException.failedPrecondition("the mount helper is shutting down");
        }
        if (env == null) {
            // Before the first FUSE mount: the end of every mount's loop needs it (GlibcUnwinder).
            Optional<String> unwinder = GlibcUnwinder.load();
            if (unwinder.isPresent()) {
                throw CsiException.failedPrecondition(unwinder.get());
            }
            FuseCaller fuseCaller;
            try {
                fuseCaller = FuseCaller.bind(libfuse3);
            } catch (RuntimeException | UnsatisfiedLinkError e) {
                LOG.warning(LogLine.event("fuse-caller-unavailable").with("error", e.toString()).toString());
                fuseCaller = null;
            }
            ThreadPoolExecutor pool = new ThreadPoolExecutor(16, 16, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(256),
                    Thread.ofPlatform().daemon().name("read-ahead-", 0).factory(), new ThreadPoolExecutor.AbortPolicy());
            pool.allowCoreThreadTimeOut(true);
            prefetcher = pool;
            int chunks = (int) (Math.max(0, Long.getLong(READ_AHEAD_MIB_PROPERTY, DEFAULT_READ_AHEAD_MIB))
                    * (1 << 20) / READ_AHEAD_CHUNK_BYTES);
            env = new MountEnvironment(client, libfuse3, fuseCaller,
                    new ChunkPool(READ_AHEAD_CHUNK_BYTES, Math.max(1, chunks)), pool,
                    new FuseConnections(Path.of("/sys/fs/fuse/connections")), LinuxSyscalls.geteuid() == 0,
                    chunks == 0 ? 0 : READ_AHEAD_CHUNKS_PER_STREAM, metrics);
        }
        return env;
    }

    // ---------------------------------------------------------------------------------------------
    // Mount

    @Override
    public void mount(MountRequest request, StreamObserver<MountResponse> responses) {
        Rpcs.unary(responses, () -> doMount(request, deadlineOr(DEFAULT_MOUNT_DEADLINE)));
    }

    private MountResponse doMount(MountRequest r, Duration deadline) throws Exception {
        require(!r.getVolumeId().isBlank(), "volume_id is empty");
        require(!r.getServer().isBlank(), "server is empty");
        require(r.getShare().startsWith("/"), "share \"" + r.getShare() + "\" must be an absolute path");
        String staging = stagingKey(r.getStagingPath());
        VolumePaths.rootOf(r.getSubDir());
        MountSemantics semantics = MountSemantics.parse(r.getMountOptionsList(), r.getReadonly());
        GatewayMount.Spec spec = new GatewayMount.Spec(r.getVolumeId(), r.getServer(), r.getShare(), r.getSubDir(),
                staging, r.getReadonly(), r.getMountOptionsList());
        try (InFlight.Lock _ = inFlight.acquire(staging, "Mount")) {
            GatewayMount existing = mounts.get(staging);
            if (existing != null) {
                return answerExisting(existing, spec);
            }
            MountEnvironment environment = env();
            String real = realStagingPath(staging);
            if (!real.equals(staging)) {
                // The node plugin passes real paths; a link planted on the way would move the mount elsewhere.
                throw CsiException.invalidArgument("staging_path " + staging + " passes through a symbolic link (it"
                        + " resolves to " + real + "); refusing to mount there");
            }
            for (GatewayMount m : mounts.values()) {
                if (m.realStagingPath().equals(real)) {
                    return answerExisting(m, spec);
                }
            }
            detachStale(real, true);
            GatewayMount mount = GatewayMount.mount(spec, real, semantics, environment, deadline);
            mounts.put(staging, mount);
            if (closed) {
                // close() ran meanwhile and did not see this mount
                mounts.remove(staging);
                mount.unmount(CLOSE_DEADLINE);
                throw CsiException.failedPrecondition("the mount helper is shutting down");
            }
            return mount.response();
        }
    }

    private static MountResponse answerExisting(GatewayMount existing, GatewayMount.Spec wanted) {
        if (existing.sameAs(wanted)) {
            return existing.response();
        }
        GatewayMount.Spec have = existing.spec();
        if (!have.volumeId().equals(wanted.volumeId())) {
            throw CsiException.alreadyExists("staging path " + wanted.stagingPath() + " is in use by volume "
                    + have.volumeId() + "; unmount it first");
        }
        throw CsiException.alreadyExists("volume " + have.volumeId() + " is mounted at " + wanted.stagingPath()
                + " with other parameters (" + have.server() + ":" + have.share() + " sub_dir=\"" + have.subDir()
                + "\" readonly=" + have.readOnly() + " options=" + have.options() + "); unmount it first");
    }

    /** The staging path as the key of the mount table: absolute and normalized. */
    private static String stagingKey(String path) {
        require(path.startsWith("/"), "staging_path \"" + path + "\" must be an absolute path");
        return Path.of(path).normalize().toString();
    }

    private static String realStagingPath(String staging) throws Exception {
        try {
            return Blocking.call("stat " + staging, STAGING_CHECK_DEADLINE, () -> {
                Path p = Path.of(staging);
                if (!Files.isDirectory(p)) {
                    throw CsiException.notFound("staging path " + staging + " does not exist or is not a directory");
                }
                return p.toRealPath().toString();
            });
        } catch (TimeoutException e) {
            throw CsiException.deadlineExceeded("staging path " + staging + " did not answer a stat within "
                    + STAGING_CHECK_DEADLINE + " (a hung mount there?)");
        } catch (IOException e) {
            throw CsiException.failedPrecondition("staging path " + staging + " cannot be resolved: " + e);
        }
    }

    /**
     * Detaches a {@code fuse.gateway-csi} mount at {@code path} left by an earlier helper process: one whose FUSE
     * connection is none of this process's mounts (that connection died with its process). A mount of one of
     * this process's connections at a path that is not one of its staging paths is a bind mount made from a
     * staging mount (a pod's published target): never touched, FAILED_PRECONDITION. With {@code refuseOthers},
     * another file system mounted there is FAILED_PRECONDITION too; without, it is left alone.
     */
    private void detachStale(String path, boolean refuseOthers) throws Exception {
        MountTable.Entry top = MountTable.topmostAt(MountTable.read(), path);
        if (top == null) {
            return;
        }
        if (!top.fsType().equals(GatewayMount.FS_TYPE)) {
            if (refuseOthers) {
                throw CsiException.failedPrecondition("staging path " + path + " already has a " + top.fsType()
                        + " mount of " + top.source() + "; unmount it first");
            }
            return;
        }
        for (GatewayMount m : mounts.values()) {
            if (m.connection() == top.minor()) {
                throw CsiException.failedPrecondition(path + " is not a staging mount of this mount helper but a"
                        + " bind mount of its staging mount at " + m.realStagingPath() + " (a published target?);"
                        + " the mount helper unmounts only its own staging mounts");
            }
        }
        LOG.info(LogLine.event("stale-mount-detached").with("staging_path", path).with("source", top.source())
                .toString());
        try {
            Blocking.call("umount -l " + path, STAGING_CHECK_DEADLINE, () -> {
                LinuxSyscalls.umount2(path, LinuxSyscalls.MNT_DETACH);
                return null;
            });
        } catch (LinuxSyscalls.SyscallException e) {
            throw CsiException.internal("cannot detach the stale mount at " + path + ": " + e.getMessage(), e);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Unmount

    @Override
    public void unmount(UnmountRequest request, StreamObserver<UnmountResponse> responses) {
        Rpcs.unary(responses, () -> doUnmount(request, deadlineOr(DEFAULT_UNMOUNT_DEADLINE)));
    }

    private UnmountResponse doUnmount(UnmountRequest r, Duration deadline) throws Exception {
        String staging = stagingKey(r.getStagingPath());
        try (InFlight.Lock _ = inFlight.acquire(staging, "Unmount")) {
            GatewayMount mount = mounts.get(staging);
            if (mount == null) {
                for (GatewayMount m : mounts.values()) {
                    if (m.realStagingPath().equals(staging)) {
                        mount = m;
                        break;
                    }
                }
            }
            if (mount == null) {
                detachStale(staging, false);
                return UnmountResponse.getDefaultInstance();
            }
            mount.unmount(deadline);
            mounts.values().remove(mount);
            return UnmountResponse.getDefaultInstance();
        }
    }

    // ---------------------------------------------------------------------------------------------
    // List and Health

    @Override
    public void list(ListRequest request, StreamObserver<ListResponse> responses) {
        Rpcs.unary(responses, () -> {
            List<MountTable.Entry> table = MountTable.read();
            ListResponse.Builder b = ListResponse.newBuilder();
            for (GatewayMount m : new ArrayList<>(mounts.values())) {
                b.addMounts(m.info(table));
            }
            return b.build();
        });
    }

    @Override
    public void health(HealthRequest request, StreamObserver<HealthResponse> responses) {
        Rpcs.unary(responses, () -> {
            if (!Files.isReadable(fuseDevice) || !Files.isWritable(fuseDevice)) {
                return HealthResponse.newBuilder().setReady(false).setMessage(fuseDevice
                        + " is missing or not accessible; give the mount helper container the FUSE device").build();
            }
            if (!Files.isReadable(libfuse3)) {
                return HealthResponse.newBuilder().setReady(false).setMessage(libfuse3
                        + " is missing; install libfuse3 (Debian: libfuse3-3) in the mount helper image").build();
            }
            Optional<String> unwinder = GlibcUnwinder.load();
            if (unwinder.isPresent()) {
                return HealthResponse.newBuilder().setReady(false).setMessage(unwinder.get()).build();
            }
            if (closed) {
                return HealthResponse.newBuilder().setReady(false).setMessage("the mount helper is shutting down")
                        .build();
            }
            return HealthResponse.newBuilder().setReady(true).build();
        });
    }

    // ---------------------------------------------------------------------------------------------
    // Shutdown

    /** The mounts served now, by staging path (for tests and diagnostics). */
    Map<String, GatewayMount> mounts() {
        return Map.copyOf(mounts);
    }

    /**
     * Unmounts every mount (in parallel, each within 15 s, as {@link GatewayMount#unmount} does) and stops the
     * read-ahead threads. For the helper's shutdown (SIGTERM); idempotent. Later Mount calls fail with
     * FAILED_PRECONDITION.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        List<Thread> threads = new ArrayList<>();
        for (Map.Entry<String, GatewayMount> e : mounts.entrySet()) {
            threads.add(Thread.ofPlatform().daemon().name("unmount " + e.getKey()).start(() -> {
                try {
                    e.getValue().unmount(CLOSE_DEADLINE);
                    mounts.remove(e.getKey(), e.getValue());
                } catch (Exception | Error ex) {
                    LOG.log(Level.WARNING, LogLine.event("unmount-on-close-failed").with("staging_path", e.getKey())
                            .with("error", ex.toString()).toString(), ex);
                }
            }));
        }
        long end = System.nanoTime() + CLOSE_DEADLINE.plusSeconds(5).toNanos();
        for (Thread t : threads) {
            try {
                t.join(Duration.ofNanos(Math.max(1, end - System.nanoTime())));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        synchronized (this) {
            if (prefetcher != null) {
                prefetcher.shutdown();
            }
        }
    }

    // ---------------------------------------------------------------------------------------------

    private static Duration deadlineOr(Duration fallback) {
        Deadline d = Context.current().getDeadline();
        if (d == null) {
            return fallback;
        }
        long left = d.timeRemaining(TimeUnit.MILLISECONDS);
        // leave the caller a moment to receive the answer
        return Duration.ofMillis(Math.max(100, Math.min(fallback.toMillis(), left - Math.min(1000, left / 10))));
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw CsiException.invalidArgument(message);
        }
    }
}
