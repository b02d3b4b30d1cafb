package io.gatewaycsi.charts;

import static io.gatewaycsi.charts.Rendered.container;
import static io.gatewaycsi.charts.Rendered.flag;
import static io.gatewaycsi.charts.Rendered.mountHolding;
import static io.gatewaycsi.charts.Rendered.parent;
import static io.gatewaycsi.charts.Rendered.pod;
import static io.gatewaycsi.charts.Rendered.requireContainer;
import static io.gatewaycsi.charts.Rendered.requireFlag;
import static io.gatewaycsi.charts.Rendered.socketPath;
import static io.gatewaycsi.charts.Rendered.volume;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.Toleration;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.RoleRef;
import io.fabric8.kubernetes.api.model.rbac.Subject;
import io.fabric8.kubernetes.api.model.storage.CSIDriver;
import io.fabric8.kubernetes.api.model.storage.StorageClass;
import io.gatewaycsi.common.volume.MountOptions;
import io.gatewaycsi.common.volume.VolumeParameters;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Renders the chart with its defaults, each example values file and each test values file, parses every
 * manifest strictly (Manifests) and checks what must hold for any values: an unprivileged controller, a node
 * plugin that reaches tainted GPU nodes, one driver name everywhere, only flags the driver has, sockets and
 * paths that agree between containers, the least RBAC, StorageClasses the driver accepts.
 */
class ChartRenderTest {

    /** The roles of the gateway-csi binary, its first argument. */
    private static final Set<String> ROLES = Set.of("controller", "node", "mount-helper", "all");

    static List<Renders.ValueSet> valueSets() {
        return Renders.valueSets();
    }

    /** Containers that run our binary rather than a sig-storage sidecar. */
    private static boolean isDriver(Container container) {
        return !container.getImage().contains("sig-storage/");
    }

    private static List<Container> driverContainers(PodSpec pod) {
        return pod.getContainers().stream().filter(ChartRenderTest::isDriver).toList();
    }

    // ---- the render itself ---------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource("valueSets")
    void everyManifestParsesStrictlyAndIsUnique(Renders.ValueSet set) {
        Rendered rendered = Renders.render(set);
        assertThat(rendered.manifests()).isNotEmpty();
        Set<String> seen = new HashSet<>();
        for (Manifests.Manifest manifest : rendered.manifests()) {
            assertThat(seen.add(manifest.kindKey() + " " + manifest.name()))
                    .as("%s: %s %s rendered twice", set, manifest.kindKey(), manifest.name()).isTrue();
        }
        assertThat(rendered.all(Deployment.class)).hasSize(1);
        assertThat(rendered.all(DaemonSet.class)).hasSize(1);
        assertThat(rendered.all(CSIDriver.class)).hasSize(1);
        for (Deployment d : rendered.all(Deployment.class)) {
            assertThat(d.getMetadata().getNamespace()).isEqualTo(rendered.namespace());
        }
        for (DaemonSet d : rendered.all(DaemonSet.class)) {
            assertThat(d.getMetadata().getNamespace()).isEqualTo(rendered.namespace());
        }
    }

    @Test
    void theStrictParserRefusesAFieldTheModelDoesNotHave() {
        String yaml = """
                apiVersion: apps/v1
                kind: DaemonSet
                metadata: {name: x}
                spec:
                  selector: {matchLabels: {a: b}}
                  template:
                    metadata: {labels: {a: b}}
                    spec:
                      containers:
                        - name: c
                          image: i
                          volumeMounts:
                            - {name: v, mountPath: /v, mountPropagaton: Bidirectional}
                """;
        assertThatThrownBy(() -> Manifests.parse(yaml)).hasMessageContaining("mountPropagaton");
        assertThatThrownBy(() -> Manifests.parse("""
                apiVersion: storage.k8s.io/v1
                kind: CSIDriver
                metadata: {name: x}
                spec: {attachRequired: "false"}
                """)).hasMessageContaining("attachRequired");
        assertThatThrownBy(() -> Manifests.parse("""
                apiVersion: snapshot.storage.k8s.io/v1
                kind: VolumeSnapshotClass
                metadata: {name: x}
                driver: d
                deletionPolicy: Delete
                parameter: {}
                """)).hasMessageContaining("parameter");
        assertThatThrownBy(() -> Manifests.parse("""
                apiVersion: monitoring.coreos.com/v1
                kind: ServiceMonitor
                metadata: {name: x}
                spec:
                  selector: {matchLabels: {a: b}}
                  endpoints:
                    - {port: metrics, path: /metrics, intervall: 30s}
                """)).hasMessageContaining("intervall");
        assertThatThrownBy(() -> Manifests.parse("""
                apiVersion: monitoring.coreos.com/v1
                kind: ServiceMonitor
                metadata: {name: x}
                spec:
                  selector: {matchLabel: {a: b}}
                """)).hasMessageContaining("matchLabel");
        assertThatThrownBy(() -> Manifests.parse("""
                apiVersion: v1
                kind: Service
                metadata: {name: x}
                spec: {clusterIP: None, ports: [{name: m, port: 29810, targetPrt: m}]}
                """)).hasMessageContaining("targetPrt");
        assertThatThrownBy(() -> Manifests.parse("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n"))
                .hasMessageContaining("unexpected kind v1/Pod");
    }

