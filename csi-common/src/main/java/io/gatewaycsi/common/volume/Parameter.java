package io.gatewaycsi.common.volume;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The StorageClass parameters of gateway-csi: the one table that drives parsing, validation, the error
 * messages and the README's parameter table. The same keys are valid in a static PersistentVolume's
 * {@code volumeAttributes} and in the {@code volume_context} CreateVolume returns.
 *
 * <p>Each entry has a key, a default (none for required or optional-without-default keys), what is allowed
 * (shown in errors and docs) and a normalizer that returns the canonical value or throws
 * {@link IllegalArgumentException} with the reason.
 */
public enum Parameter {

    /** The gateway's host name or IP address (nfs(5) "server"). */
    SERVER("server", null, "a host name, IPv4 or IPv6 address", "Gateway host name or IP address. Required.",
            Values::host),
    /** The exported path on the gateway. */
    SHARE("share", null, "an absolute path such as /my-bucket", "Exported path on the gateway. Required.",
            Values::share),
    /**
     * The volume's directory below the share. In a StorageClass a template over
     * {@code ${pvc.metadata.name}}, {@code ${pvc.metadata.namespace}}, {@code ${pv.metadata.name}}; in a
     * volume context the resolved relative path.
     */
    SUB_DIR("subDir", "${pv.metadata.name}", "a relative path; templates ${pvc.metadata.name},"
            + " ${pvc.metadata.namespace}, ${pv.metadata.name}",
            "Directory of each volume below the share, at most 64 levels deep. A volume owns its whole tree: a"
                    + " subDir inside another volume, around one, or inside a directory gateway-csi did not make is"
                    + " refused (FAILED_PRECONDITION). Parent directories it needs are made with mode 0755 and"
                    + " removed with their last volume. Include ${pvc.metadata.namespace} when using"
                    + " ${pvc.metadata.name}: claims of one name in two namespaces would otherwise share a directory.",
            Values::subDirTemplate),
    /** NFS protocol version (nfs(5) {@code vers}). */
    NFS_VERSION("nfsVersion", "4.1", "3, 4, 4.0, 4.1 or 4.2", "NFS protocol version (mount option `vers`).",
            Values.choice("3", "4", "4.0", "4.1", "4.2")),
    /** {@code hard} retries forever; {@code soft} fails after timeo × (retrans + 1) (nfs(5)). */
    MOUNT_MODE("mountMode", "hard", "hard or soft",
            "`hard` retries until the gateway answers; `soft` fails I/O with EIO: through the mount helper and"
                    + " through the kernel on NFSv3 after about timeo × (retrans + 1); through the kernel on NFSv4"
                    + " (Linux 6.1, measured in test/kernel) the first call after the gateway falls silent fails only"
                    + " when the kernel gives up the TCP connection, after about the gateway's NFSv4 lease time (60 s"
                    + " lease: 60-88 s; 20 s lease: 22 s; timeo and retrans do not change it: NFSv4 never retransmits"
                    + " on a live connection), later calls after about timeo × (retrans + 1). For a short first"
                    + " failure use nfsVersion 3.",
            Values.choice("hard", "soft")),
    /** RPC timeout in deciseconds (nfs(5) {@code timeo}). */
    TIMEO("timeo", "600", "1..6000 deciseconds", "RPC timeout in deciseconds (mount option `timeo`). Through the"
            + " kernel, volumes of one export share one NFS superblock: a volume mounted while another of the same"
            + " export is mounted gets that mount's timeo, retrans and soft/hard unless its mountOptions have"
            + " `nosharecache` (reported as the MountOptionsNotApplied event; `gateway-csi doctor` shows what a node"
            + " would share).",
            Values.integer(1, 6000)),
    /** Retries before a major timeout (nfs(5) {@code retrans}). */
    RETRANS("retrans", "2", "0..100", "Retransmissions before a major timeout (mount option `retrans`). Shared"
            + " like timeo.",
            Values.integer(0, 100)),
    /** Number of TCP connections to the gateway (nfs(5) {@code nconnect}). */
    NCONNECT("nconnect", null, "1..16", "TCP connections to the gateway (mount option `nconnect`). Through the"
            + " kernel all mounts of one gateway share one NFS client: the first mount's nconnect applies to every"
            + " later one, with or without `nosharecache` (reported as the MountOptionsNotApplied event).",
            Values.integer(1, 16)),
    /** Read size in bytes (nfs(5) {@code rsize}). */
    RSIZE("rsize", null, "1024..1048576 bytes, a power of two",
            "Read size in bytes (mount option `rsize`). The kernel would round other sizes down (3072 to 2048).",
            Values.ioSize()),
    /** Write size in bytes (nfs(5) {@code wsize}). */
    WSIZE("wsize", null, "1024..1048576 bytes, a power of two",
            "Write size in bytes (mount option `wsize`). The kernel would round other sizes down (5120 to 4096).",
            Values.ioSize()),
    /** Caching for read-mostly datasets: {@code nocto} and {@code actimeo=600}. */
    READ_ONLY_CACHE("readOnlyCache", "false", "true or false",
            "For read-mostly datasets: adds `nocto,actimeo=600` (attributes cached 10 minutes, no"
                    + " close-to-open checks). Writers on other nodes become visible late.",
            Values.bool()),
    /** RPC-with-TLS to the gateway (nfs(5) {@code xprtsec=tls}). */
    ENCRYPT_IN_TRANSIT("encryptInTransit", "false", "true or false",
            "Encrypt NFS traffic with RPC-with-TLS (mount option `xprtsec=tls`; needs NFSv4.x, Linux 6.5 or later"
                    + " and tlshd on the node).",
            Values.bool()),
    /** Who performs the staging mount: the kernel, the mount helper, or the kernel with fallback. */
    MOUNT_BACKEND("mountBackend", "auto", "auto, kernel or sidecar",
            "`auto` mounts in the kernel and falls back to the mount helper where the node cannot;"
                    + " `kernel` never falls back; `sidecar` always uses the mount helper.",
            Values.choice("auto", "kernel", "sidecar")),
    /** What DeleteVolume does with the volume's directory. */
    ON_DELETE("onDelete", "delete", "delete, retain or archive",
            "DeleteVolume: `delete` removes the directory tree (never following symlinks), `retain` keeps"
                    + " it, `archive` renames it to archived-<name>-<UTC time> beside it.",
            Values.choice("delete", "retain", "archive")),
    /** Mode of the volume's new directory, octal. */
    MOUNT_PERMISSIONS("mountPermissions", null, "an octal mode 0..7777 such as 0775",
            "Mode applied to each new volume directory (octal); without it 0777. Parent directories a nested"
                    + " subDir needs are always 0755.", Values.octalMode()),
    /** The gateway's WireGuard public key: the peer of the node's tunnel (wg(8) {@code peer}). */
    WIREGUARD_PEER_PUBLIC_KEY("wireguardPeerPublicKey", null, "a WireGuard public key: 44 characters of base64"
            + " (32 bytes), as `wg pubkey` prints it",
            "Reach the gateway through a WireGuard tunnel: the gateway's public key (from its operator). Needs"
                    + " `wireguardEndpoint`, and the tunnel Secret (wireguardPrivateKey, wireguardAddress, optional"
                    + " wireguardPresharedKey) named by csi.storage.k8s.io/node-stage-secret-* and"
                    + " csi.storage.k8s.io/provisioner-secret-*. `server` is then the gateway's address inside the"
                    + " tunnel; only that address is routed through it.", Values::wireguardKey),
    /** Where the gateway's WireGuard listens (wg(8) {@code endpoint}). */
    WIREGUARD_ENDPOINT("wireguardEndpoint", null, "host:port or [ipv6]:port (UDP)",
            "The gateway's public WireGuard endpoint (from its operator); with `wireguardPeerPublicKey`.",
            Values::endpoint),
    /** Extra nfs(5) options, comma-separated, merged with the StorageClass mountOptions. */
    MOUNT_OPTIONS("mountOptions", null, "comma-separated nfs(5) options such as nconnect=8,noresvport",
            "Extra mount options, validated and merged like the StorageClass `mountOptions`. `ro` (here or in the"
                    + " StorageClass) is refused under a read-write access mode: use accessModes ReadOnlyMany or"
                    + " readOnly: true on the pod's volume. The kernel ignores `nolock` and `local_lock` on NFSv4 and"
                    + " `intr` everywhere (reported as the MountOptionsNotApplied event).",
            Values::mountOptionList);

