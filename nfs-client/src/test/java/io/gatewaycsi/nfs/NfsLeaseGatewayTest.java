package io.gatewaycsi.nfs;

import static org.assertj.core.api.Assertions.assertThat;

import io.gatewaycsi.nfs.testing.TestGateway;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
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
 * NFSv4 leases that expired during a partition (issue 19.3), against a private gateway whose lease is 3 s
 * ({@code GATEWAY_LEASE_LIFETIME}): after the link returns, every context of the session holds state the
 * gateway has dropped ({@code NFS4ERR_EXPIRED}, {@code NFS4ERR_STALE_CLIENTID}); calls re-establish it on
 * fresh contexts and succeed, however many stale contexts the pool holds.
 */
class NfsLeaseGatewayTest {
    private static final int CONTEXTS = 8;
    private static TestGateway gw;

    @BeforeAll
    static void start() {
        gw = TestGateway.startPrivate("nfsc-lease", "10.213.79.0/30", Map.of("GATEWAY_LEASE_LIFETIME", "3"));
    }

    @AfterAll
    static void stop() {
        if (gw != null) {
            gw.close();
        }
    }

    @Test
    void callsAfterAPartitionLongerThanTheLeaseReestablishStateAndSucceed() throws Exception {
        String dir = gw.freshDir("lease");
        try (NfsSession session = NfsClient.libnfs().connect(gw.target(),
                NfsSessionOptions.defaults().withTimeout(Duration.ofSeconds(5)).withMaxContexts(CONTEXTS))) {
            // Callers in parallel, each opening files (NFSv4 state) in turn, until the pool holds several contexts.
            ExecutorService callers = Executors.newFixedThreadPool(CONTEXTS);
            try {
                for (int round = 0; round < 10 && ((LibnfsSession) session).contextCount() < CONTEXTS / 2; round++) {
                    List<Future<?>> opened = new ArrayList<>();
                    for (int i = 0; i < CONTEXTS; i++) {
                        String path = dir + "/before-" + round + "-" + i;
                        opened.add(callers.submit(() -> {
                            try (NfsFile file = session.create(path, OpenFlags.O_RDWR | OpenFlags.O_EXCL, 0644)) {
                                file.pwrite(0, ByteBuffer.wrap(new byte[256 << 10]));
                            }
                            return null;
                        }));
                    }
                    for (Future<?> f : opened) {
                        f.get(60, TimeUnit.SECONDS);
                    }
                }
            } finally {
                callers.shutdownNow();
            }
            int contexts = ((LibnfsSession) session).contextCount();
            assertThat(contexts).as("contexts in the pool").isGreaterThanOrEqualTo(CONTEXTS / 2);

            gw.cutLink("gateway");
            try {
                Thread.sleep(TimeUnit.SECONDS.toMillis(12)); // four leases: the gateway expires the clients
            } finally {
                gw.restoreLink();
            }

            for (int i = 0; i < 2 * contexts; i++) {
                String path = dir + "/after-" + i;
                try (NfsFile file = session.create(path, OpenFlags.O_RDWR | OpenFlags.O_EXCL, 0644)) {
                    file.pwrite(0, ByteBuffer.wrap(("after " + i).getBytes(StandardCharsets.UTF_8)));
                }
                assertThat(session.lstat(path).size()).isEqualTo(("after " + i).length());
            }
        }
    }
}
