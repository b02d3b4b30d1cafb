package io.gatewaycsi.common.events;

import io.gatewaycsi.common.LogLine;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The {@link EventRecorder} of a process. {@link #record} costs a log line and a queue offer, never a call
 * to the API server:
 * <ol>
 *   <li>every event is logged as one line ({@code event=k8s-event object=… reason=… message=…}), at info for
 *   Normal and warn for Warning events;</li>
 *   <li>at most one event per object and reason passes per {@code window} (one minute by default); the rest
 *   are counted as {@code rate_limited};</li>
 *   <li>it is offered to a bounded queue ({@code capacity}, 256 by default) and dropped when the queue is full
 *   (the API server is slow or unreachable);</li>
 *   <li>one background thread hands queued events to the {@link EventPublisher}; a failure is logged (at
 *   most once per {@code window}) and the event dropped.</li>
 * </ol>
 * Without a publisher (no API access) events are only logged. Outcomes are counted in
 * {@code gatewaycsi_events_total{reason, result}} with result {@code sent}, {@code failed}, {@code dropped},
 * {@code rate_limited} or {@code logged} (no publisher).
 */
public final class Events implements EventRecorder, AutoCloseable {

    private static final Logger LOG = Logger.getLogger(Events.class.getName());

    /** The default rate limit window: one event per object and reason per minute. */
    public static final Duration DEFAULT_WINDOW = Duration.ofMinutes(1);
    /** The default queue capacity. */
    public static final int DEFAULT_CAPACITY = 256;
    private static final int MAX_REMEMBERED = 4096;

    private final EventPublisher publisher;
    private final Clock clock;
    private final Duration window;
    private final BlockingQueue<EventRecord> queue;
    private final Map<String, Instant> lastSent = new ConcurrentHashMap<>();
    private final Counter outcomes;
    private final Thread worker;
    private volatile Instant lastFailureLogged = Instant.MIN;
    private volatile boolean closed;

    private Events(EventPublisher publisher, Clock clock, Duration window, int capacity, PrometheusRegistry registry) {
        this.publisher = publisher;
        this.clock = clock;
        this.window = window;
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.outcomes = Counter.builder().name("gatewaycsi_events_total")
                .help("Kubernetes Events by reason and outcome: sent, failed (API error), dropped (queue full),"
                        + " rate_limited, logged (no API access: logged only).")
                .labelNames("reason", "result").register(registry);
        this.worker = publisher == null ? null
                : Thread.ofPlatform().daemon().name("k8s-events").stackSize(512 * 1024).start(this::deliverLoop);
    }

    /**
     * Events delivered through {@code publisher}, or only logged when it is {@code null}.
     *
     * @param registry where {@code gatewaycsi_events_total} is registered
     */
    public static Events start(EventPublisher publisher, PrometheusRegistry registry) {
        return start(publisher, Clock.systemUTC(), DEFAULT_WINDOW, DEFAULT_CAPACITY, registry);
    }

    /** As {@link #start(EventPublisher, PrometheusRegistry)} with the clock, window and capacity given. */
    public static Events start(EventPublisher publisher, Clock clock, Duration window, int capacity,
                               PrometheusRegistry registry) {
        if (capacity < 1) {
            throw new IllegalArgumentException("event queue capacity must be ≥ 1, got " + capacity);
        }
        return new Events(publisher, clock, window, capacity, registry);
    }

    /** Whether events reach an API server (false: logged only). */
    public boolean delivering() {
        return publisher != null;
    }

    @Override
    public void record(ObjectRef object, EventType type, String reason, String message) {
        try {
            Instant now = clock.instant();
            EventRecord event = new EventRecord(object, type, reason, message, now);
            String key = object.kind() + "/" + object.namespace() + "/" + object.name() + "/" + reason;
            Instant previous = lastSent.get(key);
            boolean limited = previous != null && now.isBefore(previous.plus(window));
            LOG.log(type == EventType.WARNING ? Level.WARNING : Level.INFO, () -> LogLine.event("k8s-event")
                    .with("object", object.kind() + "/" + object.namespace() + "/" + object.name())
                    .with("type", type.value()).with("reason", reason).with("message", event.message())
                    .with("rate_limited", limited ? "true" : null).toString());
            if (limited) {
                outcomes.labelValues(reason, "rate_limited").inc();
                return;
            }
            lastSent.put(key, now);
            forgetOld(now);
            if (publisher == null || closed) {
                outcomes.labelValues(reason, "logged").inc();
                return;
            }
            if (!queue.offer(event)) {
                outcomes.labelValues(reason, "dropped").inc();
                LOG.fine(() -> LogLine.event("k8s-event-dropped").with("reason", reason)
                        .with("why", "queue full").toString());
            }
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "recording an event failed", e);
        }
    }

    private void forgetOld(Instant now) {
        if (lastSent.size() <= MAX_REMEMBERED) {
            return;
        }
        Instant horizon = now.minus(window);
        for (Iterator<Map.Entry<String, Instant>> it = lastSent.entrySet().iterator(); it.hasNext(); ) {
            if (it.next().getValue().isBefore(horizon)) {
                it.remove();
            }
        }
    }

    private void deliverLoop() {
        while (!closed || !queue.isEmpty()) {
            EventRecord event;
            try {
                event = queue.poll(200, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                return;
            }
            if (event == null) {
                continue;
            }
            try {
                publisher.publish(event);
                outcomes.labelValues(event.reason(), "sent").inc();
            } catch (Exception | Error e) {
                outcomes.labelValues(event.reason(), "failed").inc();
                Instant now = clock.instant();
                if (now.isAfter(lastFailureLogged.plus(window))) {
                    lastFailureLogged = now;
                    LOG.warning(LogLine.event("k8s-event-failed").with("target", publisher.target())
                            .with("object", event.object()).with("reason", event.reason())
                            .with("error", rootMessage(e))
                            .with("hint", "events are still logged; check the service account's RBAC for events"
                                    + " (create, patch) and the API server's reachability").toString());
                }
            }
        }
    }

    /** Queued events not yet delivered (for tests). */
    int queued() {
        return queue.size();
    }

    /**
     * Stops taking events and waits up to two seconds for the queued ones to be delivered, then closes the
     * publisher.
     */
    @Override
    public void close() {
        closed = true;
        if (worker != null) {
            try {
                worker.join(Duration.ofSeconds(2));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            worker.interrupt();
            publisher.close();
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String text = root.getMessage() != null ? root.getMessage() : root.getClass().getSimpleName();
        return root == e ? text : e.getMessage() + " (" + text + ")";
    }
}
