package io.gatewaycsi.common.volume;

import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * StorageClass parameters (CreateVolume's {@code parameters}) or a volume context (NodeStageVolume's
 * {@code volume_context}, a static PV's {@code volumeAttributes}), parsed strictly against the
 * {@link Parameter} table: unknown keys and bad values are refused with the key, the value and what is
 * allowed. Keys the external-provisioner and kubelet add ({@code csi.storage.k8s.io/*},
 * {@code storage.kubernetes.io/*}) are accepted and kept as metadata.
 */
public final class VolumeParameters {

    /** Where the map came from; it decides what {@code subDir} means and what it defaults to. */
    public enum Source {
        /** CreateVolume parameters: {@code subDir} is a template, by default {@code ${pv.metadata.name}}. */
        STORAGE_CLASS,
        /** A volume context: {@code subDir} is a resolved relative path, by default the share itself. */
        VOLUME_CONTEXT
    }

    /** External-provisioner metadata keys (with {@code --extra-create-metadata}). */
    public static final String PVC_NAME = "csi.storage.k8s.io/pvc/name";
    /** See {@link #PVC_NAME}. */
    public static final String PVC_NAMESPACE = "csi.storage.k8s.io/pvc/namespace";
    /** See {@link #PVC_NAME}. */
    public static final String PV_NAME = "csi.storage.k8s.io/pv/name";
    /**
     * The directory of a share where gateway-csi keeps its own records (volume records, snapshots): never a
     * volume, nor inside one.
     */
    public static final String RECORDS_DIR = ".gateway-csi";

    /** Whether {@code subDir} (relative to the share) is {@link #RECORDS_DIR} or lies inside it. */
    public static boolean isRecordsDir(String subDir) {
        String relative = subDir.startsWith("/") ? subDir.substring(1) : subDir;
        return relative.equals(RECORDS_DIR) || relative.startsWith(RECORDS_DIR + "/");
    }

    private static final Pattern TEMPLATE = Pattern.compile("\\$\\{([^}]*)}");

    private final Source source;
    private final EnumMap<Parameter, String> explicit;
    private final Map<String, String> metadata;

    private VolumeParameters(Source source, EnumMap<Parameter, String> explicit, Map<String, String> metadata) {
        this.source = source;
        this.explicit = explicit;
        this.metadata = metadata;
    }

    /**
     * Parses and validates {@code raw}.
     *
     * @throws IllegalArgumentException for an unknown key (naming the valid ones), a missing required key or a
     *                                  bad value ("parameter `timeo` must be 1..6000 deciseconds, got `0`")
     */
    public static VolumeParameters parse(Map<String, String> raw, Source source) {
        EnumMap<Parameter, String> explicit = new EnumMap<>(Parameter.class);
        Map<String, String> metadata = new TreeMap<>();
        for (Map.Entry<String, String> entry : new TreeMap<>(raw).entrySet()) {
            String key = entry.getKey();
            if (key.startsWith("csi.storage.k8s.io/") || key.startsWith("storage.kubernetes.io/")) {
                metadata.put(key, entry.getValue());
                continue;
            }
            Parameter parameter = Parameter.byKey(key).orElseThrow(() -> new IllegalArgumentException(
                    "unknown parameter `" + Values.printable(key) + "`; valid parameters are "
                            + String.join(", ", Parameter.keys())));
            String value = entry.getValue();
            if (parameter == Parameter.SUB_DIR && source == Source.VOLUME_CONTEXT) {
                explicit.put(parameter, contextSubDir(value));
            } else {
                explicit.put(parameter, parameter.normalize(value));
            }
        }
        for (Parameter parameter : Parameter.values()) {
            if (parameter.required() && !explicit.containsKey(parameter)) {
                throw new IllegalArgumentException("parameter `" + parameter.key() + "` is required: "
                        + parameter.allowed());
            }
        }
        if ("true".equals(explicit.get(Parameter.ENCRYPT_IN_TRANSIT)) && "3".equals(explicit.get(Parameter.NFS_VERSION))) {
            throw new IllegalArgumentException("parameter `encryptInTransit=true` needs NFSv4 (RPC-with-TLS, mount"
                    + " option xprtsec=tls), but `nfsVersion` is 3; use nfsVersion 4.1 or 4.2");
        }
        boolean peer = explicit.containsKey(Parameter.WIREGUARD_PEER_PUBLIC_KEY);
        if (peer != explicit.containsKey(Parameter.WIREGUARD_ENDPOINT)) {
            throw new IllegalArgumentException("parameters `wireguardPeerPublicKey` and `wireguardEndpoint` go"
                    + " together (a WireGuard tunnel to the gateway needs both); give "
                    + (peer ? "`wireguardEndpoint` (the gateway's host:port)" : "`wireguardPeerPublicKey` (the"
                    + " gateway's public key)") + " or neither");
        }
        if (peer && !Values.ipLiteral(explicit.get(Parameter.SERVER))) {
            throw new IllegalArgumentException("parameter `server` must be the gateway's IP address inside the"
                    + " WireGuard tunnel when `wireguardPeerPublicKey` is given (only that address is routed through"
                    + " the tunnel), got `" + Values.printable(explicit.get(Parameter.SERVER)) + "`");
        }
        return new VolumeParameters(source, explicit, metadata);
    }

    private static String contextSubDir(String value) {
        String stripped = value.replaceAll("/+$", "");
        if (stripped.isEmpty()) {
            return "";
        }
        if (!stripped.equals(stripped.strip())) {
            throw new IllegalArgumentException("parameter `subDir` must be a relative path below the share, got `"
                    + Values.printable(value) + "`: white space around the value is not allowed");
        }
        try {
            return Values.relativePath(stripped);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("parameter `subDir` must be a relative path below the share, got `"
                    + Values.printable(value) + "`: " + e.getMessage());
        }
    }

    /** The value given for {@code parameter}, if it was given. */
    public Optional<String> explicit(Parameter parameter) {
        return Optional.ofNullable(explicit.get(parameter));
    }

    /** Whether {@code parameter} was given (rather than defaulted). */
    public boolean isExplicit(Parameter parameter) {
        return explicit.containsKey(parameter);
    }

    /** The value in force: the given one, else the default, else empty. */
    public Optional<String> get(Parameter parameter) {
        if (explicit.containsKey(parameter)) {
            return Optional.of(explicit.get(parameter));
        }
        if (parameter == Parameter.SUB_DIR && source == Source.VOLUME_CONTEXT) {
            return Optional.of("");
        }
        return parameter.defaultValue();
    }

    /** The value in force of a parameter that always has one (required or defaulted). */
    public String value(Parameter parameter) {
        return get(parameter).orElseThrow(() -> new IllegalStateException(parameter.key() + " has no value"));
    }

    /** The value in force of a true/false parameter. */
    public boolean isTrue(Parameter parameter) {
        return get(parameter).map(Parameter::isTrue).orElse(false);
    }

    /** The gateway's host name or address. */
    public String server() {
        return value(Parameter.SERVER);
    }

    /** The exported path, absolute and normalized. */
    public String share() {
        return value(Parameter.SHARE);
    }

    /** The provisioner and kubelet keys that came with the parameters. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /**
     * The volume's directory below the share: in a volume context the given path; from a StorageClass the
     * {@code subDir} template with its variables replaced from the provisioner's metadata.
     * {@code ${pv.metadata.name}} falls back to {@code volumeName} (the PV name kubernetes passes as
     * CreateVolume's name).
     *
     * @throws IllegalArgumentException when a variable has no value (the provisioner runs without
     *                                  {@code --extra-create-metadata}) or the result is not a safe relative path
     */
    public String resolveSubDir(String volumeName) {
        String template = value(Parameter.SUB_DIR);
        if (source == Source.VOLUME_CONTEXT) {
            return template;
        }
        Matcher variables = TEMPLATE.matcher(template);
        StringBuilder resolved = new StringBuilder();
        while (variables.find()) {
            String variable = variables.group(1);
            String value = switch (variable) {
                case "pvc.metadata.name" -> metadata.get(PVC_NAME);
                case "pvc.metadata.namespace" -> metadata.get(PVC_NAMESPACE);
                default -> metadata.getOrDefault(PV_NAME, volumeName);
            };
            if (value == null || value.isEmpty()) {
                throw new IllegalArgumentException("parameter `subDir` uses ${" + variable + "} but CreateVolume"
                        + " did not receive it; run csi-provisioner with --extra-create-metadata");
            }
            variables.appendReplacement(resolved, Matcher.quoteReplacement(value));
        }
        variables.appendTail(resolved);
        try {
            return Values.relativePath(resolved.toString());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("parameter `subDir` resolves to `" + Values.printable(resolved.toString())
                    + "`, which is not a safe relative path: " + e.getMessage());
        }
    }

    /**
     * The volume context CreateVolume returns: every parameter in force (so a later change of defaults
     * cannot change an existing volume), with {@code subDir} resolved and {@code mountOptions} holding the
     * StorageClass mount options, except that a default overridden by a mount option is left out (the
     * option decides).
     */
    public Map<String, String> volumeContext(String subDir, MountOptions resolved) {
        Map<String, String> context = new LinkedHashMap<>();
        for (Parameter parameter : Parameter.values()) {
            if (parameter == Parameter.SUB_DIR) {
                context.put(parameter.key(), subDir);
            } else if (parameter == Parameter.MOUNT_OPTIONS) {
                if (!resolved.extraOptions().isEmpty()) {
                    context.put(parameter.key(), resolved.extraOptions());
                }
            } else if (isExplicit(parameter) || !resolved.overriddenDefaults().contains(parameter)) {
                get(parameter).ifPresent(value -> context.put(parameter.key(), value));
            }
        }
        return context;
    }
}
