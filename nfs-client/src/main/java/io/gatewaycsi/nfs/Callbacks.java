package io.gatewaycsi.nfs;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Routes libnfs completion callbacks to Java. Each asynchronous call registers a {@link Completion} under a
 * fresh ticket and passes the ticket as libnfs's {@code private_data}; the single upcall stub looks it up.
 * libnfs only calls back from inside {@code nfs_service}/{@code nfs_destroy_context}, i.e. on the thread
 * that drives the context. A ticket is forgotten when its call ends, however it ends, so a late callback
 * (a PDU purged when a context is destroyed) finds nothing and is ignored.
 */
final class Callbacks {
    /** Receives one callback. Runs inside a native upcall: must not throw (it is guarded anyway). */
    interface Completion {
        /**
         * @param status libnfs's status: {@code >= 0} success (for reads and writes, the byte count), or a
         *     negative errno for nfs_cb; for rpc_cb the RPC_STATUS_* value
         * @param data the callback's data pointer (zero-length segment; valid only during this call)
         */
        void complete(int status, MemorySegment data);
    }

    private static final ConcurrentHashMap<Long, Completion> PENDING = new ConcurrentHashMap<>();
    private static final AtomicLong NEXT = new AtomicLong(1);

    private Callbacks() {
    }

    /** Registers a completion; returns the private_data pointer to hand to libnfs. */
    static MemorySegment register(Completion c) {
        long id = NEXT.getAndIncrement();
        PENDING.put(id, c);
        return MemorySegment.ofAddress(id);
    }

    static void forget(MemorySegment ticket) {
        PENDING.remove(ticket.address());
    }

    /** Number of registered completions (for tests: must return to 0 between calls). */
    static int pending() {
        return PENDING.size();
    }

    /** Target of the nfs_cb upcall stub. */
    static void onNfs(int err, MemorySegment nfs, MemorySegment data, MemorySegment privateData) {
        try {
            Completion c = PENDING.remove(privateData.address());
            if (c != null) {
                c.complete(err, data);
            }
        } catch (Throwable t) {
            // An exception must never unwind into libnfs (it would crash the JVM).
        }
    }

    /** Target of the rpc_cb upcall stub. */
    static void onRpc(MemorySegment rpc, int status, MemorySegment data, MemorySegment privateData) {
        try {
            Completion c = PENDING.remove(privateData.address());
            if (c != null) {
                c.complete(status, data);
            }
        } catch (Throwable t) {
            // see onNfs
        }
    }
}
