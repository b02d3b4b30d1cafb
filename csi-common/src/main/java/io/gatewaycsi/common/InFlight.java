package io.gatewaycsi.common;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The set of objects (volume names, volume IDs, target paths) with an operation in flight. A second
 * operation on the same key fails at once with ABORTED, as the CSI spec asks ("Concurrency": the plugin
 * SHOULD return ABORTED for an operation pending on the same volume); different keys never wait on each
 * other.
 */
public final class InFlight {

    private final Set<String> keys = ConcurrentHashMap.newKeySet();

    /** A held key; closing it lets the next operation on the key in. */
    public interface Lock extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Marks {@code key} busy for {@code operation} until the returned lock is closed.
     *
     * @throws CsiException ABORTED when an operation on {@code key} is already in flight
     */
    public Lock acquire(String key, String operation) {
        if (!keys.add(key)) {
            throw CsiException.aborted("an operation on `" + key + "` is already in flight; " + operation
                    + " will be retried by the caller");
        }
        return () -> keys.remove(key);
    }
}
