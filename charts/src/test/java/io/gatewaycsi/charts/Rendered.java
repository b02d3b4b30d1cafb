package io.gatewaycsi.charts;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.storage.CSIDriver;
import io.fabric8.kubernetes.api.model.storage.StorageClass;
import java.util.List;
import java.util.Optional;

/** The strictly parsed manifests of one {@code helm template}, with the lookups the tests need. */
record Rendered(String label, String namespace, List<Manifests.Manifest> manifests) {

    static Rendered of(String label, String namespace, String yaml) {
        return new Rendered(label, namespace, Manifests.parse(yaml));
    }

    <T> List<T> all(Class<T> type) {
        return manifests.stream().map(Manifests.Manifest::object).filter(type::isInstance).map(type::cast).toList();
    }

    <T> T only(Class<T> type) {
        List<T> found = all(type);
        if (found.size() != 1) {
            throw new AssertionError(label + ": expected one " + type.getSimpleName() + ", found " + found.size());
        }
        return found.getFirst();
    }

    Deployment controller() {
        return only(Deployment.class);
    }

    DaemonSet node() {
        return only(DaemonSet.class);
    }

    CSIDriver csiDriver() {
        return only(CSIDriver.class);
    }

    List<StorageClass> storageClasses() {
        return all(StorageClass.class);
    }

    List<Service> services() {
        return all(Service.class);
    }

    List<Manifests.ServiceMonitor> serviceMonitors() {
        return all(Manifests.ServiceMonitor.class);
    }

    List<ConfigMap> configMaps() {
        return all(ConfigMap.class);
    }

    static PodSpec pod(Deployment deployment) {
        return deployment.getSpec().getTemplate().getSpec();
    }

    static PodSpec pod(DaemonSet daemonSet) {
        return daemonSet.getSpec().getTemplate().getSpec();
    }

    static Optional<Container> container(PodSpec pod, String name) {
        return pod.getContainers().stream().filter(c -> c.getName().equals(name)).findFirst();
    }

    static Container requireContainer(PodSpec pod, String name) {
        return container(pod, name).orElseThrow(() -> new AssertionError("no container " + name + " in "
                + pod.getContainers().stream().map(Container::getName).toList()));
    }

    static Volume volume(PodSpec pod, String name) {
        return pod.getVolumes().stream().filter(v -> v.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no volume " + name));
    }

    /** The mount of {@code container} whose mount path is {@code path} or contains it (longest first). */
    static Optional<VolumeMount> mountHolding(Container container, String path) {
        return container.getVolumeMounts().stream()
                .filter(m -> path.equals(m.getMountPath()) || path.startsWith(m.getMountPath() + "/"))
                .max((a, b) -> Integer.compare(a.getMountPath().length(), b.getMountPath().length()));
    }

    /** The value of {@code --name=value} in {@code args}, if given. */
    static Optional<String> flag(List<String> args, String name) {
        String prefix = name + "=";
        List<String> values = args.stream().filter(a -> a.startsWith(prefix)).map(a -> a.substring(prefix.length()))
                .toList();
        if (values.size() > 1) {
            throw new AssertionError(name + " given " + values.size() + " times in " + args);
        }
        return values.stream().findFirst();
    }

    static String requireFlag(Container container, String name) {
        return flag(container.getArgs(), name).orElseThrow(() -> new AssertionError(
                "container " + container.getName() + " has no " + name + "=…: " + container.getArgs()));
    }

    /** The path of a {@code unix://…} endpoint, or the value itself when it is a plain path. */
    static String socketPath(String endpoint) {
        return endpoint.startsWith("unix://") ? endpoint.substring("unix://".length()) : endpoint;
    }

    static String parent(String path) {
        return path.substring(0, path.lastIndexOf('/'));
    }
}
