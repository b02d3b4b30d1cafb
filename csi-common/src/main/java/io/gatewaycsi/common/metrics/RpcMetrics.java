package io.gatewaycsi.common.metrics;

import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.ForwardingServerCallListener.SimpleForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Times every gRPC call a {@link io.gatewaycsi.common.CsiServer} serves:
 * {@code gatewaycsi_rpc_duration_seconds{service, method, code}}, a histogram of the time from the call's
 * arrival to its status, by gRPC service ({@code csi.v1.Node}, {@code gatewaycsi.mounthelper.v1.MountHelper},
 * …), bare method name ({@code NodeStageVolume}) and status code name ({@code OK}, {@code ABORTED}, …). Its
 * {@code _count} series is the number of calls by method and code. A call the client cancels before it
 * completes is counted with code {@code CANCELLED}. Labels come from the fixed sets of methods and codes.
 */
public final class RpcMetrics implements ServerInterceptor {

    /** The histogram's name (without the {@code _bucket}/{@code _count}/{@code _sum} suffixes). */
    public static final String DURATION = "gatewaycsi_rpc_duration_seconds";

    /** Upper bounds in seconds: from polled calls (ms) to mounts that wait out their deadline (minutes). */
    private static final double[] BOUNDS = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
        120, 300};

    private final Histogram duration;

    private RpcMetrics(Histogram duration) {
        this.duration = duration;
    }

    /** The interceptor with its histogram registered in {@code registry}. */
    public static RpcMetrics register(PrometheusRegistry registry) {
        return new RpcMetrics(Histogram.builder().name(DURATION).unit(Unit.SECONDS)
                .help("Duration of gRPC calls served (CSI and mount helper), by service, method and status code;"
                        + " _count is the number of calls.")
                .labelNames("service", "method", "code").classicOnly().classicUpperBounds(BOUNDS)
                .withoutExemplars().register(registry));
    }

    /** An interceptor whose histogram is in no registry (metrics off, tests). */
    public static RpcMetrics unregistered() {
        return register(new PrometheusRegistry());
    }

    /** The data point of one service, method and code (for tests). */
    DistributionDataPoint dataPoint(String service, String method, Status.Code code) {
        return duration.labelValues(service, method, code.name());
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                      ServerCallHandler<Q, R> next) {
        long started = System.nanoTime();
        String service = call.getMethodDescriptor().getServiceName();
        String method = call.getMethodDescriptor().getBareMethodName();
        AtomicBoolean recorded = new AtomicBoolean();
        ServerCall<Q, R> timed = new SimpleForwardingServerCall<>(call) {
            @Override
            public void close(Status status, Metadata trailers) {
                if (recorded.compareAndSet(false, true)) {
                    observe(service, method, status.getCode(), started);
                }
                super.close(status, trailers);
            }
        };
        return new SimpleForwardingServerCallListener<>(next.startCall(timed, headers)) {
            @Override
            public void onCancel() {
                if (recorded.compareAndSet(false, true)) {
                    observe(service, method, Status.Code.CANCELLED, started);
                }
                super.onCancel();
            }
        };
    }

    private void observe(String service, String method, Status.Code code, long started) {
        duration.labelValues(service == null ? "" : service, method == null ? "" : method, code.name())
                .observe((System.nanoTime() - started) / 1e9);
    }
}
