package io.gatewaycsi.common;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** /healthz over real HTTP, answered from the real Probe RPC of a real CSI server on a unix socket. */
class HealthServerTest {

    @TempDir
    Path dir;

    private final AtomicBoolean ready = new AtomicBoolean(true);
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private Endpoint endpoint;
    private CsiServer csi;
    private HealthServer health;

    @BeforeEach
    void start() throws IOException {
        endpoint = Endpoint.parse("unix://" + dir.resolve("csi.sock"));
        csi = CsiServer.start(endpoint, List.of(new IdentityService("nfs.gateway-csi.io", "1", false, ready::get)));
        // A deadline for a busy machine: what is tested is the answer, not its speed.
        health = HealthServer.start("127.0.0.1:0", endpoint, Duration.ofSeconds(60));
    }

    @AfterEach
    void stop() {
        health.close();
        if (csi != null) {
            csi.close();
        }
    }

    private HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + health.port() + path))
                .timeout(Duration.ofSeconds(90)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void okWhileProbeSaysReady() throws Exception {
        HttpResponse<String> response = get("/healthz");
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).isEqualTo("ok\n");
    }

    @Test
    void unavailableWhenProbeSaysNotReady() throws Exception {
        ready.set(false);
        HttpResponse<String> response = get("/healthz");
        assertThat(response.statusCode()).isEqualTo(503);
        assertThat(response.body()).contains("ready=false");
    }

    @Test
    void unavailableWhenTheCsiServerIsGone() throws Exception {
        csi.close();
        csi = null;
        HttpResponse<String> response = get("/healthz");
        assertThat(response.statusCode()).isEqualTo(503);
        assertThat(response.body()).startsWith("Probe failed: UNAVAILABLE");
    }

    @Test
    void otherPathsAreNotFound() throws Exception {
        assertThat(get("/metrics").statusCode()).isEqualTo(404);
    }
}
