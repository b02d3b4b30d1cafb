package io.gatewaycsi.mounthelper;

import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * Whether a mount's gateway answered recently: the outcome of the most recent gateway call on the mount
 * (file system operations and the periodic probe of {@link GatewayMount}) and when it happened. Thread-safe.
 */
final class GatewayHealth {
    private final LongSupplier nanoClock;
    private final long freshNanos;
    private long lastAnswerNanos;
    private long lastFailureNanos;
    private boolean answeredEver;
    private boolean failedEver;

    /**
     * @param fresh how long an answer counts as recent
     * @param nanoClock {@link System#nanoTime()} outside tests
     */
    GatewayHealth(Duration fresh, LongSupplier nanoClock) {
        this.nanoClock = nanoClock;
        this.freshNanos = fresh.toNanos();
    }

    /** The gateway answered a call (success or a file system error such as ENOENT). */
    synchronized void answered() {
        lastAnswerNanos = nanoClock.getAsLong();
        answeredEver = true;
    }

    /** A call found the gateway unreachable (timeout, lost connection). */
    synchronized void unreachable() {
        lastFailureNanos = nanoClock.getAsLong();
        failedEver = true;
    }

    /** True when the most recent call got an answer and that answer is at most {@code fresh} old. */
    synchronized boolean healthy() {
        if (!answeredEver) {
            return false;
        }
        if (failedEver && lastFailureNanos - lastAnswerNanos > 0) {
            return false;
        }
        return nanoClock.getAsLong() - lastAnswerNanos <= freshNanos;
    }

    /** Nanoseconds since the last answer, or {@link Long#MAX_VALUE} if none yet. */
    synchronized long nanosSinceAnswer() {
        return answeredEver ? nanoClock.getAsLong() - lastAnswerNanos : Long.MAX_VALUE;
    }
}
