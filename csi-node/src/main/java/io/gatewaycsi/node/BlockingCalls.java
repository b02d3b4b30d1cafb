package io.gatewaycsi.node;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs calls that may block forever (a syscall or file operation on a path that may sit on a dead NFS or FUSE
 * mount) off the caller's thread, with a deadline (DESIGN §5: "every file-system call on a possibly-NFS path
 * has a deadline and runs off the gRPC thread").
 *
 * <p>The calls run on daemon platform threads, not virtual ones: a virtual thread blocked in a native
 * downcall pins its carrier, and a few stuck calls would starve every virtual thread in the JVM. A call that
 * misses its deadline is <em>abandoned</em>: its thread stays blocked in the kernel (it cannot be killed) and
 * the caller gets a {@link MountException} with {@link MountException#isTimeout()}, so it can escalate. At
 * most {@value #MAX_ABANDONED} abandoned calls may be outstanding; beyond that {@link #call} fails at once
 * (as a timeout) instead of stacking up more stuck threads, while {@link #callEvenIfSaturated} — for the
 * escape hatches, forced and lazy unmounts, which release stuck calls or do not touch the file system — still
 * runs.
 *
 * <p>A call made from inside another call's body runs right there, on that worker, under the outer call's
 * deadline: a sequence of calls that may all block costs one hand-off instead of one each (a hand-off is a
 * thread wake-up each way, ~70 µs on the benchmark machine, bench/RESULTS.md). Only calls whose own timeout
 * changes nothing may be grouped so: one that is escalated on timeout (an unmount) needs its own.
 */
public final class BlockingCalls {

    /** The most abandoned calls still blocked in the kernel before new calls are refused. */
    public static final int MAX_ABANDONED = 32;

    /** A call that returns a value or throws an {@link IOException}. */
    @FunctionalInterface
    public interface IoCall<T> {
        /** Performs the call. */
        T call() throws IOException;
    }

    private static final int RUNNING = 0;
    private static final int DONE = 1;
    private static final int ABANDONED = 2;

    private static final AtomicInteger ABANDONED_NOW = new AtomicInteger();

    /** Set on a worker thread while it runs a call's body. */
    private static final ThreadLocal<Boolean> ON_WORKER = ThreadLocal.withInitial(() -> false);

    private static final ExecutorService THREADS = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 30,
            TimeUnit.SECONDS, new SynchronousQueue<>(),
            Thread.ofPlatform().daemon().name("gateway-csi-io-", 0).stackSize(256 * 1024).factory());

    private BlockingCalls() {
    }

    /**
     * Runs {@code body} on a worker thread and waits at most {@code deadline} for it (or, called from another
     * call's body, runs it in place under that call's deadline).
     *
     * @param operation what the call is, for the error message (e.g. {@code statvfs})
     * @param path      the path it works on, for the error message
     * @return what {@code body} returned
     * @throws MountException         with {@link MountException#isTimeout()} when the deadline passed (the call
     *                                is abandoned, still running) or too many calls are already stuck
     * @throws InterruptedIOException when the caller was interrupted while waiting (the call is abandoned)
     * @throws IOException            whatever {@code body} threw
     */
    public static <T> T call(String operation, Path path, Duration deadline, IoCall<T> body) throws IOException {
        if (ON_WORKER.get()) {
            return body.call();
        }
        int stuck = ABANDONED_NOW.get();
        if (stuck >= MAX_ABANDONED) {
            throw MountException.saturated(operation, path, stuck);
        }
        return callEvenIfSaturated(operation, path, deadline, body);
    }

    /**
     * As {@link #call}, but runs even when {@value #MAX_ABANDONED} calls are already stuck. For the calls that
     * get a node out of that state: forced and lazy unmounts.
     */
    public static <T> T callEvenIfSaturated(String operation, Path path, Duration deadline, IoCall<T> body)
            throws IOException {
        if (ON_WORKER.get()) {
            return body.call();
        }
        AtomicInteger state = new AtomicInteger(RUNNING);
        Future<T> future = THREADS.submit(() -> {
            ON_WORKER.set(true);
            try {
                return body.call();
            } finally {
                ON_WORKER.set(false);
                if (!state.compareAndSet(RUNNING, DONE)) {
                    ABANDONED_NOW.decrementAndGet();
                }
            }
        });
        try {
            return future.get(Math.max(1, deadline.toNanos()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            if (abandon(state)) {
                throw MountException.timeout(operation, path, deadline);
            }
            return finished(future);
        } catch (InterruptedException e) {
            abandon(state);
            Thread.currentThread().interrupt();
            InterruptedIOException interrupted = new InterruptedIOException(operation + " of " + path
                    + " was interrupted while waiting");
            interrupted.initCause(e);
            throw interrupted;
        } catch (ExecutionException e) {
            throw unwrap(e);
        }
    }

    /** How many abandoned calls are still blocked right now (for metrics and tests). */
    public static int abandonedNow() {
        return ABANDONED_NOW.get();
    }

    private static boolean abandon(AtomicInteger state) {
        if (state.compareAndSet(RUNNING, ABANDONED)) {
            ABANDONED_NOW.incrementAndGet();
            return true;
        }
        return false;
    }

    private static <T> T finished(Future<T> future) throws IOException {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted");
        } catch (ExecutionException e) {
            throw unwrap(e);
        }
    }

    private static IOException unwrap(ExecutionException e) {
        Throwable cause = e.getCause();
        if (cause instanceof IOException io) {
            return io;
        }
        if (cause instanceof RuntimeException runtime) {
            throw runtime;
        }
        if (cause instanceof Error error) {
            throw error;
        }
        return new IOException(cause);
    }
}
