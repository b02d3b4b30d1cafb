package io.gatewaycsi.mounthelper;

import io.gatewaycsi.common.CsiException;
import io.gatewaycsi.common.LogLine;
import io.gatewaycsi.mounthelper.v1.MountInfo;
import io.gatewaycsi.mounthelper.v1.MountResponse;
import io.gatewaycsi.nfs.Errno;
import io.gatewaycsi.nfs.NfsAttributes;
import io.gatewaycsi.nfs.NfsException;
import io.gatewaycsi.nfs.NfsSession;
import io.gatewaycsi.nfs.NfsSessionOptions;
import io.gatewaycsi.nfs.NfsTarget;
import io.grpc.Status;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.cryptomator.jfuse.api.Fuse;
import org.cryptomator.jfuse.api.FuseBuilder;

/**
 * One staging mount served by the helper: a gateway session, the {@link GatewayFileSystem} over it, and the
 * jfuse/libfuse3 mount at the staging path.
 *
 * <p><b>The kernel mount</b> is a FUSE mount of type {@code fuse.gateway-csi} whose source is
 * {@code server:/share/subDir} (libfuse options {@code fsname} and {@code subtype}; the node plugin finds
 * sidecar mounts in {@code /proc/self/mountinfo} by them), with {@code allow_other} (pods run as other users
 * than the helper), {@code default_permissions} (the kernel checks access against the gateway's attributes),
 * {@code max_read=1048576}, {@code ro} for read-only mounts, and the honoured options of
 * {@link MountSemantics} ({@code attr_timeout}/{@code entry_timeout}, {@code auto_cache}, {@code noexec}…).
 * The backing device's read-ahead ({@code /sys/class/bdi/<major>:<minor>/read_ahead_kb}) is raised to
 * {@link #KERNEL_READ_AHEAD_KB} so that the kernel's read-ahead sends 1 MiB requests.
 *
 * <p><b>Health</b>: a probe ({@code LOOKUP} of the volume's directory) runs every {@link #PROBE_INTERVAL}
 * when no other call got an answer in that time, so {@link #healthy()} means "the gateway answered within
 * the last {@link #HEALTH_FRESHNESS}".
 *
 * <p><b>Teardown</b> ({@link #unmount(Duration)}) never waits on the gateway and ends within its deadline;
 * see there.
 */
final class GatewayMount {
    private static final Logger LOG = Logger.getLogger(GatewayMount.class.getName());

    /** The FUSE subtype: the mount's type reads {@code fuse.gateway-csi}. */
    static final String SUBTYPE = "gateway-csi";
    /** The file system type in mountinfo. */
    static final String FS_TYPE = "fuse." + SUBTYPE;
    /** Kernel read-ahead of the FUSE mount, KiB. */
    static final int KERNEL_READ_AHEAD_KB = 4096;
    /** libfuse worker threads at most (each blocked gateway call holds one). */
    static final int MAX_FUSE_THREADS = 32;
    static final Duration PROBE_INTERVAL = Duration.ofSeconds(10);
    static final Duration HEALTH_FRESHNESS = Duration.ofSeconds(30);
    private static final Duration NORMAL_UNMOUNT_BUDGET = Duration.ofSeconds(2);
    /** How long Unmount waits for jfuse and the session to be freed (the rest happens in the background). */
    private static final Duration RELEASE_WAIT = Duration.ofSeconds(1);
    /**
     * Held around FUSE mounts and around each unmount's umount2 + "does the connection still exist" check,
     * so that a FUSE connection number this process sees right after its umount2 is never one of its own
     * new mounts.
     */
    static final java.util.concurrent.locks.ReentrantLock TABLE_LOCK = new java.util.concurrent.locks.ReentrantLock();

    /**
     * What was asked for: the fields of {@code MountRequest}.
     *
     * @param volumeId the CSI volume ID
     * @param server the gateway
     * @param share the export, absolute
     * @param subDir the volume's directory below the share, relative, "" for the share itself
     * @param stagingPath the staging path as given (absolute, normalized)
     * @param readOnly the request's read-only flag
     * @param options the mount options as given
     */
    record Spec(String volumeId, String server, String share, String subDir, String stagingPath, boolean readOnly,
            List<String> options) {
        Spec {
            options = List.copyOf(options);
        }
    }