    private static final Map<String, Parameter> BY_KEY = Arrays.stream(values())
            .collect(Collectors.toUnmodifiableMap(Parameter::key, Function.identity()));

    private final String key;
    private final String defaultValue;
    private final String allowed;
    private final String description;
    private final Function<String, String> normalizer;

    Parameter(String key, String defaultValue, String allowed, String description,
              Function<String, String> normalizer) {
        this.key = key;
        this.defaultValue = defaultValue;
        this.allowed = allowed;
        this.description = description;
        this.normalizer = normalizer;
    }

    /** The key as written in a StorageClass. */
    public String key() {
        return key;
    }

    /** The value used when the key is absent, if any. */
    public Optional<String> defaultValue() {
        return Optional.ofNullable(defaultValue);
    }

    /** What the key accepts, as shown in errors and docs. */
    public String allowed() {
        return allowed;
    }

    /** What the key does, for the docs. */
    public String description() {
        return description;
    }

    /** Whether a StorageClass must give this key. */
    public boolean required() {
        return this == SERVER || this == SHARE;
    }

    /**
     * Returns the canonical form of {@code value}.
     *
     * Values are taken as given: white space around a value and control characters anywhere (a trailing
     * newline from a YAML block scalar) are refused, not trimmed.
     *
     * @throws IllegalArgumentException "parameter `key` must be …, got `value`"
     */
    public String normalize(String value) {
        try {
            if (!value.equals(value.strip())) {
                throw new IllegalArgumentException("white space around the value is not allowed");
            }
            if (value.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
                throw new IllegalArgumentException("control characters are not allowed");
            }
            return normalizer.apply(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("parameter `" + key + "` must be " + allowed + ", got `"
                    + Values.printable(value) + "`" + (e.getMessage() != null ? ": " + e.getMessage() : ""));
        }
    }

    /** The parameter with {@code key}, if it is one of ours. */
    public static Optional<Parameter> byKey(String key) {
        return Optional.ofNullable(BY_KEY.get(key));
    }

    /** Every key, in table order, for error messages. */
    public static List<String> keys() {
        return Arrays.stream(values()).map(Parameter::key).toList();
    }

    /**
     * The parameter table as Markdown (key, default, allowed values, meaning), as the README shows it and
     * {@code gateway-csi parameters} prints it.
     */
    public static String markdownTable() {
        StringBuilder table = new StringBuilder("| parameter | default | allowed | what it does |\n|---|---|---|---|\n");
        for (Parameter parameter : values()) {
            table.append("| `").append(parameter.key).append("` | ")
                    .append(parameter.required() ? "required" : parameter.defaultValue().map(v -> "`" + v + "`").orElse("—"))
                    .append(" | ").append(parameter.allowed.replace("|", "\\|")).append(" | ")
                    .append(parameter.description.replace("|", "\\|")).append(" |\n");
        }
        return table.toString();
    }

    /** The value of a boolean parameter. */
    static boolean isTrue(String normalized) {
        return "true".equals(normalized.toLowerCase(Locale.ROOT));
    }
}
