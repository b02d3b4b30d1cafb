package io.gatewaycsi.bench;

import io.gatewaycsi.nfs.NfsClient;
import io.gatewaycsi.nfs.NfsException;
import io.gatewaycsi.nfs.NfsFile;
import io.gatewaycsi.nfs.NfsSession;
import io.gatewaycsi.nfs.NfsSessionOptions;
import io.gatewaycsi.nfs.NfsTarget;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An {@link NfsClient} that counts the calls made on its sessions and their open files (path operations,
 * reads, writes, fsyncs, closes), the time spent in them and how many are in flight at once: how many gateway calls one CreateVolume
 * costs, and how many a server actually keeps running in parallel. The counting is a few atomic operations per
 * call, the same for the gRPC side and the raw side.
 */
final class CountingNfsClient implements NfsClient {

    private static final Set<String> NOT_CALLS = Set.of("target", "options", "path", "flags", "toString",
            "hashCode", "equals");

    private final NfsClient real;
    private final AtomicLong calls = new AtomicLong();
    private final AtomicLong nanosInCalls = new AtomicLong();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicInteger maxInFlight = new AtomicInteger();

    CountingNfsClient(NfsClient real) {
        this.real = real;
    }

    @Override
    public NfsSession connect(NfsTarget target, NfsSessionOptions options) throws NfsException {
        return wrap(real.connect(target, options), NfsSession.class);
    }

    long calls() {
        return calls.get();
    }

    /** Nanoseconds spent inside counted calls, summed over callers (with one caller: its time waiting on them). */
    long nanosInCalls() {
        return nanosInCalls.get();
    }

    /** The most calls in flight at once since the last reset. */
    int maxInFlight() {
        return maxInFlight.get();
    }

    void resetMax() {
        maxInFlight.set(inFlight.get());
    }

    private <T> T wrap(T target, Class<T> type) {
        Object proxy = Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, (self, method, args) -> {
            boolean counted = !NOT_CALLS.contains(method.getName()) && !method.getName().equals("close")
                    || type == NfsFile.class && method.getName().equals("close");
            long started = 0;
            if (counted) {
                calls.incrementAndGet();
                maxInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
                started = System.nanoTime();
            }
            try {
                Object result = method.invoke(target, args);
                if (result instanceof NfsFile file) {
                    return wrap(file, NfsFile.class);
                }
                return result;
            } catch (InvocationTargetException e) {
                throw e.getCause();
            } finally {
                if (counted) {
                    nanosInCalls.addAndGet(System.nanoTime() - started);
                    inFlight.decrementAndGet();
                }
            }
        });
        return type.cast(proxy);
    }
}
