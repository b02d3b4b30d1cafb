package io.gatewaycsi.nfs;

import java.time.Duration;
import java.util.Objects;

/**
 * How a {@link NfsSession} talks to its gateway.
 *
 * @param timeout the deadline of one call (DESIGN §5: every call has one). It bounds, separately: the wait
 *     for a free libnfs context, connecting and mounting a new context, and each RPC (libnfs
 *     {@code nfs_set_timeout}, in milliseconds; libnfs checks it every 100 ms). A call whose RPC sees no reply
 *     within it fails with {@code ETIMEDOUT} and its context is destroyed and replaced. 100 ms to 24 h;
 *     default 30 s. (nfs(5) {@code timeo} counts deciseconds: {@code timeo=600} is {@code ofSeconds(60)}.)
 * @param maxContexts the most libnfs contexts (TCP connections, and NFSv4 clients) the session opens; they
 *     are opened lazily, one per concurrent caller. 1–64; default 8.
 * @param uid the user id presented to the gateway in AUTH_SYS credentials (libnfs {@code nfs_set_uid}), or
 *     {@link #PROCESS_ID} for this process's own; default {@link #PROCESS_ID}
 * @param gid the group id presented likewise (libnfs {@code nfs_set_gid}), or {@link #PROCESS_ID}
 * @param readaheadBytes libnfs read-ahead per open file in bytes (libnfs {@code nfs_set_readahead}), 0 for
 *     none (default). libnfs 4.0 implements read-ahead for NFSv3 only; NFSv4 ignores it.
 */
public record NfsSessionOptions(Duration timeout, int maxContexts, int uid, int gid, int readaheadBytes) {
    /** For {@link #uid} and {@link #gid}: present this process's own id. */
    public static final int PROCESS_ID = -1;

    private static final NfsSessionOptions DEFAULTS =
            new NfsSessionOptions(Duration.ofSeconds(30), 8, PROCESS_ID, PROCESS_ID, 0);

    /**
     * Validates the components.
     *
     * @throws IllegalArgumentException naming the bad component and its valid range
     */
    public NfsSessionOptions {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.compareTo(Duration.ofMillis(100)) < 0 || timeout.compareTo(Duration.ofHours(24)) > 0) {
            throw new IllegalArgumentException("NFS timeout " + timeout + " is out of range (100 ms to 24 h)");
        }
        if (maxContexts < 1 || maxContexts > 64) {
            throw new IllegalArgumentException("maxContexts " + maxContexts + " is out of range (1-64)");
        }
        if (uid < PROCESS_ID) {
            throw new IllegalArgumentException("uid " + uid + " is invalid (>= 0, or -1 for this process's)");
        }
        if (gid < PROCESS_ID) {
            throw new IllegalArgumentException("gid " + gid + " is invalid (>= 0, or -1 for this process's)");
        }
        if (readaheadBytes < 0) {
            throw new IllegalArgumentException("readaheadBytes " + readaheadBytes + " is negative");
        }
    }

    /** 30 s timeout, 8 contexts, this process's uid and gid, no read-ahead. */
    public static NfsSessionOptions defaults() {
        return DEFAULTS;
    }

    /** A copy with another {@link #timeout}. */
    public NfsSessionOptions withTimeout(Duration newTimeout) {
        return new NfsSessionOptions(newTimeout, maxContexts, uid, gid, readaheadBytes);
    }

    /** A copy with another {@link #maxContexts}. */
    public NfsSessionOptions withMaxContexts(int newMaxContexts) {
        return new NfsSessionOptions(timeout, newMaxContexts, uid, gid, readaheadBytes);
    }

    /** A copy presenting other credentials ({@link #PROCESS_ID} for this process's own). */
    public NfsSessionOptions withCredentials(int newUid, int newGid) {
        return new NfsSessionOptions(timeout, maxContexts, newUid, newGid, readaheadBytes);
    }

    /** A copy with another {@link #readaheadBytes}. */
    public NfsSessionOptions withReadaheadBytes(int newReadaheadBytes) {
        return new NfsSessionOptions(timeout, maxContexts, uid, gid, newReadaheadBytes);
    }
}