    private final Spec spec;
    private final String realStagingPath;
    private final MountSemantics semantics;
    private final String source;
    private final NfsSession session;
    private final GatewayFileSystem fs;
    private final GatewayCaller caller;
    private final GatewayHealth health;
    private final Fuse fuse;
    private final MountEnvironment env;
    private final MountTable.Entry entry;
    private final Thread prober;
    private final CountDownLatch released = new CountDownLatch(1);
    private volatile boolean unmounted;

    private GatewayMount(Spec spec, String realStagingPath, MountSemantics semantics, String source,
            NfsSession session, GatewayFileSystem fs, GatewayCaller caller, GatewayHealth health, Fuse fuse,
            MountEnvironment env, MountTable.Entry entry) {
        this.spec = spec;
        this.realStagingPath = realStagingPath;
        this.semantics = semantics;
        this.source = source;
        this.session = session;
        this.fs = fs;
        this.caller = caller;
        this.health = health;
        this.fuse = fuse;
        this.env = env;
        this.entry = entry;
        this.prober = Thread.ofPlatform().daemon().name("probe " + source).unstarted(this::probeLoop);
    }

    /**
     * Connects to the gateway, checks the volume's directory and mounts it at the staging path.
     *
     * @param realStagingPath the staging path with symbolic links resolved (as mountinfo shows it)
     * @param deadline for the whole mount
     * @throws CsiException NOT_FOUND (no such export or directory), UNAVAILABLE (gateway unreachable),
     *     PERMISSION_DENIED, DEADLINE_EXCEEDED, INTERNAL (FUSE refused)
     * @throws IllegalArgumentException for an invalid server or share
     */
    static GatewayMount mount(Spec spec, String realStagingPath, MountSemantics semantics, MountEnvironment env,
            Duration deadline) throws Exception {
        long end = System.nanoTime() + deadline.toNanos();
        VolumePaths paths = new VolumePaths(spec.subDir());
        NfsTarget target = new NfsTarget(spec.server(), semantics.port(), spec.share(), semantics.version());
        String source = sourceOf(target, spec.subDir());
        NfsSessionOptions options = NfsSessionOptions.defaults().withTimeout(semantics.attemptTimeout())
                .withMaxContexts(MountSemantics.MAX_CONNECTIONS);
        NfsSession session;
        try {
            session = Blocking.call("connect " + target.spec(), remaining(end),
                    () -> env.client().connect(target, options), NfsSession::close);
        } catch (NfsException e) {
            throw gatewayFailure("cannot connect to " + target, e);
        } catch (TimeoutException e) {
            throw CsiException.deadlineExceeded("connecting to " + target + " took longer than the deadline " + deadline);
        }
        boolean done = false;
        Fuse fuse = null;
        try {
            NfsAttributes root;
            try {
                root = Blocking.call("stat " + source, remaining(end), () -> {
                    requireNoSymlinks(session, paths.root(), source);
                    return session.stat(paths.root());
                });
            } catch (NfsException e) {
                throw gatewayFailure("cannot look up the volume's directory " + source, e);
            }
            if (!root.isDirectory()) {
                throw CsiException.failedPrecondition(source + " is not a directory on the gateway");
            }
            GatewayHealth health = new GatewayHealth(HEALTH_FRESHNESS, System::nanoTime);
            health.answered();
            GatewayCaller caller = new GatewayCaller(semantics, health, System::nanoTime, source, env.metrics());
            FuseBuilder builder = Fuse.builder();
            builder.setLibraryPath(env.libfuse3().toString());
            GatewayFileSystem fs = new GatewayFileSystem(builder.errno(), session, paths, semantics, caller,
                    env.chunks(), env.prefetcher(), env.readAheadChunks(), env.fuseCaller(), env.helperIsRoot(), source,
                    env.metrics());
            Fuse built = builder.build(fs);
            fuse = built;
            List<String> flags = List.of("-o", fuseOptions(source, semantics));
            Duration mountBudget = remaining(end);
            MountTable.Entry entry = Blocking.call("fuse mount " + realStagingPath, mountBudget, () -> {
                boolean locked = TABLE_LOCK.tryLock(mountBudget.toNanos() / 2, TimeUnit.NANOSECONDS);
                try {
                    built.mount("gateway-csi", Path.of(realStagingPath), flags.toArray(String[]::new));
                    return MountTable.topmostAt(MountTable.read(), realStagingPath);
                } finally {
                    if (locked) {
                        TABLE_LOCK.unlock();
                    }
                }
            });
            if (entry == null || !entry.fsType().equals(FS_TYPE)) {
                throw CsiException.internal("the FUSE mount at " + realStagingPath + " did not appear in the mount"
                        + " table (found " + entry + ")", null);
            }
            raiseKernelReadAhead(entry);
            fs.markMounted();
            GatewayMount mount = new GatewayMount(spec, realStagingPath, semantics, source, session, fs, caller,
                    health, built, env, entry);
            mount.prober.start();
            env.metrics().sessionOpened(session);
            done = true;
            LOG.info(LogLine.event("mounted").with("volume_id", spec.volumeId()).with("source", source)
                    .with("staging_path", realStagingPath).with("options", String.join(",", semantics.effectiveOptions()))
                    .with("ignored_options", String.join(",", semantics.ignoredOptions()))
                    .with("fuse_cache", String.join(",", semantics.attributeCache().fuseOptions()))
                    .with("fuse_connection", entry.minor()).toString());
            return mount;
        } catch (TimeoutException e) {
            throw CsiException.deadlineExceeded("mounting " + source + " at " + realStagingPath
                    + " did not finish within " + deadline + ": " + e.getMessage());
        } catch (org.cryptomator.jfuse.api.FuseMountFailedException e) {
            throw CsiException.internal("FUSE refused to mount " + source + " at " + realStagingPath + ": "
                    + e.getMessage() + " (is /dev/fuse available and the helper privileged?)", e);
        } finally {
            if (!done) {
                abandon(fuse, session, realStagingPath);
            }
        }
    }

