package io.gatewaycsi.mounthelper;

import io.gatewaycsi.nfs.Errno;
import io.gatewaycsi.nfs.NfsException;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;
import io.gatewaycsi.common.LogLine;

/**
 * Runs gateway calls with a mount's recovery semantics (nfs(5) "hard", "soft", "softerr"; see
 * {@link MountSemantics}).
 *
 * <ul>
 *   <li>Each attempt is bounded by the session's timeout ({@code timeo}); nfs-client replaces a connection
 *       that timed out or broke, and reopens open files by path on the fresh one.</li>
 *   <li>A transient failure ({@link NfsErrnos#isTransient}) is retried after a pause of 100 ms growing to
 *       1 s (so a refused or unroutable gateway is not hammered). {@code hard}: until the gateway answers or
 *       {@link #close()}; {@code soft}/{@code softerr}: until {@code timeo × (retrans + 1)} have passed since
 *       the call began, then {@code EIO}/{@code ETIMEDOUT}.</li>
 *   <li>An answer (success, or a file system error such as {@code ENOENT}) ends the call; errors become
 *       their errno ({@link NfsErrnos#errnoOf}).</li>
 *   <li>After {@link #close()} (mount teardown) no new attempt starts: calls fail with {@code EIO} at once,
 *       and waiting retries wake up and fail too. An attempt already in flight ends within its timeout.</li>
 * </ul>
 *
 * Thread-safe; meant for FUSE worker threads (platform threads).
 */
final class GatewayCaller {
    private static final Logger LOG = Logger.getLogger(GatewayCaller.class.getName());
    private static final long MIN_PAUSE_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final long MAX_PAUSE_NANOS = TimeUnit.SECONDS.toNanos(1);

    /** One attempt of a call; {@code attempt} counts from 0, so a retried non-idempotent call can tell. */
    @FunctionalInterface
    interface Attempt<T> {
        T run(int attempt) throws NfsException, FuseErrno;
    }

    private final MountSemantics semantics;
    private final GatewayHealth health;
    private final LongSupplier nanoClock;
    private final String mountName;
    private final HelperMetrics metrics;
    private final Object pauseLock = new Object();
    private final java.util.concurrent.atomic.LongAdder attempts = new java.util.concurrent.atomic.LongAdder();
    private volatile boolean closed;

    GatewayCaller(MountSemantics semantics, GatewayHealth health, LongSupplier nanoClock, String mountName) {
        this(semantics, health, nanoClock, mountName, HelperMetrics.unregistered());
    }

    /** As above, counting every failed attempt in {@code gatewaycsi_nfs_errors_total} by errno. */
    GatewayCaller(MountSemantics semantics, GatewayHealth health, LongSupplier nanoClock, String mountName,
            HelperMetrics metrics) {
        this.metrics = metrics;
        this.semantics = semantics;
        this.health = health;
        this.nanoClock = nanoClock;
        this.mountName = mountName;
    }

    /**
     * Runs {@code call} as the class comment says.
     *
     * @param op the operation, for the log (e.g. {@code "read"})
     * @param path the FUSE path, for the log
     * @return the call's result
     * @throws FuseErrno the errno to hand to the kernel
     */
    <T> T call(String op, String path, Attempt<T> call) throws FuseErrno {
        long start = nanoClock.getAsLong();
        long deadline = start + semantics.softDeadline().toNanos();
        long pause = MIN_PAUSE_NANOS;
        boolean logged = false;
        for (int attempt = 0; ; attempt++) {
            if (closed) {
                throw new FuseErrno(Errno.EIO, op + " " + path + ": the mount is being torn down");
            }
            try {
                attempts.increment();
                T result = call.run(attempt);
                health.answered();
                if (logged) {
                    LOG.info(LogLine.event("gateway-answered").with("mount", mountName).with("op", op)
                            .with("path", path).with("attempts", attempt + 1).toString());
                }
                return result;
            } catch (NfsException e) {
                metrics.nfsError(e.errno());
                if (!NfsErrnos.isTransient(e)) {
                    health.answered();
                    throw new FuseErrno(NfsErrnos.errnoOf(e), e.getMessage());
                }
                if (NfsErrnos.isUnreachable(e)) {
                    health.unreachable();
                }
                long now = nanoClock.getAsLong();
                if (semantics.isSoft() && now + Math.min(pause, MIN_PAUSE_NANOS) - deadline >= 0) {
                    int errno = semantics.recovery() == MountSemantics.Recovery.SOFTERR ? Errno.ETIMEDOUT : Errno.EIO;
                    LOG.warning(LogLine.event("gateway-gave-up").with("mount", mountName).with("op", op)
                            .with("path", path).with("recovery", semantics.recovery().option())
                            .with("attempts", attempt + 1).with("errno", Errno.name(errno))
                            .with("cause", e.getMessage()).toString());
                    throw new FuseErrno(errno, op + " " + path + ": no answer from the gateway within "
                            + semantics.softDeadline() + ": " + e.getMessage());
                }
                if (!logged) {
                    logged = true;
                    LOG.warning(LogLine.event("gateway-not-answering").with("mount", mountName).with("op", op)
                            .with("path", path).with("recovery", semantics.recovery().option())
                            .with("cause", e.getMessage()).toString());
                }
                long wait = semantics.isSoft() ? Math.min(pause, Math.max(0, deadline - now)) : pause;
                pause(wait);
                pause = Math.min(MAX_PAUSE_NANOS, pause * 2);
            } catch (IllegalStateException e) {
                // the session was closed under us: the mount is going away
                throw new FuseErrno(Errno.EIO, op + " " + path + ": " + e.getMessage());
            }
        }
    }

    /** Gateway call attempts started so far (each may be one or a few NFS round trips). */
    long attempts() {
        return attempts.sum();
    }

    private void pause(long nanos) {
        if (nanos <= 0) {
            return;
        }
        long until = nanoClock.getAsLong() + nanos;
        synchronized (pauseLock) {
            long left;
            while (!closed && (left = until - nanoClock.getAsLong()) > 0) {
                try {
                    TimeUnit.NANOSECONDS.timedWait(pauseLock, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    /** Stops retrying: waiting calls wake up and fail with EIO, new calls fail at once. Idempotent. */
    void close() {
        closed = true;
        synchronized (pauseLock) {
            pauseLock.notifyAll();
        }
        if (LOG.isLoggable(Level.FINE)) {
            LOG.fine(LogLine.event("gateway-caller-closed").with("mount", mountName).toString());
        }
    }

    /** Whether {@link #close()} was called. */
    boolean isClosed() {
        return closed;
    }
}
