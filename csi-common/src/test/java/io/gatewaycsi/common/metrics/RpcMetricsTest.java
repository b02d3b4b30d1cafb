package io.gatewaycsi.common.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gatewaycsi.common.CsiChannels;
import io.gatewaycsi.common.CsiException;
import io.gatewaycsi.common.CsiServer;
import io.gatewaycsi.common.Endpoint;
import io.gatewaycsi.common.Rpcs;
import io.gatewaycsi.common.testing.Scrape;
import io.gatewaycsi.csi.v1.GetPluginInfoRequest;
import io.gatewaycsi.csi.v1.GetPluginInfoResponse;
import io.gatewaycsi.csi.v1.IdentityGrpc;
import io.gatewaycsi.csi.v1.ProbeRequest;
import io.gatewaycsi.csi.v1.ProbeResponse;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The RPC interceptor and the /metrics endpoint, over a real unix-socket server and a real HTTP scrape. */
class RpcMetricsTest {

    @TempDir
    Path dir;

    /** Answers GetPluginInfo; Probe fails with FAILED_PRECONDITION. */
    static final class Identity extends IdentityGrpc.IdentityImplBase {
        @Override
        public void getPluginInfo(GetPluginInfoRequest request, StreamObserver<GetPluginInfoResponse> responses) {
            Rpcs.unary(responses, () -> GetPluginInfoResponse.newBuilder().setName("x.example.com").build());
        }

        @Override
        public void probe(ProbeRequest request, StreamObserver<ProbeResponse> responses) {
            Rpcs.unary(responses, () -> {
                throw CsiException.failedPrecondition("not ready");
            });
        }
    }

    @Test
    void countsAndTimesCallsByServiceMethodAndCodeAndServesThemOverHttp() throws Exception {
        PrometheusRegistry registry = new PrometheusRegistry();
        RpcMetrics metrics = RpcMetrics.register(registry);
        Path socket = dir.resolve("csi.sock");
        try (CsiServer ignored = CsiServer.start(Endpoint.parse("unix://" + socket), List.of(new Identity()), metrics);
             MetricsServer http = MetricsServer.start("127.0.0.1:0", registry)) {
            ManagedChannel channel = CsiChannels.open(Endpoint.parse("unix://" + socket));
            try {
                IdentityGrpc.IdentityBlockingStub stub = IdentityGrpc.newBlockingStub(channel);
                stub.getPluginInfo(GetPluginInfoRequest.getDefaultInstance());
                stub.getPluginInfo(GetPluginInfoRequest.getDefaultInstance());
                assertThatThrownBy(() -> stub.probe(ProbeRequest.getDefaultInstance()))
                        .isInstanceOf(StatusRuntimeException.class);
            } finally {
                CsiChannels.close(channel);
            }
            assertThat(http.address()).isEqualTo("127.0.0.1:" + http.port());
            Scrape scrape = Scrape.of(http.address());
            assertThat(scrape.sum("gatewaycsi_rpc_duration_seconds_count", "service", "csi.v1.Identity",
                    "method", "GetPluginInfo", "code", "OK")).isEqualTo(2);
            assertThat(scrape.sum("gatewaycsi_rpc_duration_seconds_count", "method", "Probe",
                    "code", "FAILED_PRECONDITION")).isEqualTo(1);
            assertThat(scrape.sum("gatewaycsi_rpc_duration_seconds_bucket", "method", "GetPluginInfo", "code", "OK",
                    "le", "+Inf")).isEqualTo(2);
            assertThat(scrape.sum("gatewaycsi_rpc_duration_seconds_sum", "method", "GetPluginInfo")).isPositive();
            assertThat(scrape.sum("gatewaycsi_build_info")).isEqualTo(1);
            assertThat(scrape.text()).contains("# TYPE gatewaycsi_rpc_duration_seconds histogram");
        }
    }

    @Test
    void parsesMetricsAddresses() {
        assertThat(MetricsServer.parseAddress("127.0.0.1:9811")).isEqualTo(new MetricsServer.HostPort("127.0.0.1", 9811));
        assertThat(MetricsServer.parseAddress(":9811")).isEqualTo(new MetricsServer.HostPort("", 9811));
        assertThat(MetricsServer.parseAddress("[::1]:0")).isEqualTo(new MetricsServer.HostPort("::1", 0));
        for (String bad : new String[] {"9811", "host:port", "::1:80", "h:70000", ""}) {
            assertThatThrownBy(() -> MetricsServer.parseAddress(bad)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("host:port");
        }
    }

    @Test
    void aTakenPortIsAOneLineError() throws Exception {
        PrometheusRegistry registry = new PrometheusRegistry();
        try (MetricsServer first = MetricsServer.start("127.0.0.1:0", registry)) {
            assertThatThrownBy(() -> MetricsServer.start("127.0.0.1:" + first.port(), new PrometheusRegistry()))
                    .hasMessageContaining("cannot serve metrics on 127.0.0.1:" + first.port())
                    .hasMessageContaining("port is free");
        }
    }
}
