package io.gatewaycsi.common.events;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.time.Duration;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Creates core/v1 Events through fabric8's client (on the JDK's HttpClient), as client-go's event recorder
 * does: the event lives in the involved object's namespace, is named {@code <object>.<hex nanos>}, carries
 * {@code source.component} and {@code source.host}, {@code count: 1} and first/last timestamps. Each request
 * has a short deadline and is not retried (the caller drops what fails). Needs RBAC {@code create} on
 * {@code events} in the namespaces of the pods and claims. The client (fabric8, Jackson, the JDK's HttpClient
 * and its thread) is built on the first event, so a process that never emits one never pays for it.
 */
public final class KubernetesEventPublisher implements EventPublisher {

    /** The deadline of one API request. */
    public static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(5);

    private static final DateTimeFormatter RFC3339 = DateTimeFormatter.ISO_INSTANT;

    private final java.util.function.Supplier<KubernetesClient> factory;
    private volatile KubernetesClient client;
    private final String component;
    private final String host;
    private final AtomicLong sequence = new AtomicLong();

    /**
     * @param client    the API client (closed with this publisher)
     * @param component {@code source.component} and {@code reportingComponent}, e.g. {@code gateway-csi-node}
     * @param host      {@code source.host} and {@code reportingInstance}: the node name, or the pod name
     */
    public KubernetesEventPublisher(KubernetesClient client, String component, String host) {
        this(() -> client, component, host);
        Objects.requireNonNull(client, "client");
    }

    private KubernetesEventPublisher(java.util.function.Supplier<KubernetesClient> factory, String component,
                                     String host) {
        this.factory = factory;
        this.component = Objects.requireNonNull(component, "component");
        this.host = host == null ? "" : host;
    }

    /**
     * A publisher with the configuration fabric8 finds on its own (in a pod: the service account and
     * {@code KUBERNETES_SERVICE_HOST}; elsewhere {@code KUBERNETES_MASTER}, {@code ~/.kube/config}, …),
     * with {@link #REQUEST_TIMEOUT} per request and no retries.
     */
    public static KubernetesEventPublisher autoConfigured(String component, String host) {
        return new KubernetesEventPublisher(() -> {
            Config config = Config.autoConfigure(null);
            config.setRequestTimeout((int) REQUEST_TIMEOUT.toMillis());
            config.setConnectionTimeout((int) REQUEST_TIMEOUT.toMillis());
            config.setRequestRetryBackoffLimit(0);
            return new KubernetesClientBuilder().withConfig(config).build();
        }, component, host);
    }

    private synchronized KubernetesClient client() {
        if (client == null) {
            client = factory.get();
        }
        return client;
    }

    @Override
    public void publish(EventRecord e) {
        String at = RFC3339.format(e.at().truncatedTo(ChronoUnit.SECONDS));
        long unique = e.at().getEpochSecond() * 1_000_000_000L + e.at().getNano() + sequence.getAndIncrement();
        Event event = new EventBuilder()
                .withNewMetadata()
                    .withName(e.object().name() + "." + Long.toHexString(unique))
                    .withNamespace(e.object().namespace())
                .endMetadata()
                .withNewInvolvedObject()
                    .withApiVersion("v1").withKind(e.object().kind()).withNamespace(e.object().namespace())
                    .withName(e.object().name()).withUid(e.object().uid().isEmpty() ? null : e.object().uid())
                .endInvolvedObject()
                .withType(e.type().value())
                .withReason(e.reason())
                .withMessage(e.message())
                .withNewSource().withComponent(component).withHost(host.isEmpty() ? null : host).endSource()
                .withReportingComponent(component)
                .withReportingInstance(host.isEmpty() ? null : host)
                .withFirstTimestamp(at)
                .withLastTimestamp(at)
                .withCount(1)
                .build();
        client().v1().events().inNamespace(e.object().namespace()).resource(event).create();
    }

    /** The API server's URL, or {@code (not connected yet)} before the first event. */
    @Override
    public String target() {
        KubernetesClient built = client;
        return built == null ? "(not connected yet)" : built.getMasterUrl().toString();
    }

    @Override
    public synchronized void close() {
        if (client != null) {
            client.close();
        }
    }
}
