package io.gatewaycsi.charts;

import static io.gatewaycsi.charts.Rendered.flag;
import static io.gatewaycsi.charts.Rendered.pod;
import static io.gatewaycsi.charts.Rendered.requireContainer;
import static io.gatewaycsi.charts.Rendered.requireFlag;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.ProjectedVolumeSource;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.VolumeProjection;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The chart's observability: /metrics of the driver's containers (--metrics-address on a named port), the
 * ServiceMonitor and its headless Services (every metrics port scraped, through Services that select the
 * right pods), the Grafana dashboard's ConfigMap (the very bytes of observability/dashboard.json), and
 * Kubernetes Events (--events, the node plugin's own token, POD_NAME). RBAC of events is checked with the rest
 * of the RBAC in {@link ChartRenderTest}.
 */
class ChartObservabilityTest {

    private static final Pattern METRICS_ADDRESS = Pattern.compile("0\\.0\\.0\\.0:([0-9]+)");
    /** The Prometheus Operator CRD's pattern of a duration. */
    private static final Pattern PROMETHEUS_DURATION = Pattern.compile(
            "^(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?$");
    /** The name of the /metrics port of each driver container. */
    private static final Map<String, String> METRICS_PORT_NAMES = Map.of(
            "controller", "metrics", "node", "metrics", "mount-helper", "helper-metrics");
    /** Where Kubernetes clients' in-cluster configuration looks for the service account's token. */
    private static final String TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount";
    private static final String DASHBOARD_KEY = "gateway-csi.json";
    private static final String FULLNAME = Renders.RELEASE + "-gateway-csi";

    static List<Renders.ValueSet> valueSets() {
        return Renders.valueSets();
    }

    /** The containers that run our binary (controller, node, mount-helper), by pod. */
    private static Map<Container, PodSpec> driverContainers(Rendered rendered) {
        Map<Container, PodSpec> ours = new LinkedHashMap<>();
        for (PodSpec pod : List.of(pod(rendered.controller()), pod(rendered.node()))) {
            pod.getContainers().stream().filter(c -> !c.getImage().contains("sig-storage/"))
                    .forEach(c -> ours.put(c, pod));
        }
        return ours;
    }

    /** The port of {@code --metrics-address=0.0.0.0:<port>}, if the container has the flag. */
    private static Optional<Integer> metricsPort(Container container) {
        return flag(container.getArgs(), "--metrics-address").map(address -> {
            Matcher matcher = METRICS_ADDRESS.matcher(address);
            assertThat(matcher.matches()).as("%s --metrics-address %s: every interface of its pod (or node)",
                    container.getName(), address).isTrue();
            return Integer.parseInt(matcher.group(1));
        });
    }

    private static Optional<ContainerPort> namedPort(Container container, String name) {
        return Optional.ofNullable(container.getPorts()).orElse(List.of()).stream()
                .filter(p -> name.equals(p.getName())).findFirst();
    }

    private static Rendered render(String testValues) {
        return Renders.render(Renders.valueSets().stream().filter(s -> s.label().endsWith("/" + testValues))
                .findFirst().orElseThrow());
    }

    private static String dashboard() throws IOException {
        return Files.readString(Repo.chart().resolve("dashboards/" + DASHBOARD_KEY), StandardCharsets.UTF_8);
    }

    // ---- metrics ----------------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource("valueSets")
    void everyDriverContainerServesMetricsOnItsNamedPortOrNoneDoes(Renders.ValueSet set) {
        Rendered rendered = Renders.render(set);
        Map<Container, PodSpec> ours = driverContainers(rendered);
        Set<Boolean> served = new HashSet<>();
        for (Container container : ours.keySet()) {
            String portName = METRICS_PORT_NAMES.get(container.getName());
            assertThat(portName).as("%s: a driver container we know", container.getName()).isNotNull();
            Optional<Integer> port = metricsPort(container);
            served.add(port.isPresent());
            Optional<ContainerPort> named = namedPort(container, portName);
            if (port.isPresent()) {
                assertThat(named).as("%s: %s names its metrics port %s", set, container.getName(), portName)
                        .hasValueSatisfying(p -> {
                            assertThat(p.getContainerPort()).isEqualTo(port.get());
                            assertThat(p.getProtocol()).isEqualTo("TCP");
                            assertThat(p.getHostPort()).as("hostNetwork sets it").isNull();
                        });
            } else {
                assertThat(named).as("%s: %s has no metrics port without --metrics-address", set,
                        container.getName()).isEmpty();
            }
        }
        assertThat(served).as("%s: all of the driver's containers serve /metrics, or none", set).hasSize(1);
        // Within a pod, port names and numbers are unique; the node pod's are the node's own (host network).
        for (PodSpec pod : List.of(pod(rendered.controller()), pod(rendered.node()))) {
            List<ContainerPort> ports = pod.getContainers().stream()
                    .flatMap(c -> Optional.ofNullable(c.getPorts()).orElse(List.of()).stream()).toList();
            assertThat(ports.stream().map(ContainerPort::getName)).as("%s: port names", set).doesNotHaveDuplicates();
            assertThat(ports.stream().map(ContainerPort::getContainerPort)).as("%s: ports", set)
                    .doesNotHaveDuplicates();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("valueSets")
    void theServiceMonitorScrapesEveryMetricsPortThroughItsServices(Renders.ValueSet set) {
        Rendered rendered = Renders.render(set);
        List<Service> services = rendered.services();
        List<Manifests.ServiceMonitor> monitors = rendered.serviceMonitors();
        assertThat(services.isEmpty()).as("%s: Services come with the ServiceMonitor", set)
                .isEqualTo(monitors.isEmpty());
        if (monitors.isEmpty()) {
            return;
        }
        assertThat(monitors).hasSize(1);
        Manifests.ServiceMonitor monitor = monitors.getFirst();
        assertThat(monitor.apiVersion()).isEqualTo("monitoring.coreos.com/v1");
        assertThat(monitor.metadata().getNamespace()).isEqualTo(rendered.namespace());
        assertThat(monitor.spec().namespaceSelector().matchNames()).containsExactly(rendered.namespace());

        // It selects exactly the chart's Services (all of them carry its labels).
        assertThat(monitor.spec().selector().getMatchExpressions()).isNullOrEmpty();
        Map<String, String> selector = monitor.spec().selector().getMatchLabels();
        assertThat(selector).containsEntry("app.kubernetes.io/instance", Renders.RELEASE);
        for (Service service : services) {
            assertThat(service.getMetadata().getNamespace()).isEqualTo(rendered.namespace());
            assertThat(service.getMetadata().getLabels()).as("%s selected", service.getMetadata().getName())
                    .containsAllEntriesOf(selector);
        }

        // Each Service is headless, selects the pods of one workload, and each of its ports leads to a
        // container's named metrics port, whose number is the one --metrics-address binds.
        Map<String, Map<String, String>> podLabels = Map.of(
                "controller", rendered.controller().getSpec().getTemplate().getMetadata().getLabels(),
                "node", rendered.node().getSpec().getTemplate().getMetadata().getLabels());
        Map<String, PodSpec> pods = Map.of("controller", pod(rendered.controller()), "node", pod(rendered.node()));
        Set<String> servicePortNames = new TreeSet<>();
        Set<String> scrapedContainers = new TreeSet<>();
        for (Service service : services) {
            String name = service.getMetadata().getName();
            assertThat(service.getSpec().getClusterIP()).as(name).isEqualTo("None");
            Map<String, String> podSelector = service.getSpec().getSelector();
            assertThat(podSelector).as(name).isNotEmpty();
            List<String> workloads = podLabels.entrySet().stream()
                    .filter(e -> e.getValue().entrySet().containsAll(podSelector.entrySet())).map(Map.Entry::getKey)
                    .toList();
            assertThat(workloads).as("%s selects the pods of one workload", name).hasSize(1);
            PodSpec pod = pods.get(workloads.getFirst());
            for (ServicePort port : service.getSpec().getPorts()) {
                assertThat(port.getProtocol()).isEqualTo("TCP");
                assertThat(port.getTargetPort().getStrVal()).as("%s: a named target port", name)
                        .isEqualTo(port.getName());
                List<Container> serving = pod.getContainers().stream()
                        .filter(c -> namedPort(c, port.getName()).isPresent()).toList();
                assertThat(serving).as("%s: port %s names a container's port", name, port.getName()).hasSize(1);
                Container container = serving.getFirst();
                int containerPort = namedPort(container, port.getName()).orElseThrow().getContainerPort();
                assertThat(port.getPort()).as("%s: port %s", name, port.getName()).isEqualTo(containerPort);
                assertThat(metricsPort(container)).as("%s serves /metrics there", container.getName())
                        .hasValue(containerPort);
                servicePortNames.add(port.getName());
                scrapedContainers.add(workloads.getFirst() + "/" + container.getName());
            }
        }

        // One endpoint per Service port name, every one scraped at /metrics with the node's name as `node`.
        List<String> endpointPorts = monitor.spec().endpoints().stream().map(Manifests.ScrapeEndpoint::port).toList();
        assertThat(endpointPorts).doesNotHaveDuplicates();
        assertThat(new TreeSet<>(endpointPorts)).as("%s: the ServiceMonitor's endpoints", set)
                .isEqualTo(servicePortNames);
        for (Manifests.ScrapeEndpoint endpoint : monitor.spec().endpoints()) {
            assertThat(endpoint.path()).isEqualTo("/metrics");
            assertThat(endpoint.interval()).matches(PROMETHEUS_DURATION).isNotEmpty();
            assertThat(endpoint.relabelings()).contains(
                    new Manifests.RelabelConfig(List.of("__meta_kubernetes_pod_node_name"), "node"),
                    new Manifests.RelabelConfig(List.of("__meta_kubernetes_pod_name"), "pod"));
        }

        // Every container that serves /metrics is scraped.
        Set<String> serving = new TreeSet<>();
        driverContainers(rendered).forEach((container, pod) -> {
            if (metricsPort(container).isPresent()) {
                serving.add((pod == pods.get("node") ? "node/" : "controller/") + container.getName());
            }
        });
        assertThat(scrapedContainers).as("%s: scraped containers", set).isEqualTo(serving);
    }

    @Test
    void metricsAreOffByDefault() {
        Rendered rendered = Renders.defaults();
        driverContainers(rendered).keySet().forEach(c -> assertThat(metricsPort(c)).as(c.getName()).isEmpty());
        assertThat(rendered.services()).isEmpty();
        assertThat(rendered.serviceMonitors()).isEmpty();
        assertThat(rendered.configMaps()).isEmpty();
    }

    @Test
    void everythingServesMetricsOnItsPortsWithAServiceMonitorAndTheDashboard() {
        Rendered rendered = render("everything.yaml");
        PodSpec node = pod(rendered.node());
        assertThat(requireFlag(requireContainer(pod(rendered.controller()), "controller"), "--metrics-address"))
                .isEqualTo("0.0.0.0:19810");
        assertThat(requireFlag(requireContainer(node, "node"), "--metrics-address")).isEqualTo("0.0.0.0:19811");
        assertThat(requireFlag(requireContainer(node, "mount-helper"), "--metrics-address"))
                .isEqualTo("0.0.0.0:19812");
        Map<String, Map<String, Integer>> services = new java.util.TreeMap<>();
        for (Service service : rendered.services()) {
            Map<String, Integer> ports = new LinkedHashMap<>();
            service.getSpec().getPorts().forEach(p -> ports.put(p.getName(), p.getPort()));
            services.put(service.getMetadata().getName(), ports);
        }
        assertThat(services).isEqualTo(Map.of(
                FULLNAME + "-controller-metrics", Map.of("metrics", 19810),
                FULLNAME + "-node-metrics", Map.of("metrics", 19811, "helper-metrics", 19812)));
        Manifests.ServiceMonitor monitor = rendered.serviceMonitors().getFirst();
        assertThat(monitor.metadata().getName()).isEqualTo(FULLNAME);
        assertThat(monitor.metadata().getLabels()).containsEntry("release", "kube-prometheus-stack")
                .containsEntry("app.kubernetes.io/instance", Renders.RELEASE);
        assertThat(monitor.spec().endpoints()).extracting(Manifests.ScrapeEndpoint::port)
                .containsExactly("metrics", "helper-metrics");
        assertThat(monitor.spec().endpoints()).extracting(Manifests.ScrapeEndpoint::interval)
                .containsOnly("1m30s");
        ConfigMap dashboard = rendered.configMaps().getFirst();
        assertThat(dashboard.getMetadata().getName()).isEqualTo(FULLNAME + "-dashboard");
        assertThat(dashboard.getMetadata().getLabels()).containsEntry("grafana_dashboard", "1")
                .containsEntry("example.com/team", "ml-platform");
    }

    @Test
    void withoutTheMountHelperNothingScrapesIt() {
        Rendered rendered = render("minimal-with-metrics.yaml");
        assertThat(requireFlag(requireContainer(pod(rendered.controller()), "controller"), "--metrics-address"))
                .as("the default port").isEqualTo("0.0.0.0:29810");
        assertThat(requireFlag(requireContainer(pod(rendered.node()), "node"), "--metrics-address"))
                .isEqualTo("0.0.0.0:29811");
        Service node = rendered.services().stream()
                .filter(s -> s.getMetadata().getName().equals(FULLNAME + "-node-metrics")).findFirst().orElseThrow();
        assertThat(node.getSpec().getPorts()).extracting(ServicePort::getName).containsExactly("metrics");
        Manifests.ServiceMonitor monitor = rendered.serviceMonitors().getFirst();
        assertThat(monitor.spec().endpoints()).extracting(Manifests.ScrapeEndpoint::port).containsExactly("metrics");
        assertThat(monitor.spec().endpoints()).extracting(Manifests.ScrapeEndpoint::interval).containsOnly("30s");
        assertThat(monitor.metadata().getLabels()).doesNotContainKey("release");
        assertThat(rendered.configMaps()).as("the dashboard is off").isEmpty();
    }

    @Test
    void theServiceMonitorAndItsServicesNeedTheMonitoringApi() {
        Renders.ValueSet everything = Renders.valueSets().stream()
                .filter(s -> s.label().endsWith("/everything.yaml")).findFirst().orElseThrow();
        assertThat(everything.apiVersions()).containsExactly("monitoring.coreos.com/v1/ServiceMonitor");
        Helm.Result result = Renders.helm().template(Repo.chart(), Renders.RELEASE, Renders.NAMESPACE,
                everything.files());
        assertThat(result.ok()).as(result.describe()).isTrue();
        Rendered rendered = Rendered.of("everything.yaml without the ServiceMonitor API", Renders.NAMESPACE,
                result.stdout());
        assertThat(rendered.serviceMonitors()).isEmpty();
        assertThat(rendered.services()).isEmpty();
        // Metrics and the dashboard do not depend on the Prometheus Operator.
        assertThat(requireFlag(requireContainer(pod(rendered.node()), "node"), "--metrics-address"))
                .isEqualTo("0.0.0.0:19811");
        assertThat(rendered.configMaps()).hasSize(1);
    }

    // ---- the Grafana dashboard ----------------------------------------------------------------------------

    @Test
    void theChartsDashboardIsObservabilityDashboardJsonByteForByte() throws IOException {
        Path copy = Repo.chart().resolve("dashboards/" + DASHBOARD_KEY);
        Path source = Repo.root().resolve("observability/dashboard.json");
        assertThat(Files.mismatch(copy, source)).as("%s differs from %s: the chart cannot read files outside its"
                + " directory, so it carries a copy; after changing the dashboard run `cp %s %s`", copy, source,
                Repo.root().relativize(source), Repo.root().relativize(copy)).isEqualTo(-1L);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("valueSets")
    void theDashboardsConfigMapCarriesTheDashboardUnchanged(Renders.ValueSet set) throws IOException {
        Rendered rendered = Renders.render(set);
        List<ConfigMap> configMaps = rendered.configMaps();
        if (configMaps.isEmpty()) {
            return;
        }
        assertThat(configMaps).as("%s: only the dashboard is a ConfigMap", set).hasSize(1);
        ConfigMap configMap = configMaps.getFirst();
        assertThat(configMap.getMetadata().getNamespace()).isEqualTo(rendered.namespace());
        assertThat(configMap.getMetadata().getLabels()).as("%s: labelled for Grafana's sidecar", set)
                .containsKey("grafana_dashboard");
        assertThat(configMap.getBinaryData()).isNullOrEmpty();
        assertThat(configMap.getData()).containsOnlyKeys(DASHBOARD_KEY);
        String json = configMap.getData().get(DASHBOARD_KEY);
        assertThat(json).as("%s: the dashboard as it is", set).isEqualTo(dashboard());
        // Its data come from the driver's metrics, and its node filter from the ServiceMonitor's `node` label.
        assertThat(driverContainers(rendered).keySet()).allSatisfy(c -> assertThat(metricsPort(c)).isPresent());
        JsonNode parsed = new ObjectMapper().readTree(json);
        assertThat(parsed.path("uid").asText()).isEqualTo("gateway-csi");
        List<String> nodeQueries = new ArrayList<>();
        parsed.path("templating").path("list").forEach(v -> {
            if (v.path("name").asText().equals("node")) {
                nodeQueries.add(v.path("definition").asText());
            }
        });
        assertThat(nodeQueries).singleElement().asString().matches("label_values\\(\\w+, node\\)");
        for (Manifests.ServiceMonitor monitor : rendered.serviceMonitors()) {
            monitor.spec().endpoints().forEach(e -> assertThat(e.relabelings())
                    .anyMatch(r -> r.targetLabel().equals("node")));
        }
    }

    @Test
    void thePackagedChartCarriesTheDashboard(@TempDir Path out) throws IOException {
        Helm.Result pack = Renders.helm().run("package", Repo.chart().toString(), "--destination", out.toString());
        assertThat(pack.ok()).as(pack.describe()).isTrue();
        Helm.Result template = Renders.helm().template(out.resolve("gateway-csi-0.1.0.tgz"), Renders.RELEASE,
                Renders.NAMESPACE, List.of(), "--set", "metrics.enabled=true", "--set", "metrics.dashboard.enabled=true");
        assertThat(template.ok()).as(template.describe()).isTrue();
        ConfigMap configMap = Rendered.of("package", Renders.NAMESPACE, template.stdout()).only(ConfigMap.class);
        assertThat(configMap.getData().get(DASHBOARD_KEY)).isEqualTo(dashboard());
        assertThat(configMap.getMetadata().getLabels()).containsEntry("grafana_dashboard", "1");
    }

    // ---- Kubernetes Events --------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource("valueSets")
    void eventsHaveTheirFlagTheirTokenAndThePodsName(Renders.ValueSet set) {
        Rendered rendered = Renders.render(set);
        PodSpec nodePod = pod(rendered.node());
        PodSpec controllerPod = pod(rendered.controller());
        Container node = requireContainer(nodePod, "node");
        Container controller = requireContainer(controllerPod, "controller");
        String mode = requireFlag(node, "--events");
        assertThat(mode).isIn("auto", "off");
        assertThat(requireFlag(controller, "--events")).as("%s: the same for both", set).isEqualTo(mode);
        for (Container container : List.of(node, controller)) {
            EnvVar podName = container.getEnv().stream().filter(e -> e.getName().equals("POD_NAME")).findFirst()
                    .orElseThrow(() -> new AssertionError(container.getName() + " has no POD_NAME"));
            assertThat(podName.getValue()).isNull();
            assertThat(podName.getValueFrom().getFieldRef().getFieldPath()).isEqualTo("metadata.name");
        }

        // The controller pod keeps the automounted token (its sidecars and its events need it).
        assertThat(controllerPod.getAutomountServiceAccountToken()).isNotEqualTo(Boolean.FALSE);
        // The node pod: no automounted token; the node plugin's own, iff events are on.
        assertThat(nodePod.getAutomountServiceAccountToken()).isFalse();
        List<Volume> projected = nodePod.getVolumes().stream().filter(v -> v.getProjected() != null).toList();
        List<String> mountingTheToken = new ArrayList<>();
        for (Container container : nodePod.getContainers()) {
            for (VolumeMount mount : container.getVolumeMounts()) {
                boolean tokenVolume = projected.stream().anyMatch(v -> v.getName().equals(mount.getName()));
                boolean tokenPath = mount.getMountPath().equals(TOKEN_PATH) || TOKEN_PATH.startsWith(mount.getMountPath() + "/")
                        || mount.getMountPath().startsWith(TOKEN_PATH + "/");
                if (tokenVolume || tokenPath) {
                    mountingTheToken.add(container.getName());
                    assertThat(mount.getMountPath()).isEqualTo(TOKEN_PATH);
                    assertThat(mount.getReadOnly()).isTrue();
                    assertThat(tokenVolume).as("%s mounts the token volume there", container.getName()).isTrue();
                }
            }
        }
        if (mode.equals("off")) {
            assertThat(projected).as("%s: no token with events off", set).isEmpty();
            assertThat(mountingTheToken).isEmpty();
            return;
        }
        assertThat(mountingTheToken).as("%s: only the node plugin has the token", set).containsExactly("node");
        assertThat(projected).singleElement().satisfies(volume -> {
            ProjectedVolumeSource source = volume.getProjected();
            List<VolumeProjection> sources = source.getSources();
            assertThat(sources).hasSize(3);
            assertThat(sources).filteredOn(s -> s.getServiceAccountToken() != null).singleElement().satisfies(s -> {
                assertThat(s.getServiceAccountToken().getPath()).isEqualTo("token");
                assertThat(s.getServiceAccountToken().getAudience()).as("the API server's").isNull();
                assertThat(s.getServiceAccountToken().getExpirationSeconds()).isEqualTo(3607L);
            });
            assertThat(sources).filteredOn(s -> s.getConfigMap() != null).singleElement().satisfies(s -> {
                assertThat(s.getConfigMap().getName()).isEqualTo("kube-root-ca.crt");
                assertThat(s.getConfigMap().getItems()).singleElement().satisfies(item -> {
                    assertThat(item.getKey()).isEqualTo("ca.crt");
                    assertThat(item.getPath()).isEqualTo("ca.crt");
                });
            });
            assertThat(sources).filteredOn(s -> s.getDownwardAPI() != null).singleElement().satisfies(s ->
                    assertThat(s.getDownwardAPI().getItems()).singleElement().satisfies(item -> {
                        assertThat(item.getPath()).isEqualTo("namespace");
                        assertThat(item.getFieldRef().getFieldPath()).isEqualTo("metadata.namespace");
                    }));
        });
        assertThat(nodePod.getServiceAccountName()).isEqualTo(FULLNAME + "-node");
    }
}
