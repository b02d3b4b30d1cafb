package io.gatewaycsi.mounthelper;

import io.gatewaycsi.nfs.Errno;
import io.gatewaycsi.nfs.NfsSession;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntSupplier;

/**
 * The mount helper's metrics. The FUSE path is hot, so every series it touches is bound once (per operation,
 * per errno) and an operation costs two {@link System#nanoTime()} calls and client_java's own bookkeeping:
 * <ul>
 *   <li>{@code gatewaycsi_fuse_operation_duration_seconds{operation}} histogram: time spent in each FUSE
 *   operation ({@link FuseOp}), gateway round trips and retries included;</li>
 *   <li>{@code gatewaycsi_fuse_read_bytes_total}, {@code gatewaycsi_fuse_write_bytes_total}: bytes returned
 *   to readers and accepted from writers through FUSE (all mounts);</li>
 *   <li>{@code gatewaycsi_nfs_errors_total{errno}}: failed gateway calls by errno name ({@code ENOENT},
 *   {@code ETIMEDOUT}, {@code ECONNREFUSED}…; NFS status codes arrive mapped to their errno), transport
 *   failures that were retried included;</li>
 *   <li>{@code gatewaycsi_nfs_reconnects_total}: gateway connections opened to replace a failed one
 *   ({@link NfsSession#reconnects()}, summed over every session this process had);</li>
 *   <li>{@code gatewaycsi_helper_mounts}: staging mounts served now.</li>
 * </ul>
 */
public final class HelperMetrics {

    /** Upper bounds in seconds: cached getattr (µs) to a hard mount waiting out a gateway restart. */
    private static final double[] BOUNDS = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
        0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
    private static final int MAX_ERRNO = 256;

    private final DistributionDataPoint[] durations = new DistributionDataPoint[FuseOp.values().length];
    private final CounterDataPoint readBytes;
    private final CounterDataPoint writeBytes;
    private final Counter nfsErrors;
    private final AtomicReferenceArray<CounterDataPoint> errnos = new AtomicReferenceArray<>(MAX_ERRNO + 1);
    private final Set<NfsSession> sessions = ConcurrentHashMap.newKeySet();
    private final LongAdder closedSessionReconnects = new LongAdder();
    private volatile IntSupplier mounts = () -> 0;

    private HelperMetrics(PrometheusRegistry registry) {
        Histogram duration = Histogram.builder().name("gatewaycsi_fuse_operation_duration_seconds").unit(Unit.SECONDS)
                .help("Time spent in FUSE operations of the mount helper, by operation (gateway calls and retries"
                        + " included).")
                .labelNames("operation").classicOnly().classicUpperBounds(BOUNDS).withoutExemplars()
                .register(registry);
        for (FuseOp op : FuseOp.values()) {
            durations[op.ordinal()] = duration.labelValues(op.label());
        }
        readBytes = Counter.builder().name("gatewaycsi_fuse_read_bytes_total").unit(Unit.BYTES)
                .help("Bytes read through the mount helper's FUSE mounts.").withoutExemplars().register(registry);
        writeBytes = Counter.builder().name("gatewaycsi_fuse_write_bytes_total").unit(Unit.BYTES)
                .help("Bytes written through the mount helper's FUSE mounts.").withoutExemplars().register(registry);
        nfsErrors = Counter.builder().name("gatewaycsi_nfs_errors_total")
                .help("Failed gateway calls of the mount helper by errno (NFS status codes mapped to errno),"
                        + " retried transport failures included.")
                .labelNames("errno").withoutExemplars().register(registry);
        CounterWithCallback.builder().name("gatewaycsi_nfs_reconnects_total")
                .help("Gateway connections the mount helper opened to replace a failed one (timed out, broken,"
                        + " or its NFSv4 state lost).")
                .callback(callback -> {
                    long total = closedSessionReconnects.sum();
                    for (NfsSession session : sessions) {
                        total += session.reconnects();
                    }
                    callback.call(total);
                })
                .register(registry);
        GaugeWithCallback.builder().name("gatewaycsi_helper_mounts")
                .help("Staging mounts the mount helper serves now.")
                .callback(callback -> callback.call(mounts.getAsInt()))
                .register(registry);
    }

    /** The helper's metrics, registered in {@code registry}. */
    public static HelperMetrics register(PrometheusRegistry registry) {
        return new HelperMetrics(registry);
    }

    /** Metrics in no registry (metrics off, tests). */
    public static HelperMetrics unregistered() {
        return new HelperMetrics(new PrometheusRegistry());
    }

    /** Records one FUSE operation that started at {@code startNanos} ({@link System#nanoTime()}). */
    void operation(FuseOp op, long startNanos) {
        durations[op.ordinal()].observe((System.nanoTime() - startNanos) / 1e9);
    }

    void read(long bytes) {
        if (bytes > 0) {
            readBytes.inc(bytes);
        }
    }

    void written(long bytes) {
        if (bytes > 0) {
            writeBytes.inc(bytes);
        }
    }

    /** Counts a failed gateway call. */
    void nfsError(int errno) {
        int index = errno > 0 && errno < MAX_ERRNO ? errno : MAX_ERRNO;
        CounterDataPoint point = errnos.get(index);
        if (point == null) {
            String name = Errno.name(errno);
            point = nfsErrors.labelValues(index == MAX_ERRNO || name.startsWith("errno ") ? "other" : name);
            errnos.compareAndSet(index, null, point);
        }
        point.inc();
    }

    /** A gateway session of a mount opened: its reconnects count from now on. */
    void sessionOpened(NfsSession session) {
        sessions.add(session);
    }

    /** A gateway session closed: its reconnects are kept in the total. */
    void sessionClosed(NfsSession session) {
        if (sessions.remove(session)) {
            closedSessionReconnects.add(session.reconnects());
        }
    }

    /** Where the mount gauge reads the number of mounts served. */
    void countMountsWith(IntSupplier count) {
        mounts = count;
    }
}
