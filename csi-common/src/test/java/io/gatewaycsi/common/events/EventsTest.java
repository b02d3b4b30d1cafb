package io.gatewaycsi.common.events;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.gatewaycsi.common.testing.Scrape;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Events against fabric8's mock API server in CRUD mode, and without one. */
@EnableKubernetesMockClient(crud = true)
class EventsTest {

    KubernetesMockServer server;
    KubernetesClient client;

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final List<String> logged = new ArrayList<>();
    private final Logger logger = Logger.getLogger(Events.class.getName());
    private final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord record) {
            synchronized (logged) {
                logged.add(record.getMessage() != null ? record.getMessage() : String.valueOf(record.getParameters()));
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    @BeforeEach
    void captureLog() {
        logger.addHandler(capture);
    }

    @AfterEach
    void stopCapture() {
        logger.removeHandler(capture);
    }

    private KubernetesEventPublisher publisher() {
        // Its own client: the publisher closes it, the extension closes the injected one.
        return new KubernetesEventPublisher(new KubernetesClientBuilder().withConfig(client.getConfiguration()).build(),
                "gateway-csi-node", "node-1");
    }

    private List<Event> eventsIn(String namespace, int atLeast) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        List<Event> events;
        do {
            events = client.v1().events().inNamespace(namespace).list().getItems();
            if (events.size() >= atLeast) {
                return events;
            }
            Thread.sleep(50);
        } while (System.nanoTime() < end);
        return events;
    }

    private double outcome(String reason, String result) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            PrometheusTextFormatWriter.create().write(out, registry.scrape());
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
        return Scrape.parse(out.toString(StandardCharsets.UTF_8)).sum("gatewaycsi_events_total", "reason", reason,
                "result", result);
    }

    @Test
    void anEventReachesTheApiServerOnTheInvolvedPod() throws Exception {
        try (Events events = Events.start(publisher(), registry)) {
            assertThat(events.delivering()).isTrue();
            events.record(ObjectRef.pod("team-a", "trainer-0", "0b6c4c1e-1111-2222-3333-444455556666"),
                    EventType.NORMAL, "MountHelperFallback", "volume pvc-1 is served by the mount helper");
            List<Event> created = eventsIn("team-a", 1);
            assertThat(created).hasSize(1);
            Event event = created.getFirst();
            assertThat(event.getInvolvedObject().getKind()).isEqualTo("Pod");
            assertThat(event.getInvolvedObject().getApiVersion()).isEqualTo("v1");
            assertThat(event.getInvolvedObject().getNamespace()).isEqualTo("team-a");
            assertThat(event.getInvolvedObject().getName()).isEqualTo("trainer-0");
            assertThat(event.getInvolvedObject().getUid()).isEqualTo("0b6c4c1e-1111-2222-3333-444455556666");
            assertThat(event.getReason()).isEqualTo("MountHelperFallback");
            assertThat(event.getType()).isEqualTo("Normal");
            assertThat(event.getMessage()).isEqualTo("volume pvc-1 is served by the mount helper");
            assertThat(event.getSource().getComponent()).isEqualTo("gateway-csi-node");
            assertThat(event.getSource().getHost()).isEqualTo("node-1");
            assertThat(event.getCount()).isEqualTo(1);
            assertThat(event.getMetadata().getName()).startsWith("trainer-0.");
            assertThat(event.getFirstTimestamp()).isNotBlank();
        }
        assertThat(outcome("MountHelperFallback", "sent")).isEqualTo(1);
        assertThat(logged).anyMatch(line -> line.contains("event=k8s-event") && line.contains("reason=MountHelperFallback")
                && line.contains("object=Pod/team-a/trainer-0"));
    }

    @Test
    void oneEventPerObjectAndReasonPerMinute() throws Exception {
        AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2025-01-01T00:00:00Z"));
        Clock clock = new Clock() {
            @Override
            public ZoneOffset getZone() {
                return ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(java.time.ZoneId zone) {
                return this;
            }

            @Override
            public Instant instant() {
                return now.get();
            }
        };
        ObjectRef claim = ObjectRef.claim("team-b", "checkpoints");
        try (Events events = Events.start(publisher(), clock, Duration.ofMinutes(1), 16, registry)) {
            events.record(claim, EventType.WARNING, "MountFailed", "first");
            events.record(claim, EventType.WARNING, "MountFailed", "second, within the minute");
            events.record(claim, EventType.NORMAL, "MountRepaired", "another reason");
            now.set(now.get().plusSeconds(61));
            events.record(claim, EventType.WARNING, "MountFailed", "third, a minute later");
            List<Event> created = eventsIn("team-b", 3);
            assertThat(created).extracting(Event::getMessage)
                    .containsExactlyInAnyOrder("first", "another reason", "third, a minute later");
            assertThat(created).allSatisfy(e -> {
                assertThat(e.getInvolvedObject().getKind()).isEqualTo("PersistentVolumeClaim");
                assertThat(e.getInvolvedObject().getName()).isEqualTo("checkpoints");
            });
        }
        assertThat(outcome("MountFailed", "rate_limited")).isEqualTo(1);
        assertThat(outcome("MountFailed", "sent")).isEqualTo(2);
    }

    @Test
    void aStuckApiServerNeverBlocksTheCallerAndAFullQueueDrops() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch entered = new CountDownLatch(1);
        EventPublisher stuck = new EventPublisher() {
            @Override
            public void publish(EventRecord event) throws Exception {
                entered.countDown();
                release.await();
            }

            @Override
            public String target() {
                return "stuck";
            }

            @Override
            public void close() {
            }
        };
        try (Events events = Events.start(stuck, Clock.systemUTC(), Duration.ofMinutes(1), 2, registry)) {
            events.record(ObjectRef.pod("ns", "p0", ""), EventType.WARNING, "MountFailed", "taken by the worker");
            assertThat(entered.await(5, TimeUnit.SECONDS)).isTrue();
            long started = System.nanoTime();
            for (int i = 1; i <= 5; i++) {
                events.record(ObjectRef.pod("ns", "p" + i, ""), EventType.WARNING, "MountFailed", "queued or dropped");
            }
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(2));
            assertThat(events.queued()).isEqualTo(2);
            assertThat(outcome("MountFailed", "dropped")).isEqualTo(3);
            release.countDown();
        }
    }

    @Test
    void anUnreachableApiServerIsLoggedAndTheEventDropped() throws Exception {
        Config config = new io.fabric8.kubernetes.client.ConfigBuilder().withMasterUrl("http://127.0.0.1:1")
                .withRequestTimeout(2000).withConnectionTimeout(2000).withRequestRetryBackoffLimit(0).build();
        KubernetesEventPublisher unreachable = new KubernetesEventPublisher(
                new KubernetesClientBuilder().withConfig(config).build(), "gateway-csi-node", "node-1");
        try (Events events = Events.start(unreachable, registry)) {
            long started = System.nanoTime();
            events.record(ObjectRef.pod("ns", "p", ""), EventType.WARNING, "MountFailed", "nobody listens");
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(1));
            waitFor(() -> outcome("MountFailed", "failed") == 1);
        }
        synchronized (logged) {
            assertThat(logged).anyMatch(line -> line.contains("event=k8s-event-failed") && line.contains("127.0.0.1:1"));
        }
    }

    @Test
    void withoutApiAccessEventsAreOnlyLogged() {
        try (Events events = Events.start(null, registry)) {
            assertThat(events.delivering()).isFalse();
            events.record(ObjectRef.claim("ns", "data"), EventType.WARNING, "MountFailed",
                    "the NFS gateway could not be reached");
        }
        assertThat(outcome("MountFailed", "logged")).isEqualTo(1);
        assertThat(logged).anyMatch(line -> line.contains("event=k8s-event")
                && line.contains("object=PersistentVolumeClaim/ns/data") && line.contains("type=Warning")
                && line.contains("\"the NFS gateway could not be reached\""));
    }

    @Test
    void podAndClaimComeFromTheirCsiKeys() {
        assertThat(ObjectRef.podOf(java.util.Map.of(ObjectRef.POD_NAME, "p", ObjectRef.POD_NAMESPACE, "ns",
                ObjectRef.POD_UID, "u"))).contains(ObjectRef.pod("ns", "p", "u"));
        assertThat(ObjectRef.podOf(java.util.Map.of(ObjectRef.POD_NAME, "p"))).isEmpty();
        assertThat(ObjectRef.claimOf(java.util.Map.of(ObjectRef.PVC_NAME, "c", ObjectRef.PVC_NAMESPACE, "ns")))
                .contains(ObjectRef.claim("ns", "c"));
        assertThat(ObjectRef.claimOf(java.util.Map.of())).isEmpty();
    }

    private static void waitFor(Supplier<Boolean> condition) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (!condition.get()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("condition not met within 15 s");
            }
            Thread.sleep(50);
        }
    }
}
