package io.gatewaycsi.common.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs gRPC calls with hostile input and checks each one: it answers one of the codes allowed for it and
 * returns within a bound. Counts the calls and keeps every error description (to check that no secret ever
 * shows in one). Safe for concurrent use.
 */
public final class CheckedCalls {

    private final Duration bound;
    private final AtomicInteger count = new AtomicInteger();
    private final List<String> errors = new CopyOnWriteArrayList<>();

    /** @param bound the longest any call may take */
    public CheckedCalls(Duration bound) {
        this.bound = bound;
    }

    /**
     * Runs {@code body} (one blocking-stub call of RPC {@code method}) and returns its status code.
     *
     * @throws AssertionError when the code is not in {@code allowed} or the call took {@code bound} or longer
     */
    public Status.Code call(String method, Set<Status.Code> allowed, Runnable body) {
        count.incrementAndGet();
        long started = System.nanoTime();
        Status.Code code;
        String description = null;
        try {
            body.run();
            code = Status.Code.OK;
        } catch (StatusRuntimeException e) {
            code = e.getStatus().getCode();
            description = e.getStatus().getDescription();
            errors.add(String.valueOf(description));
        }
        assertThat(Duration.ofNanos(System.nanoTime() - started)).as(method + " returned within its bound")
                .isLessThan(bound);
        assertThat(allowed).as(method + " answered " + code + ": " + description).contains(code);
        return code;
    }

    /** How many calls ran. */
    public int count() {
        return count.get();
    }

    /** The descriptions of every error answered, in order. */
    public List<String> errors() {
        return List.copyOf(errors);
    }
}
