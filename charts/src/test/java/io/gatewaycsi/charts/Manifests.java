package io.gatewaycsi.charts;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.introspect.Annotated;
import com.fasterxml.jackson.databind.introspect.AnnotatedMethod;
import com.fasterxml.jackson.databind.introspect.JacksonAnnotationIntrospector;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.storage.CSIDriver;
import io.fabric8.kubernetes.api.model.storage.StorageClass;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Parses rendered manifests strictly into typed Kubernetes objects: every field of every document must be a
 * field of its kind's model, with the right type.
 *
 * <p>fabric8's model classes keep unknown fields in an {@code @JsonAnySetter} map, so Jackson's
 * {@code FAIL_ON_UNKNOWN_PROPERTIES} alone never fires for them; the mapper here also ignores any-setters,
 * which turns every unknown field (a typo such as {@code mountPropagaton}, a field at the wrong level) into a
 * failure. Scalars are not coerced either ({@code "true"} is no boolean, {@code "1"} no integer).
 *
 * <p>VolumeSnapshotClass (a CRD of kubernetes-csi/external-snapshotter) has no fabric8 model on Maven
 * Central at the version the project pins (io.fabric8:volumesnapshot-model is not published for 7.x), so it
 * is parsed as {@link VolumeSnapshotClass}, a record of exactly the CRD's v1 fields, just as strictly.
 * ServiceMonitor (a CRD of the Prometheus Operator) has no fabric8 model here either: it is parsed as
 * {@link ServiceMonitor}, records of exactly the fields the chart uses (a field the CRD has but the chart does
 * not use fails too, so a new one is added here deliberately), its label selector as fabric8's.
 */
final class Manifests {

    /** The kinds the chart may render, by apiVersion and kind. */
    static final Map<String, Class<?>> KINDS = Map.ofEntries(
            Map.entry("v1/ServiceAccount", ServiceAccount.class),
            Map.entry("v1/Service", Service.class),
            Map.entry("v1/ConfigMap", ConfigMap.class),
            Map.entry("apps/v1/Deployment", Deployment.class),
            Map.entry("apps/v1/DaemonSet", DaemonSet.class),
            Map.entry("rbac.authorization.k8s.io/v1/ClusterRole", ClusterRole.class),
            Map.entry("rbac.authorization.k8s.io/v1/ClusterRoleBinding", ClusterRoleBinding.class),
            Map.entry("rbac.authorization.k8s.io/v1/Role", Role.class),
            Map.entry("rbac.authorization.k8s.io/v1/RoleBinding", RoleBinding.class),
            Map.entry("storage.k8s.io/v1/CSIDriver", CSIDriver.class),
            Map.entry("storage.k8s.io/v1/StorageClass", StorageClass.class),
            Map.entry("snapshot.storage.k8s.io/v1/VolumeSnapshotClass", VolumeSnapshotClass.class),
            Map.entry("monitoring.coreos.com/v1/ServiceMonitor", ServiceMonitor.class));

    /** An object of a CRD parsed as a record here: it has metadata like every Kubernetes object. */
    interface CustomObject {
        ObjectMeta metadata();
    }

    /** snapshot.storage.k8s.io/v1 VolumeSnapshotClass: the CRD's fields, nothing else. */
    record VolumeSnapshotClass(String apiVersion, String kind, ObjectMeta metadata, String driver,
                               String deletionPolicy, Map<String, String> parameters) implements CustomObject {
    }

    /** monitoring.coreos.com/v1 ServiceMonitor: the fields the chart uses, nothing else. */
    record ServiceMonitor(String apiVersion, String kind, ObjectMeta metadata, ServiceMonitorSpec spec)
            implements CustomObject {
    }

    /** ServiceMonitor {@code spec}. */
    record ServiceMonitorSpec(LabelSelector selector, NamespaceSelector namespaceSelector,
                              List<ScrapeEndpoint> endpoints) {
    }

    /** ServiceMonitor {@code spec.namespaceSelector}. */
    record NamespaceSelector(List<String> matchNames) {
    }

    /** One of ServiceMonitor {@code spec.endpoints}: a Service port (by name) to scrape. */
    record ScrapeEndpoint(String port, String path, String interval, List<RelabelConfig> relabelings) {
    }

    /** One of an endpoint's {@code relabelings}. */
    record RelabelConfig(List<String> sourceLabels, String targetLabel) {
    }

    /** One document of a render: its kind key and the typed object. */
    record Manifest(String kindKey, Object object) {
        String name() {
            return object instanceof HasMetadata m ? m.getMetadata().getName()
                    : ((CustomObject) object).metadata().getName();
        }
    }

    private static final YAMLMapper YAML = YAMLMapper.builder(new YAMLFactory())
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
            .build();
    private static final ObjectMapper STRICT = JsonMapper.builder()
            .annotationIntrospector(new NoAnySetter())
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
            .build();

    private Manifests() {
    }

    /** Ignores {@code @JsonAnySetter}, so unknown properties are unknown to Jackson too. */
    private static final class NoAnySetter extends JacksonAnnotationIntrospector {
        @Override
        public Boolean hasAnySetter(Annotated annotated) {
            return Boolean.FALSE;
        }

        @Override
        @SuppressWarnings("deprecation")
        public boolean hasAnySetterAnnotation(AnnotatedMethod method) {
            return false;
        }
    }

    /**
     * Parses every document of {@code yaml} (empty documents, such as a template that rendered nothing, are
     * skipped).
     *
     * @throws IllegalArgumentException naming the document and the field that does not fit
     */
    static List<Manifest> parse(String yaml) {
        List<Manifest> manifests = new ArrayList<>();
        try (MappingIterator<JsonNode> documents = YAML.readerFor(JsonNode.class).readValues(yaml)) {
            int index = 0;
            while (documents.hasNext()) {
                JsonNode document = documents.next();
                index++;
                if (document == null || document.isNull() || document.isMissingNode()) {
                    continue;
                }
                manifests.add(parse(index, document));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("rendered YAML does not parse", e);
        }
        return manifests;
    }

    private static Manifest parse(int index, JsonNode document) {
        String apiVersion = document.path("apiVersion").asText();
        String kind = document.path("kind").asText();
        String key = apiVersion + "/" + kind;
        Class<?> type = KINDS.get(key);
        if (type == null) {
            throw new IllegalArgumentException("document " + index + ": unexpected kind " + key
                    + " (the chart renders " + KINDS.keySet() + ")");
        }
        try {
            return new Manifest(key, STRICT.treeToValue(document, type));
        } catch (IOException e) {
            throw new IllegalArgumentException("document " + index + " (" + key + " "
                    + document.path("metadata").path("name").asText() + ") is not a valid " + kind + ": "
                    + e.getMessage(), e);
        }
    }
}