    // ---- the controller: unprivileged ----------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource("valueSets")
    void theControllerRunsUnprivilegedAsNonRoot(Renders.ValueSet set) {
        Rendered rendered = Renders.render(set);
        PodSpec pod = pod(rendered.controller());
        assertThat(pod.getHostNetwork()).as("hostNetwork").isNotEqualTo(Boolean.TRUE);
        assertThat(pod.getHostPID()).as("hostPID").isNotEqualTo(Boolean.TRUE);
        assertThat(pod.getHostIPC()).as("hostIPC").isNotEqualTo(Boolean.TRUE);
        assertThat(pod.getVolumes()).as("host paths").allSatisfy(v -> assertThat(v.getHostPath()).isNull());
        PodSecurityContext podContext = pod.getSecurityContext();
        assertThat(podContext.getRunAsNonRoot()).isTrue();
        assertThat(podContext.getRunAsUser()).isNotNull().isPositive();
        assertThat(podContext.getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
        Container controller = requireContainer(pod, "controller");
        assertThat(controller.getArgs().getFirst()).isEqualTo("controller");
        for (Container container : pod.getContainers()) {
            SecurityContext context = container.getSecurityContext();
            assertThat(context).as("securityContext of %s", container.getName()).isNotNull();
            assertThat(context.getPrivileged()).as("%s privileged", container.getName()).isNotEqualTo(Boolean.TRUE);
            assertThat(context.getAllowPrivilegeEscalation()).as("%s allowPrivilegeEscalation", container.getName())
                    .isFalse();
            assertThat(context.getReadOnlyRootFilesystem()).as("%s readOnlyRootFilesystem", container.getName())
                    .isTrue();
            assertThat(context.getCapabilities().getDrop()).as("%s drops", container.getName()).containsExactly("ALL");
            if (container == controller && !addedCapabilities(set).isEmpty()) {
                // The two exceptions (controller.reservedSourcePort, controller.wireguard): NET_BIND_SERVICE or
                // NET_ADMIN alone, which Kubernetes grants only to root.
                assertThat(context.getCapabilities().getAdd()).isEqualTo(addedCapabilities(set));
                assertThat(context.getRunAsUser()).isZero();
                assertThat(context.getRunAsNonRoot()).isFalse();
                continue;
            }
            assertThat(context.getCapabilities().getAdd()).as("%s adds", container.getName()).isNullOrEmpty();
            assertThat(Optional.ofNullable(context.getRunAsUser()).orElse(podContext.getRunAsUser()))
                    .as("%s user", container.getName()).isNotZero();
            assertThat(Optional.ofNullable(context.getRunAsNonRoot()).orElse(podContext.getRunAsNonRoot()))
                    .as("%s runAsNonRoot", container.getName()).isTrue();
            assertThat(container.getVolumeMounts()).allSatisfy(m -> assertThat(m.getMountPropagation()).isNull());
        }
        // The JVM unpacks grpc-netty's native library into /tmp: with a read-only root it must be a volume.
        VolumeMount tmp = mountHolding(controller, "/tmp/x").orElseThrow(() -> new AssertionError("no /tmp volume"));
        assertThat(volume(pod, tmp.getName()).getEmptyDir()).isNotNull();
    }

    /** The value sets that turn controller.reservedSourcePort on (test values/reserved-source-port.yaml). */
    private static boolean reservedSourcePort(Renders.ValueSet set) {
        return set.label().equals("test values/reserved-source-port.yaml");
    }

    /** The value sets that turn controller.wireguard on (test values/wireguard.yaml). */
    private static boolean wireguard(Renders.ValueSet set) {
        return set.label().equals("test values/wireguard.yaml");
    }

    /** The capabilities the controller container may add in {@code set}: none but what a value asks for. */
    private static List<String> addedCapabilities(Renders.ValueSet set) {
        return reservedSourcePort(set) ? List.of("NET_BIND_SERVICE") : wireguard(set) ? List.of("NET_ADMIN") : List.of();
    }

    @Test
    void aReservedSourcePortIsAskedForExplicitly() {
        List<Renders.ValueSet> sets = Renders.valueSets();
        assertThat(sets).filteredOn(ChartRenderTest::reservedSourcePort).hasSize(1);
        assertThat(sets).filteredOn(ChartRenderTest::wireguard).hasSize(1);
        for (Renders.ValueSet set : sets) {
            Container controller = requireContainer(pod(Renders.render(set).controller()), "controller");
            assertThat(Optional.ofNullable(controller.getSecurityContext().getCapabilities().getAdd()).orElse(List.of()))
                    .as(set.label()).isEqualTo(addedCapabilities(set));
            assertThat(controller.getArgs().contains("--controller-wireguard=auto")).as(set.label())
                    .isEqualTo(wireguard(set));
        }
    }

    // ---- the node plugin -----------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource("valueSets")
    void theNodePluginToleratesTaintedGpuNodes(Renders.ValueSet set) {
        List<Toleration> tolerations = pod(Renders.render(set).node()).getTolerations();
        assertThat(tolerations.stream().anyMatch(t -> tolerates(t, "nvidia.com/gpu", "present", "NoSchedule")))
                .as("%s: tolerates nvidia.com/gpu:NoSchedule in %s", set, tolerations).isTrue();
    }

    /** Kubernetes' rule: does {@code t} tolerate the taint key=value:effect? */
    private static boolean tolerates(Toleration t, String key, String value, String effect) {
        boolean effectMatches = t.getEffect() == null || t.getEffect().isEmpty() || t.getEffect().equals(effect);
        boolean keyMatches = t.getKey() == null || t.getKey().isEmpty()
                ? "Exists".equals(t.getOperator()) : t.getKey().equals(key);
        boolean valueMatches = "Exists".equals(t.getOperator()) || Objects.equals(t.getValue(), value);
        return effectMatches && keyMatches && valueMatches;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("valueSets")
    void theNodePluginMountsOnTheHost(Renders.ValueSet set) {
        DaemonSet node = Renders.render(set).node();
        PodSpec pod = pod(node);
        assertThat(pod.getHostNetwork()).isTrue();
        assertThat(pod.getDnsPolicy()).isEqualTo("ClusterFirstWithHostNet");
        assertThat(pod.getAutomountServiceAccountToken())
                .as("no token in every container: only the node plugin's own mount (events)").isFalse();
        assertThat(pod.getPriorityClassName()).isNotBlank();
        Container plugin = requireContainer(pod, "node");
        assertThat(plugin.getArgs().getFirst()).isEqualTo("node");
        assertThat(plugin.getSecurityContext().getPrivileged()).isTrue();
        assertThat(plugin.getSecurityContext().getRunAsUser()).as("root whatever the image's user").isZero();
        // NODE_ID from the node's name, passed as --node-id.
        EnvVar nodeId = plugin.getEnv().stream().filter(e -> e.getName().equals("NODE_ID")).findFirst().orElseThrow();
        assertThat(nodeId.getValueFrom().getFieldRef().getFieldPath()).isEqualTo("spec.nodeName");
        assertThat(requireFlag(plugin, "--node-id")).isEqualTo("$(NODE_ID)");
        // kubelet's directory, Bidirectional, at the same path as on the host.
        String kubeletDir = hostPathOf(pod, plugin, "kubelet-dir");
        VolumeMount kubelet = plugin.getVolumeMounts().stream().filter(m -> m.getName().equals("kubelet-dir"))
                .findFirst().orElseThrow();
        assertThat(kubelet.getMountPath()).isEqualTo(kubeletDir);
        assertThat(kubelet.getMountPropagation()).isEqualTo("Bidirectional");
        assertThat(requireFlag(plugin, "--allowed-dir")).as("staging and target paths only below kubelet's directory")
                .isEqualTo(kubeletDir);
        assertThat(node.getSpec().getUpdateStrategy().getType()).isIn("RollingUpdate", "OnDelete");
        // The record of its staging mounts outlives the container and the pod: a host path of its own.
        String stateDir = requireFlag(plugin, "--state-dir");
        VolumeMount state = mountHolding(plugin, stateDir).orElseThrow(() -> new AssertionError(
                "--state-dir " + stateDir + " is on the container's own file system"));
        assertThat(state.getMountPath()).isEqualTo(stateDir);
        assertThat(hostPathOf(pod, plugin, state.getName())).startsWith(kubeletDir + "/plugins/");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("valueSets")
    void theMountHelperIsItsOwnContainerWithBidirectionalOnlyOnTheStagingSubtree(Renders.ValueSet set) {
        PodSpec pod = pod(Renders.render(set).node());
        Optional<Container> maybeHelper = container(pod, "mount-helper");
        if (maybeHelper.isEmpty()) {
            assertThat(set.label()).as("only minimal values turn the helper off").contains("minimal");
            return;
        }
        Container helper = maybeHelper.get();
        assertThat(helper.getArgs().getFirst()).isEqualTo("mount-helper");
        assertThat(helper.getSecurityContext().getRunAsUser()).isZero();
        assertThat(helper.getLivenessProbe()).as("a restart would end every FUSE mount it serves").isNull();
        Container plugin = requireContainer(pod, "node");
        String kubeletDir = hostPathOf(pod, plugin, "kubelet-dir");
        List<VolumeMount> bidirectional = helper.getVolumeMounts().stream()
                .filter(m -> "Bidirectional".equals(m.getMountPropagation())).toList();
        assertThat(bidirectional).hasSize(1);
        VolumeMount staging = bidirectional.getFirst();
        assertThat(staging.getMountPath()).isEqualTo(kubeletDir + "/plugins/kubernetes.io/csi");
        assertThat(hostPathOf(pod, helper, staging.getName())).as("same path as on the host")
                .isEqualTo(staging.getMountPath());
        assertThat(helper.getVolumeMounts()).as("not the whole kubelet directory")
                .noneMatch(m -> m.getMountPath().equals(kubeletDir));
        assertThat(helper.getVolumeMounts()).as("nothing of the host but the staging subtree")
                .filteredOn(m -> volume(pod, m.getName()).getHostPath() != null).containsExactly(staging);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("valueSets")
    void everyBidirectionalMountIsInAPrivilegedContainer(Renders.ValueSet set) {
        Rendered rendered = Renders.render(set);
        for (PodSpec pod : List.of(pod(rendered.controller()), pod(rendered.node()))) {
            for (Container container : pod.getContainers()) {
                boolean bidirectional = container.getVolumeMounts().stream()
                        .anyMatch(m -> "Bidirectional".equals(m.getMountPropagation()));
                if (bidirectional) {
                    assertThat(container.getSecurityContext().getPrivileged())
                            .as("%s: the API server refuses Bidirectional in unprivileged %s", set,
                                    container.getName()).isTrue();
                }
            }
        }
    }

    // ---- one driver name ------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource("valueSets")
    void oneDriverNameEverywhere(Renders.ValueSet set) {
        Rendered rendered = Renders.render(set);
        String name = rendered.csiDriver().getMetadata().getName();
        List<Container> ours = new ArrayList<>(driverContainers(pod(rendered.controller())));
        ours.addAll(driverContainers(pod(rendered.node())));
        for (Container container : ours) {
            if (!container.getArgs().getFirst().equals("mount-helper")) {
                assertThat(requireFlag(container, "--driver-name")).as(container.getName()).isEqualTo(name);
            }
        }
        PodSpec node = pod(rendered.node());
        Container registers = container(node, "node-driver-registrar").orElseGet(() -> requireContainer(node, "node"));
        assertThat(requireFlag(registers, "--kubelet-registration-path")).endsWith("/plugins/" + name + "/csi.sock");
        assertThat(hostPathOf(node, registers, "plugin-dir")).endsWith("/plugins/" + name);
        for (StorageClass storageClass : rendered.storageClasses()) {
            assertThat(storageClass.getProvisioner()).as(storageClass.getMetadata().getName()).isEqualTo(name);
        }
        for (Manifests.VolumeSnapshotClass snapshotClass : rendered.all(Manifests.VolumeSnapshotClass.class)) {
            assertThat(snapshotClass.driver()).isEqualTo(name);
        }
    }

    // ---- flags of our binary --------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource("valueSets")
    void everyFlagTheChartPassesExistsInTheDriversHelp(Renders.ValueSet set) {
        Rendered rendered = Renders.render(set);
        List<Container> ours = new ArrayList<>(driverContainers(pod(rendered.controller())));
        ours.addAll(driverContainers(pod(rendered.node())));
        assertThat(ours.stream().map(Container::getName))
                .containsAnyOf("mount-helper", "node").contains("controller", "node");
        for (Container container : ours) {
            assertThat(container.getCommand()).as("the image's entrypoint runs gateway-csi").isNullOrEmpty();
            List<String> args = container.getArgs();
            String role = args.getFirst();
            assertThat(ROLES).as("role of %s", container.getName()).contains(role);
            Set<String> known = DriverHelp.flags(role);
            for (String arg : args.subList(1, args.size())) {
                assertThat(arg).as("%s: %s passes flags as --name=value", set, container.getName())
                        .matches("--[a-z][a-z0-9-]*=.*");
                String name = arg.substring(0, arg.indexOf('='));
                assertThat(known).as("%s: `gateway-csi %s --help` lists %s", set, role, name).contains(name);
                // $(VAR) references must name a variable of the container.
                if (arg.contains("$(")) {
                    String variable = arg.substring(arg.indexOf("$(") + 2, arg.indexOf(')', arg.indexOf("$(")));
                    assertThat(container.getEnv().stream().map(EnvVar::getName)).contains(variable);
                }
            }
        }
    }

    // ---- sockets and paths ----------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource("valueSets")
    void theControllerSidecarsReachTheDriversSocket(Renders.ValueSet set) {
        PodSpec pod = pod(Renders.render(set).controller());
        Container controller = requireContainer(pod, "controller");
        String socket = socketPath(requireFlag(controller, "--endpoint"));
        VolumeMount driverMount = mountHolding(controller, socket).orElseThrow();
        assertThat(driverMount.getMountPath()).isEqualTo(parent(socket));
        assertThat(volume(pod, driverMount.getName()).getEmptyDir()).isNotNull();
        for (Container sidecar : pod.getContainers()) {
            if (sidecar == controller) {
                continue;
            }
            String address = requireFlag(sidecar, "--csi-address");
            assertThat(address).as(sidecar.getName()).isEqualTo(socket);
            VolumeMount mount = mountHolding(sidecar, address).orElseThrow(() -> new AssertionError(
                    sidecar.getName() + " does not mount the socket directory"));
            assertThat(mount.getName()).isEqualTo(driverMount.getName());
            assertThat(mount.getMountPath()).isEqualTo(driverMount.getMountPath());
        }
        // The liveness probe of the driver container calls the port the livenessprobe sidecar or the controller
        // itself serves /healthz on.
        int port = controller.getPorts().stream().filter(p -> "healthz".equals(p.getName())).findFirst().orElseThrow()
                .getContainerPort();
        Optional<Container> probe = container(pod, "liveness-probe");
        assertThat(probe.isPresent() ? requireFlag(probe.get(), "--http-endpoint")
                : requireFlag(controller, "--health-address")).isEqualTo(":" + port);
        assertThat(controller.getLivenessProbe().getHttpGet().getPort().getStrVal()).isEqualTo("healthz");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("valueSets")
    void theNodePodsSocketsAndPathsAgree(Renders.ValueSet set) {
        PodSpec pod = pod(Renders.render(set).node());
        Container plugin = requireContainer(pod, "node");
        Optional<Container> registrar = container(pod, "node-driver-registrar");
        Optional<Container> probe = container(pod, "liveness-probe");
        String kubeletDir = hostPathOf(pod, plugin, "kubelet-dir");

        // kubelet finds the plugin at <kubeletDir>/plugins/<driver>/csi.sock on the host.
        String socket = socketPath(requireFlag(plugin, "--endpoint"));
        VolumeMount pluginMount = mountHolding(plugin, socket).orElseThrow();
        assertThat(pluginMount.getMountPath()).isEqualTo(parent(socket));
        String hostDir = hostPathOf(pod, plugin, pluginMount.getName());
        String hostSocket = hostDir + socket.substring(pluginMount.getMountPath().length());
        assertThat(requireFlag(registrar.orElse(plugin), "--kubelet-registration-path")).isEqualTo(hostSocket);
        assertThat(hostDir).startsWith(kubeletDir + "/plugins/");
        for (Container sidecar : Stream.of(registrar, probe).flatMap(Optional::stream).toList()) {
            String address = requireFlag(sidecar, "--csi-address");
            assertThat(address).as(sidecar.getName()).isEqualTo(socket);
            VolumeMount mount = mountHolding(sidecar, address).orElseThrow();
            assertThat(mount.getName()).isEqualTo(pluginMount.getName());
            assertThat(mount.getMountPath()).isEqualTo(pluginMount.getMountPath());
        }
        // The registration directory (the registrar's, or the node plugin's own) is kubelet's plugins_registry.
        if (registrar.isPresent()) {
            VolumeMount registration = mountHolding(registrar.get(), "/registration").orElseThrow();
            assertThat(hostPathOf(pod, registrar.get(), registration.getName())).isEqualTo(kubeletDir + "/plugins_registry");
        } else {
            String registrationDir = requireFlag(plugin, "--plugin-registration-dir");
            VolumeMount below = mountHolding(plugin, registrationDir + "/x-reg.sock").orElseThrow();
            assertThat(hostPathOf(pod, plugin, below.getName()) + registrationDir.substring(below.getMountPath().length()))
                    .isEqualTo(kubeletDir + "/plugins_registry");
        }
        // Health port: the probe sidecar, or the node plugin itself, serves what the plugin's liveness probe calls.
        int port = plugin.getPorts().stream().filter(p -> "healthz".equals(p.getName())).findFirst().orElseThrow()
                .getContainerPort();
        assertThat(probe.isPresent() ? requireFlag(probe.get(), "--http-endpoint")
                : requireFlag(plugin, "--health-address")).isEqualTo(":" + port);

        // The mount helper's socket: the same path in both containers, on one shared emptyDir.
        Optional<Container> helper = container(pod, "mount-helper");
        if (helper.isPresent()) {
            String helperSocket = socketPath(requireFlag(helper.get(), "--endpoint"));
            assertThat(socketPath(requireFlag(plugin, "--mount-helper-endpoint"))).isEqualTo(helperSocket);
            VolumeMount inHelper = mountHolding(helper.get(), helperSocket).orElseThrow();
            VolumeMount inPlugin = mountHolding(plugin, helperSocket).orElseThrow(() -> new AssertionError(
                    "the node plugin does not mount the helper's socket directory"));
            assertThat(inPlugin.getName()).isEqualTo(inHelper.getName());
            assertThat(inPlugin.getMountPath()).isEqualTo(inHelper.getMountPath()).isEqualTo(parent(helperSocket));
            assertThat(volume(pod, inHelper.getName()).getEmptyDir()).as("private to the pod").isNotNull();
            // The helper mounts at the staging paths the plugin passes: the same path in both containers.
            VolumeMount staging = helper.get().getVolumeMounts().stream()
                    .filter(m -> "Bidirectional".equals(m.getMountPropagation())).findFirst().orElseThrow();
            VolumeMount pluginView = mountHolding(plugin, staging.getMountPath() + "/x").orElseThrow();
            assertThat(hostPathOf(pod, plugin, pluginView.getName())
                    + staging.getMountPath().substring(pluginView.getMountPath().length()))
                    .isEqualTo(hostPathOf(pod, helper.get(), staging.getName()));
        }
    }

    private static String hostPathOf(PodSpec pod, Container container, String volumeName) {
        assertThat(container.getVolumeMounts().stream().map(VolumeMount::getName)).contains(volumeName);
        Volume volume = volume(pod, volumeName);
        assertThat(volume.getHostPath()).as("%s is a hostPath", volumeName).isNotNull();
        return volume.getHostPath().getPath();
    }

    // ---- CSIDriver, sidecars, images ------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource("valueSets")
    void theCsiDriverObject(Renders.ValueSet set) {
        CSIDriver driver = Renders.render(set).csiDriver();
        assertThat(driver.getSpec().getAttachRequired()).isFalse();
        assertThat(driver.getSpec().getPodInfoOnMount()).isTrue();
        assertThat(driver.getSpec().getVolumeLifecycleModes()).containsExactly("Persistent");
        assertThat(driver.getSpec().getFsGroupPolicy()).isIn("None", "File", "ReadWriteOnceWithFSType");
    }

    @Test
    void defaults() {
        Rendered rendered = Renders.defaults();
        assertThat(rendered.csiDriver().getMetadata().getName()).isEqualTo("nfs.gateway-csi.io");
        assertThat(rendered.csiDriver().getSpec().getFsGroupPolicy()).isEqualTo("None");
        assertThat(rendered.storageClasses()).isEmpty();
        assertThat(rendered.all(Manifests.VolumeSnapshotClass.class)).isEmpty();
        Map<String, String> images = new java.util.TreeMap<>();
        pod(rendered.controller()).getContainers().forEach(c -> images.put("controller/" + c.getName(), c.getImage()));
        pod(rendered.node()).getContainers().forEach(c -> images.put("node/" + c.getName(), c.getImage()));
        // The node plugin registers with kubelet and both roles serve /healthz themselves: no registrar, no
        // livenessprobe containers.
        assertThat(images).containsExactlyInAnyOrderEntriesOf(Map.of(
                "controller/controller", "gateway-csi:0.1.0",
                "controller/csi-provisioner", "registry.k8s.io/sig-storage/csi-provisioner:v6.3.0",
                "controller/csi-resizer", "registry.k8s.io/sig-storage/csi-resizer:v2.2.1",
                "node/node", "gateway-csi:0.1.0",
                "node/mount-helper", "gateway-csi:0.1.0"));
        assertThat(requireContainer(pod(rendered.node()), "node").getArgs()).contains(
                "--plugin-registration-dir=/var/lib/kubelet/plugins_registry",
                "--kubelet-registration-path=/var/lib/kubelet/plugins/nfs.gateway-csi.io/csi.sock",
                "--health-address=:29663");
        assertThat(requireContainer(pod(rendered.controller()), "controller").getArgs()).contains("--health-address=:9808");
        PodSpec node = pod(rendered.node());
        assertThat(node.getPriorityClassName()).isEqualTo("system-node-critical");
        assertThat(rendered.node().getSpec().getUpdateStrategy().getRollingUpdate().getMaxUnavailable().getIntVal())
                .isEqualTo(1);
        assertThat(pod(rendered.controller()).getSecurityContext().getRunAsUser()).isEqualTo(65532L);
        Container provisioner = requireContainer(pod(rendered.controller()), "csi-provisioner");
        assertThat(provisioner.getArgs()).contains("--extra-create-metadata", "--leader-election=true",
                "--timeout=120s");
        // Resources: every container has a memory request and limit.
        Stream.concat(pod(rendered.controller()).getContainers().stream(), node.getContainers().stream())
                .forEach(c -> {
                    assertThat(c.getResources().getRequests()).as(c.getName()).containsKey("memory");
                    assertThat(c.getResources().getLimits()).as(c.getName()).containsKey("memory");
                });
        // From the measurements (bench/RESULTS.md): the node plugin's idle footprint and its peak in a storm.
        assertThat(requireContainer(node, "node").getResources().getRequests().get("memory").toString())
                .isEqualTo("80Mi");
        assertThat(requireContainer(node, "node").getResources().getLimits().get("memory").toString())
                .isEqualTo("192Mi");
        assertThat(requireContainer(node, "mount-helper").getResources().getRequests().get("memory").toString())
                .isEqualTo("96Mi");
        assertThat(requireContainer(pod(rendered.controller()), "controller").getResources().getLimits()
                .get("memory").toString()).isEqualTo("192Mi");
        // Events on, metrics off.
        assertThat(requireFlag(requireContainer(node, "node"), "--events")).isEqualTo("auto");
        assertThat(requireFlag(requireContainer(pod(rendered.controller()), "controller"), "--events"))
                .isEqualTo("auto");
        assertThat(rendered.all(ClusterRole.class)).extracting(r -> r.getMetadata().getName())
                .contains(Renders.RELEASE + "-gateway-csi-node-events");
    }

    @Test
    void everythingOnWithAMirrorAndMovedPaths() {
        Rendered rendered = render("everything.yaml");
        PodSpec controller = pod(rendered.controller());
        assertThat(controller.getContainers().stream().map(Container::getName)).containsExactly(
                "controller", "csi-provisioner", "csi-resizer", "csi-snapshotter", "liveness-probe");
        assertThat(requireContainer(controller, "csi-snapshotter").getImage())
                .isEqualTo("mirror.example.com/k8s/sig-storage/csi-snapshotter:v8.6.0");
        assertThat(requireContainer(controller, "controller").getImage()).isEqualTo(
                "mirror.example.com/k8s/platform/gateway-csi@sha256:"
                        + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
        assertThat(controller.getImagePullSecrets()).extracting("name").containsExactly("mirror-pull");
        assertThat(rendered.controller().getSpec().getReplicas()).isEqualTo(2);
        assertThat(requireContainer(controller, "csi-provisioner").getArgs())
                .doesNotContain("--snapshot-orphan-sweep-interval=0");
        assertThat(requireFlag(requireContainer(controller, "controller"), "--allowed-mount-options"))
                .isEqualTo("clientaddr,fsc");
        assertThat(requireContainer(pod(rendered.node()), "node-driver-registrar").getArgs())
                .contains("--kubelet-registration-path=/var/lib/k0s/kubelet/plugins/nfs.gateway.example.com/csi.sock");
        Manifests.VolumeSnapshotClass snapshotClass = rendered.only(Manifests.VolumeSnapshotClass.class);
        assertThat(snapshotClass.metadata().getName()).isEqualTo("gateway-snapshots");
        assertThat(snapshotClass.deletionPolicy()).isEqualTo("Retain");
        assertThat(snapshotClass.metadata().getAnnotations())
                .containsEntry("snapshot.storage.kubernetes.io/is-default-class", "true");
        StorageClass datasets = rendered.storageClasses().stream()
                .filter(s -> s.getMetadata().getName().equals("datasets")).findFirst().orElseThrow();
        assertThat(datasets.getMetadata().getAnnotations())
                .containsEntry("storageclass.kubernetes.io/is-default-class", "true");
        assertThat(datasets.getVolumeBindingMode()).isEqualTo("WaitForFirstConsumer");
        assertThat(rendered.node().getSpec().getUpdateStrategy().getType()).isEqualTo("OnDelete");
        assertThat(rendered.node().getSpec().getUpdateStrategy().getRollingUpdate()).isNull();
    }

    @Test
    void everythingOptionalOff() {
        Rendered rendered = render("minimal.yaml");
        assertThat(pod(rendered.controller()).getContainers().stream().map(Container::getName))
                .containsExactly("controller", "csi-provisioner");
        assertThat(requireContainer(pod(rendered.controller()), "csi-provisioner").getArgs())
                .contains("--leader-election=false", "--snapshot-orphan-sweep-interval=0");
        assertThat(pod(rendered.node()).getContainers().stream().map(Container::getName))
                .containsExactly("node");
        assertThat(pod(rendered.node()).getVolumes().stream().map(Volume::getName))
                .doesNotContain("staging-dir", "mount-helper-socket");
        assertThat(rendered.all(Role.class)).isEmpty();
        assertThat(rendered.all(ClusterRole.class)).extracting(r -> r.getMetadata().getName())
                .containsExactly(Renders.RELEASE + "-gateway-csi-provisioner");
        assertThat(rendered.node().getSpec().getUpdateStrategy().getRollingUpdate().getMaxUnavailable().getStrVal())
                .isEqualTo("25%");
        // Events off: no token anywhere in the node pod; no metrics.
        assertThat(requireFlag(requireContainer(pod(rendered.node()), "node"), "--events")).isEqualTo("off");
        assertThat(pod(rendered.node()).getVolumes()).noneMatch(v -> v.getProjected() != null);
        assertThat(rendered.services()).isEmpty();
        assertThat(rendered.serviceMonitors()).isEmpty();
        assertThat(rendered.configMaps()).isEmpty();
    }

    private static Rendered render(String testValues) {
        return Renders.render(Renders.valueSets().stream().filter(s -> s.label().endsWith("/" + testValues))
                .findFirst().orElseThrow());
    }

    // ---- StorageClasses ---------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource("valueSets")
    void everyStorageClassIsOneTheDriverAccepts(Renders.ValueSet set) {
        Rendered rendered = Renders.render(set);
        Set<String> allowed = Rendered.flag(requireContainer(pod(rendered.controller()), "controller").getArgs(),
                "--allowed-mount-options").map(v -> Set.of(v.split(","))).orElse(Set.of());
        for (StorageClass storageClass : rendered.storageClasses()) {
            VolumeParameters parameters = VolumeParameters.parse(storageClass.getParameters(),
                    VolumeParameters.Source.STORAGE_CLASS);
            List<String> mountFlags = Optional.ofNullable(storageClass.getMountOptions()).orElse(List.of());
            MountOptions.resolve(parameters, mountFlags, allowed);
            assertThat(storageClass.getReclaimPolicy()).isIn("Delete", "Retain");
        }
        if (set.label().startsWith("examples/")) {
            assertThat(rendered.storageClasses()).as("each example provides a StorageClass").isNotEmpty();
        }
    }

    @Test
    void theExamplesCoverBothRoles() {
        Set<String> readOnlyCache = new TreeSet<>();
        for (Renders.ValueSet set : Renders.valueSets()) {
            if (set.label().startsWith("examples/")) {
                for (StorageClass storageClass : Renders.render(set).storageClasses()) {
                    readOnlyCache.add(storageClass.getParameters().getOrDefault("readOnlyCache", "false"));
                }
            }
        }
        assertThat(readOnlyCache).as("a read-only dataset class and a read-write class").contains("true", "false");
    }

    // ---- RBAC -------------------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}")
    @MethodSource("valueSets")
    void rbacIsTheLeastEachSidecarNeeds(Renders.ValueSet set) {
        Rendered rendered = Renders.render(set);
        PodSpec controllerPod = pod(rendered.controller());
        Set<String> sidecars = new LinkedHashSet<>();
        controllerPod.getContainers().forEach(c -> sidecars.add(c.getName()));
        boolean snapshots = sidecars.contains("csi-snapshotter");
        Map<String, Set<String>> expected = new java.util.TreeMap<>();
        expected.put("provisioner", new TreeSet<>(List.of(
                "/persistentvolumes: create,delete,get,list,patch,watch",
                "/persistentvolumeclaims: get,list,update,watch",
                "storage.k8s.io/storageclasses: get,list,watch",
                "/events: create,list,patch,update,watch")));
        if (requireContainer(controllerPod, "controller").getArgs().contains("--controller-wireguard=auto")) {
            // controller.wireguard: the provisioner reads the Secrets StorageClasses name for CreateVolume and
            // DeleteVolume (the controller's WireGuard keys), nothing more.
            expected.get("provisioner").add("/secrets: get");
        }
        if (snapshots) {
            expected.get("provisioner").addAll(List.of(
                    "snapshot.storage.k8s.io/volumesnapshots: get,list,update,watch",
                    "snapshot.storage.k8s.io/volumesnapshotcontents: get,list"));
            expected.put("snapshotter", new TreeSet<>(List.of(
                    "/events: create,list,patch,update,watch",
                    "snapshot.storage.k8s.io/volumesnapshotclasses: get,list,watch",
                    "snapshot.storage.k8s.io/volumesnapshotcontents: get,list,patch,update,watch",
                    "snapshot.storage.k8s.io/volumesnapshotcontents/status: patch,update")));
        }
        if (sidecars.contains("csi-resizer")) {
            expected.put("resizer", new TreeSet<>(List.of(
                    "/persistentvolumes: get,list,patch,watch",
                    "/persistentvolumeclaims: get,list,watch",
                    "/persistentvolumeclaims/status: patch",
                    "/events: create,list,patch,update,watch")));
        }
        // Kubernetes Events of the node plugin: create and patch on events, nothing else, iff --events is on.
        PodSpec nodePod = pod(rendered.node());
        boolean nodeEvents = !requireFlag(requireContainer(nodePod, "node"), "--events").equals("off");
        if (nodeEvents) {
            expected.put("node-events", new TreeSet<>(List.of("/events: create,patch")));
        }
        Map<String, Set<String>> actual = new java.util.TreeMap<>();
        String prefix = Renders.RELEASE + "-gateway-csi-";
        for (ClusterRole role : rendered.all(ClusterRole.class)) {
            assertThat(role.getMetadata().getName()).startsWith(prefix);
            actual.put(role.getMetadata().getName().substring(prefix.length()), rules(role.getRules()));
        }
        assertThat(actual).as("%s: ClusterRoles", set).isEqualTo(expected);

        // Leader election: leases, in the release namespace only, iff enabled.
        boolean leaderElection = requireContainer(controllerPod, "csi-provisioner").getArgs()
                .contains("--leader-election=true");
        List<Role> roles = rendered.all(Role.class);
        if (leaderElection) {
            assertThat(roles).singleElement().satisfies(role -> {
                assertThat(role.getMetadata().getNamespace()).isEqualTo(rendered.namespace());
                assertThat(rules(role.getRules()))
                        .containsExactly("coordination.k8s.io/leases: create,delete,get,list,update,watch");
            });
        } else {
            assertThat(roles).isEmpty();
        }

        // Every binding binds one ServiceAccount to a role of this render: the node's to its events role, the
        // controller's to every other.
        String controllerAccount = controllerPod.getServiceAccountName();
        String nodeAccount = nodePod.getServiceAccountName();
        assertThat(nodeAccount).isNotEqualTo(controllerAccount);
        Set<String> accounts = new HashSet<>();
        rendered.all(ServiceAccount.class).forEach(a -> {
            assertThat(a.getMetadata().getNamespace()).isEqualTo(rendered.namespace());
            accounts.add(a.getMetadata().getName());
        });
        assertThat(accounts).contains(controllerAccount, pod(rendered.node()).getServiceAccountName());
        Set<String> clusterRoles = new HashSet<>();
        rendered.all(ClusterRole.class).forEach(r -> clusterRoles.add(r.getMetadata().getName()));
        List<ClusterRoleBinding> clusterBindings = rendered.all(ClusterRoleBinding.class);
        assertThat(clusterBindings).hasSameSizeAs(rendered.all(ClusterRole.class));
        for (ClusterRoleBinding binding : clusterBindings) {
            boolean forNode = binding.getRoleRef().getName().equals(prefix + "node-events");
            checkBinding(binding.getSubjects(), binding.getRoleRef(), "ClusterRole", clusterRoles,
                    forNode ? nodeAccount : controllerAccount, rendered.namespace());
        }
        assertThat(clusterBindings).as("%s: bindings of the node's ServiceAccount", set)
                .filteredOn(b -> b.getSubjects().stream().anyMatch(s -> s.getName().equals(nodeAccount)))
                .hasSize(nodeEvents ? 1 : 0);
        // The controller container sends its Events with the controller's ServiceAccount: some role bound to it
        // (csi-provisioner's) allows creating and patching them.
        Set<String> controllerEventVerbs = new TreeSet<>();
        for (ClusterRoleBinding binding : clusterBindings) {
            if (binding.getSubjects().getFirst().getName().equals(controllerAccount)) {
                rendered.all(ClusterRole.class).stream()
                        .filter(r -> r.getMetadata().getName().equals(binding.getRoleRef().getName()))
                        .flatMap(r -> r.getRules().stream())
                        .filter(r -> r.getApiGroups().contains("") && r.getResources().contains("events"))
                        .forEach(r -> controllerEventVerbs.addAll(r.getVerbs()));
            }
        }
        assertThat(controllerEventVerbs).as("%s: the controller's events", set).contains("create", "patch");
        Set<String> namespacedRoles = new HashSet<>();
        roles.forEach(r -> namespacedRoles.add(r.getMetadata().getName()));
        List<RoleBinding> bindings = rendered.all(RoleBinding.class);
        assertThat(bindings).hasSameSizeAs(roles);
        for (RoleBinding binding : bindings) {
            assertThat(binding.getMetadata().getNamespace()).isEqualTo(rendered.namespace());
            checkBinding(binding.getSubjects(), binding.getRoleRef(), "Role", namespacedRoles, controllerAccount,
                    rendered.namespace());
        }
    }

    private static void checkBinding(List<Subject> subjects, RoleRef ref, String kind, Set<String> roles,
                                     String account, String namespace) {
        assertThat(ref.getKind()).isEqualTo(kind);
        assertThat(roles).contains(ref.getName());
        assertThat(subjects).singleElement().satisfies(s -> {
            assertThat(s.getKind()).isEqualTo("ServiceAccount");
            assertThat(s.getName()).isEqualTo(account);
            assertThat(s.getNamespace()).isEqualTo(namespace);
        });
    }

    /** Rules as "group/resource: verbs" lines; wildcards and resourceNames fail the test. */
    private static Set<String> rules(List<PolicyRule> rules) {
        Set<String> lines = new TreeSet<>();
        for (PolicyRule rule : rules) {
            assertThat(rule.getResourceNames()).isNullOrEmpty();
            assertThat(rule.getNonResourceURLs()).isNullOrEmpty();
            for (String group : rule.getApiGroups()) {
                for (String resource : rule.getResources()) {
                    assertThat(List.of(group, resource)).doesNotContain("*");
                    assertThat(rule.getVerbs()).doesNotContain("*");
                    String line = group + "/" + resource + ": " + String.join(",", new TreeSet<>(rule.getVerbs()));
                    if (!lines.add(line)) {
                        fail("rule given twice: " + line);
                    }
                }
            }
        }
        return lines;
    }
}