    /**
     * Refuses a volume whose directory, or a directory on the way to it, is a symbolic link on the gateway: a
     * pod that can write the parent of a volume could swap the volume's directory (or one above it) for a link
     * to another team's data, which libnfs would follow. Checked top-down with lstat at mount time. (Paths
     * inside a mounted volume are resolved by the kernel, which never hands a FUSE file system a link to
     * follow; a directory above the volume swapped while it is mounted is not re-checked.)
     */
    private static void requireNoSymlinks(NfsSession session, String root, String source) throws NfsException {
        String current = io.gatewaycsi.nfs.NfsPaths.ROOT;
        for (String component : io.gatewaycsi.nfs.NfsPaths.components(root)) {
            current = io.gatewaycsi.nfs.NfsPaths.join(current, component);
            if (session.lstat(current).isSymlink()) {
                throw CsiException.failedPrecondition("cannot mount " + source + ": " + current + " is a symbolic"
                        + " link on the gateway; the mount helper does not follow it out of the share's directory"
                        + " for this volume");
            }
        }
    }

    /** Cleans up a mount attempt that failed half-way: whatever got mounted is detached, sessions closed. */
    private static void abandon(Fuse fuse, NfsSession session, String path) {
        Thread.ofPlatform().daemon().name("abandon " + path).start(() -> {
            try {
                if (fuse != null) {
                    MountTable.Entry e = MountTable.topmostAt(MountTable.read(), path);
                    if (e != null && e.fsType().equals(FS_TYPE)) {
                        LinuxSyscalls.umount2(path, LinuxSyscalls.MNT_DETACH);
                    }
                    fuse.close();
                }
            } catch (Exception | Error e) {
                LOG.log(Level.WARNING, "cleaning up a failed mount at " + path, e);
            } finally {
                session.close();
            }
        });
    }

    private static CsiException gatewayFailure(String what, NfsException e) {
        if (NfsErrnos.isUnreachable(e)) {
            return CsiException.unavailable(what + ": the gateway did not answer: " + e.getMessage(), e);
        }
        return switch (e.errno()) {
            case Errno.ENOENT, Errno.ENOTDIR -> CsiException.notFound(what + ": " + e.getMessage());
            case Errno.EACCES, Errno.EPERM -> new CsiException(Status.Code.PERMISSION_DENIED,
                    what + ": the gateway refused: " + e.getMessage(), e);
            default -> CsiException.internal(what + ": " + e.getMessage(), e);
        };
    }

