package io.gatewaycsi.mounthelper;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Runs a possibly blocking call (a system call on a FUSE mount point, a native library call) on its own
 * platform daemon thread and waits for it at most a deadline (DESIGN §5: every such call has one and runs
 * off the gRPC thread). Platform threads, not virtual ones: a native call pins a virtual thread's carrier.
 * A call that overruns keeps running on its thread until it returns by itself; the caller has moved on.
 */
final class Blocking {
    private static final AtomicInteger COUNT = new AtomicInteger();

    private Blocking() {
    }

    /** A call that may throw anything. */
    @FunctionalInterface
    interface Call<T> {
        T call() throws Exception;
    }

    /**
     * Runs {@code call} and returns its result.
     *
     * @param what names the call, for the thread and the timeout message
     * @param deadline how long to wait
     * @throws TimeoutException if it did not finish in time (it keeps running)
     * @throws Exception whatever {@code call} threw
     */
    static <T> T call(String what, Duration deadline, Call<T> call) throws Exception {
        return call(what, deadline, call, null);
    }

    /**
     * Like {@link #call(String, Duration, Call)}; if the call overruns but succeeds later, its result goes to
     * {@code lateResult} (to release what nobody waits for any more: a session, a mount).
     */
    static <T> T call(String what, Duration deadline, Call<T> call, Consumer<T> lateResult) throws Exception {
        CompletableFuture<T> result = new CompletableFuture<>();
        Thread.ofPlatform().daemon().name("blocking-" + COUNT.incrementAndGet() + " " + what).start(() -> {
            try {
                result.complete(call.call());
            } catch (Throwable t) {
                result.completeExceptionally(t);
            }
        });
        try {
            return result.get(Math.max(1, deadline.toNanos()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            if (lateResult != null) {
                result.thenAccept(lateResult);
            }
            throw new TimeoutException(what + " did not finish within " + deadline);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof Exception ex) {
                throw ex;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw e;
        }
    }
}
