package io.gatewaycsi.controller;

import static io.gatewaycsi.common.testing.StatusCodes.codeOf;
import static org.assertj.core.api.Assertions.assertThat;

import io.gatewaycsi.csi.v1.ControllerGrpc;
import io.gatewaycsi.csi.v1.DeleteVolumeRequest;
import io.gatewaycsi.nfs.NfsSessionOptions;
import io.gatewaycsi.nfs.testing.TestGateway;
import io.grpc.Status;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * DeleteVolume after a partition longer than the gateway's NFSv4 lease (issue 19.3), against a private
 * gateway (link cuts would disturb other tests) whose lease is 3 s: the controller's pooled connections all
 * hold state the gateway has dropped ({@code NFS4ERR_EXPIRED}); every DeleteVolume after the link returns
 * answers OK, none INTERNAL.
 */
class ControllerLeaseGatewayTest {

    private static final int CALLERS = 8;
    private static TestGateway gw;

    @BeforeAll
    static void start() {
        gw = TestGateway.startPrivate("ctl-lease", "10.213.80.0/30", Map.of("GATEWAY_LEASE_LIFETIME", "3"));
    }

    @AfterAll
    static void stop() {
        if (gw != null) {
            gw.close();
        }
    }

    @Test
    void deleteVolumeAfterAPartitionLongerThanTheLeaseAnswersOk() throws Exception {
        String area = "lease-" + java.util.UUID.randomUUID().toString().substring(0, 8);
        try (InProcessController driver = new InProcessController(NfsSessionOptions.defaults()
                .withTimeout(Duration.ofSeconds(5)).withMaxContexts(CALLERS))) {
            ControllerGrpc.ControllerBlockingStub controller = driver.stub;
            // Volumes created in parallel, so that the controller's pool holds several connections.
            List<String> ids = new ArrayList<>();
            ExecutorService callers = Executors.newFixedThreadPool(CALLERS);
            try {
                List<Future<String>> created = new ArrayList<>();
                for (int i = 0; i < 3 * CALLERS; i++) {
                    String name = "pv-" + i;
                    created.add(callers.submit(() -> controller.createVolume(VolumeRequests.of(gw, name,
                            area + "/${pv.metadata.name}").build()).getVolume().getVolumeId()));
                }
                for (Future<String> f : created) {
                    ids.add(f.get(60, TimeUnit.SECONDS));
                }
            } finally {
                callers.shutdownNow();
            }

            gw.cutLink("gateway");
            try {
                Thread.sleep(TimeUnit.SECONDS.toMillis(12)); // four leases: the gateway expires the controller
            } finally {
                gw.restoreLink();
            }

            for (String id : ids) {
                assertThat(codeOf(() -> controller.deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId(id)
                        .build()))).as("DeleteVolume %s", id).isEqualTo(Status.Code.OK);
            }
            try (var left = Files.list(gw.local("/" + area))) {
                assertThat(left).isEmpty();
            } catch (java.nio.file.NoSuchFileException gone) {
                // the area was a parent made for the volumes: removed with the last one
            }
        }
    }
}