    /** {@code server:/share/subDir} as the mount's source; IPv6 addresses in brackets. */
    static String sourceOf(NfsTarget target, String subDir) {
        String base = target.spec();
        if (subDir == null || subDir.isEmpty()) {
            return base;
        }
        String sub = subDir.endsWith("/") ? subDir.substring(0, subDir.length() - 1) : subDir;
        return base.endsWith("/") ? base + sub : base + "/" + sub;
    }

    /** The comma-separated libfuse {@code -o} options (commas and backslashes in values escaped). */
    static String fuseOptions(String source, MountSemantics semantics) {
        List<String> o = new ArrayList<>();
        o.add("fsname=" + source.replace("\\", "\\\\").replace(",", "\\,"));
        o.add("subtype=" + SUBTYPE);
        o.add("allow_other");
        o.add("default_permissions");
        o.add("max_read=" + GatewayFileSystem.MAX_IO_BYTES);
        o.add("max_threads=" + MAX_FUSE_THREADS);
        if (semantics.readOnly()) {
            o.add("ro");
        }
        o.addAll(semantics.kernelFlags());
        o.addAll(semantics.attributeCache().fuseOptions());
        if (semantics.keepCacheAcrossOpens()) {
            o.add("auto_cache");
        }
        return String.join(",", o);
    }

    private static void raiseKernelReadAhead(MountTable.Entry entry) {
        Path ra = Path.of("/sys/class/bdi", entry.major() + ":" + entry.minor(), "read_ahead_kb");
        try {
            Files.writeString(ra, Integer.toString(KERNEL_READ_AHEAD_KB), StandardCharsets.US_ASCII);
        } catch (IOException | RuntimeException e) {
            LOG.fine(LogLine.event("read-ahead-not-raised").with("path", ra).with("error", e.toString()).toString());
        }
    }

    private static Duration remaining(long endNanos) {
        return Duration.ofNanos(Math.max(1, endNanos - System.nanoTime()));
    }

    // ---------------------------------------------------------------------------------------------
    // Reporting

    Spec spec() {
        return spec;
    }

    String realStagingPath() {
        return realStagingPath;
    }

    GatewayFileSystem fileSystem() {
        return fs;
    }

    /** Gateway call attempts this mount's file system made so far ({@link GatewayCaller#attempts()}). */
    long gatewayCalls() {
        return caller.attempts();
    }

    /** Whether a new request for {@code other} is the same mount (idempotent Mount). */
    boolean sameAs(Spec other) {
        return spec.volumeId().equals(other.volumeId()) && spec.server().equals(other.server())
                && spec.share().equals(other.share()) && spec.subDir().equals(other.subDir())
                && spec.readOnly() == other.readOnly() && spec.options().equals(other.options());
    }

    /** The answer to Mount. */
    MountResponse response() {
        return MountResponse.newBuilder().setEffectiveNfsVersion(semantics.version().label())
                .addAllEffectiveOptions(semantics.effectiveOptions()).build();
    }

    /** Whether the gateway answered recently. */
    boolean healthy() {
        return !unmounted && health.healthy();
    }

    /**
     * Whether this mount is still in {@code table}: an entry with its mount ID, its FUSE connection (device) and
     * its mount point. The mount ID alone is not enough: Linux gives a freed ID to the next mount at once, and
     * the next mount may be anyone's.
     */
    boolean presentIn(List<MountTable.Entry> table) {
        for (MountTable.Entry e : table) {
            if (isThisMount(e)) {
                return true;
            }
        }
        return false;
    }

    /** Whether {@code e} is this mount (mount ID, device and mount point all equal). */
    boolean isThisMount(MountTable.Entry e) {
        return e.mountId() == entry.mountId() && e.major() == entry.major() && e.minor() == entry.minor()
                && e.mountPoint().equals(entry.mountPoint());
    }

    /** The FUSE connection (device minor) of this mount. */
    int connection() {
        return entry.minor();
    }

