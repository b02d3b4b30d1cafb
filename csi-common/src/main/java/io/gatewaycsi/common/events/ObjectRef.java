package io.gatewaycsi.common.events;

import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The Kubernetes object an event is about (core/v1 {@code ObjectReference}): a Pod or a PersistentVolumeClaim,
 * both namespaced, {@code apiVersion: v1}.
 *
 * @param kind      {@code Pod} or {@code PersistentVolumeClaim}
 * @param namespace the object's namespace
 * @param name      the object's name
 * @param uid       the object's UID, or {@code ""} when not known
 */
public record ObjectRef(String kind, String namespace, String name, String uid) {

    /** NodePublishVolume's volume_context key with {@code podInfoOnMount: true} (CSIDriver object). */
    public static final String POD_NAME = "csi.storage.k8s.io/pod.name";
    /** See {@link #POD_NAME}. */
    public static final String POD_NAMESPACE = "csi.storage.k8s.io/pod.namespace";
    /** See {@link #POD_NAME}. */
    public static final String POD_UID = "csi.storage.k8s.io/pod.uid";
    /** CreateVolume parameter from csi-provisioner's {@code --extra-create-metadata}. */
    public static final String PVC_NAME = "csi.storage.k8s.io/pvc/name";
    /** See {@link #PVC_NAME}. */
    public static final String PVC_NAMESPACE = "csi.storage.k8s.io/pvc/namespace";

    /** Requires kind, namespace and name. */
    public ObjectRef {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(name, "name");
        uid = uid == null ? "" : uid;
    }

    /** A Pod. */
    public static ObjectRef pod(String namespace, String name, String uid) {
        return new ObjectRef("Pod", namespace, name, uid);
    }

    /** A PersistentVolumeClaim. */
    public static ObjectRef claim(String namespace, String name) {
        return new ObjectRef("PersistentVolumeClaim", namespace, name, "");
    }

    /** The Pod named in a NodePublishVolume volume_context, if kubelet passed it (podInfoOnMount). */
    public static Optional<ObjectRef> podOf(Map<String, String> volumeContext) {
        String name = volumeContext.get(POD_NAME);
        String namespace = volumeContext.get(POD_NAMESPACE);
        if (blank(name) || blank(namespace)) {
            return Optional.empty();
        }
        return Optional.of(pod(namespace, name, volumeContext.getOrDefault(POD_UID, "")));
    }

    /**
     * The claim named in CreateVolume parameters (csi-provisioner {@code --extra-create-metadata}) or in a
     * volume context the controller filled from them.
     */
    public static Optional<ObjectRef> claimOf(Map<String, String> parametersOrContext) {
        String name = parametersOrContext.get(PVC_NAME);
        String namespace = parametersOrContext.get(PVC_NAMESPACE);
        if (blank(name) || blank(namespace)) {
            return Optional.empty();
        }
        return Optional.of(claim(namespace, name));
    }

    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }

    /** {@code Pod ns/name}, for logs. */
    @Override
    public String toString() {
        return kind + " " + namespace + "/" + name;
    }
}