    /** For List: the mount with its effective options; healthy only if still mounted and answering. */
    MountInfo info(List<MountTable.Entry> table) {
        return MountInfo.newBuilder().setVolumeId(spec.volumeId()).setServer(spec.server()).setShare(spec.share())
                .setSubDir(spec.subDir()).setStagingPath(spec.stagingPath())
                .setEffectiveNfsVersion(semantics.version().label()).addAllEffectiveOptions(semantics.effectiveOptions())
                .setHealthy(healthy() && presentIn(table)).build();
    }

    private void probeLoop() {
        long interval = PROBE_INTERVAL.toNanos();
        while (!unmounted) {
            try {
                TimeUnit.NANOSECONDS.sleep(interval);
            } catch (InterruptedException e) {
                return;
            }
            if (unmounted || health.nanosSinceAnswer() < interval) {
                continue;
            }
            try {
                session.lstat(fsRoot());
                health.answered();
            } catch (NfsException e) {
                if (NfsErrnos.isUnreachable(e)) {
                    health.unreachable();
                } else {
                    health.answered();
                }
            } catch (RuntimeException e) {
                return; // session closed
            }
        }
    }

    private String fsRoot() {
        return VolumePaths.rootOf(spec.subDir());
    }

    // ---------------------------------------------------------------------------------------------
    // Teardown

    /**
     * Removes the mount within {@code deadline}, whether or not the gateway answers:
     * <ol>
     *   <li>Gateway calls stop retrying: FUSE operations waiting on the gateway fail with {@code EIO} (one in
     *       flight ends within its {@code timeo}).</li>
     *   <li>umount2(2) of the staging path, waiting at most 2 s. If other mounts of the same FUSE connection
     *       remain (bind mounts the node plugin left), the connection is aborted too.</li>
     *   <li>If that failed ({@code EBUSY}: a process still uses it) or hung: the FUSE connection is aborted
     *       through {@code /sys/fs/fuse/connections/<minor>/abort} ({@link FuseConnections}), which fails every
     *       pending request at once, and the staging path is lazily unmounted ({@code MNT_DETACH}).</li>
     *   <li>In the background, once no FUSE operation runs any more: jfuse is closed (its loop has ended on
     *       the dead connection) and the gateway session is closed. No thread stays blocked: every gateway call
     *       has a deadline.</li>
     * </ol>
     *
     * @throws CsiException DEADLINE_EXCEEDED or INTERNAL if the mount is still in the mount table afterwards
     */
    void unmount(Duration deadline) throws Exception {
        long end = System.nanoTime() + deadline.toNanos();
        unmounted = true;
        caller.close();
        prober.interrupt();
        boolean aborted = false;
        boolean detached = false;
        try {
            Duration budget = min(NORMAL_UNMOUNT_BUDGET, remaining(end).dividedBy(3));
            boolean stillConnected = Blocking.call("umount " + realStagingPath, budget, () -> {
                if (!TABLE_LOCK.tryLock(budget.toNanos(), TimeUnit.NANOSECONDS)) {
                    throw new TimeoutException("another mount or unmount holds the FUSE table lock");
                }
                try {
                    LinuxSyscalls.umount2(realStagingPath, 0);
                    return connectionState() != Boolean.FALSE;
                } finally {
                    TABLE_LOCK.unlock();
                }
            });
            detached = true;
            if (stillConnected) {
                // Other mounts of this connection outlive ours (bind mounts left behind, or copies that a
                // process unsharing its mount namespace took along): the connection is still ours, end it.
                aborted = abortConnection(end);
            }
        } catch (LinuxSyscalls.SyscallException | TimeoutException e) {
            LOG.info(LogLine.event("unmount-forced").with("staging_path", realStagingPath).with("source", source)
                    .with("reason", e.getMessage()).toString());
        }
        if (!detached) {
            List<MountTable.Entry> table = MountTable.read();
            if (presentIn(table)) {
                aborted = abortConnection(end);
                MountTable.Entry top = MountTable.topmostAt(table, realStagingPath);
                if (top != null && isThisMount(top)) {
                    try {
                        Blocking.call("umount -l " + realStagingPath, remaining(end), () -> {
                            LinuxSyscalls.umount2(realStagingPath, LinuxSyscalls.MNT_DETACH);
                            return null;
                        });
                    } catch (LinuxSyscalls.SyscallException e) {
                        if (e.errno() != Errno.EINVAL && e.errno() != Errno.ENOENT) {
                            throw CsiException.internal("cannot unmount " + realStagingPath + ": " + e.getMessage(), e);
                        }
                    } catch (TimeoutException e) {
                        throw CsiException.deadlineExceeded("lazy unmount of " + realStagingPath
                                + " did not finish within the deadline");
                    }
                } else if (top != null) {
                    LOG.warning(LogLine.event("unmount-covered").with("staging_path", realStagingPath)
                            .with("covered_by", top.fsType() + " " + top.source()).toString());
                }
            }
        }
        // Looked for by its full identity (mount ID, FUSE connection, mount point): Linux hands a freed mount ID
        // to the next mount at once, whoever makes it. Still there only if umount2 took another mount stacked
        // on ours, or the forced and lazy unmounts failed.
        if (presentIn(MountTable.read())) {
            throw CsiException.internal(realStagingPath + " is still mounted after unmounting it ("
                    + (detached ? "another mount was stacked on it" : "forced and lazy unmounts failed") + ")", null);
        }
        boolean connectionDead = aborted || connectionState() == Boolean.FALSE;
        Thread cleanup = Thread.ofPlatform().daemon().name("release " + source)
                .start(() -> release(connectionDead));
        LOG.info(LogLine.event("unmounted").with("volume_id", spec.volumeId()).with("source", source)
                .with("staging_path", realStagingPath).with("aborted", aborted).toString());
        try {
            released.await(Math.min(RELEASE_WAIT.toNanos(), Math.max(0, end - System.nanoTime())), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (released.getCount() > 0) {
            LOG.fine(LogLine.event("release-continues").with("source", source).with("thread", cleanup.getName()).toString());
        }
    }

    /**
     * Whether this mount's FUSE connection still exists (null: unknown, the FUSE control file system is not
     * available). Its control directory disappears when the
     * superblock is destroyed, synchronously within the umount2(2) that drops its last mount; the minor
     * number can only be reused after that. Called right after umount2 under {@link #TABLE_LOCK} (which FUSE
     * mounts of this process take too), an existing directory is therefore ours.
     */
    private Boolean connectionState() {
        try {
            return env.connections().exists(entry.minor());
        } catch (IOException e) {
            LOG.warning(LogLine.event("fuse-connection-unknown").with("connection", entry.minor())
                    .with("error", e.getMessage()).toString());
            return null;
        }
    }

    private boolean abortConnection(long end) {
        try {
            return Blocking.call("abort fuse connection " + entry.minor(), remaining(end),
                    () -> env.connections().abort(entry.minor()));
        } catch (Exception e) {
            LOG.warning(LogLine.event("fuse-abort-failed").with("staging_path", realStagingPath)
                    .with("connection", entry.minor()).with("error", e.getMessage()).toString());
            return false;
        }
    }

    /**
     * Frees jfuse and the session once no FUSE operation runs any more (jfuse frees its upcall stubs on
     * close: no thread may still be inside one). If the connection could not be shown dead, jfuse is left
     * alone (its close would unmount by path, possibly someone else's mount); its loop ends with the
     * connection.
     */
    private void release(boolean connectionDead) {
        try {
            long limit = System.nanoTime() + semantics.attemptTimeout().multipliedBy(4).plusSeconds(10).toNanos();
            while (fs.inFlight() > 0 && System.nanoTime() - limit < 0) {
                TimeUnit.MILLISECONDS.sleep(20);
            }
            if (fs.inFlight() > 0) {
                LOG.warning(LogLine.event("fuse-not-released").with("source", source)
                        .with("in_flight", fs.inFlight()).toString());
            } else if (connectionDead) {
                try {
                    fuse.close();
                } catch (TimeoutException e) {
                    LOG.warning(LogLine.event("fuse-loop-lingers").with("source", source).toString());
                }
            } else {
                LOG.warning(LogLine.event("fuse-left-running").with("source", source)
                        .with("reason", "connection could not be aborted").toString());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException | Error e) {
            LOG.log(Level.WARNING, "releasing FUSE of " + source, e);
        } finally {
            try {
                session.close();
            } finally {
                env.metrics().sessionClosed(session);
                released.countDown();
            }
        }
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }
}
