package io.gatewaycsi.common.volume;

import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * The keys of the tunnel Secret: what a node (and the controller) needs of its own to reach a gateway through
 * WireGuard, kept in a Kubernetes Secret the StorageClass names through the standard CSI secret parameters
 * ({@code csi.storage.k8s.io/node-stage-secret-name}/{@code -namespace} for NodeStageVolume,
 * {@code csi.storage.k8s.io/provisioner-secret-name}/{@code -namespace} for CreateVolume and DeleteVolume).
 * Names follow wg-quick(8)'s {@code [Interface] PrivateKey, Address} and {@code [Peer] PresharedKey}.
 *
 * <p>Validation errors name the key, what it must be and why not, and never the value: these are secrets
 * (CSI spec, "Secrets Requirements").
 */
public enum TunnelSecret {

    /** The node's private key ({@code wg genkey}). */
    PRIVATE_KEY("wireguardPrivateKey", true, "a WireGuard private key: 44 characters of base64 (32 bytes), as"
            + " `wg genkey` prints it", "The private key of this side of the tunnel; its public key"
            + " (`wg pubkey`) is what the gateway's operator adds as a peer.", Values::wireguardKey),
    /** This side's address inside the tunnel. */
    ADDRESS("wireguardAddress", true, "an IP address, optionally with a prefix: 10.213.200.2/32",
            "This side's address inside the tunnel, as the gateway's operator assigned it (the peer's AllowedIPs"
                    + " on the gateway).", Values::interfaceAddress),
    /** An optional preshared key ({@code wg genpsk}), as the gateway's operator gave it. */
    PRESHARED_KEY("wireguardPresharedKey", false, "44 characters of base64 (32 bytes), as `wg genpsk` prints it",
            "Optional extra symmetric key, when the gateway's operator set one for this peer.", Values::wireguardKey);

    private final String key;
    private final boolean required;
    private final String allowed;
    private final String description;
    private final Function<String, String> normalizer;

    TunnelSecret(String key, boolean required, String allowed, String description, Function<String, String> normalizer) {
        this.key = key;
        this.required = required;
        this.allowed = allowed;
        this.description = description;
        this.normalizer = normalizer;
    }

    /** The key in the Secret's {@code data} / {@code stringData}. */
    public String key() {
        return key;
    }

    /** What it accepts, as shown in errors and docs. */
    public String allowed() {
        return allowed;
    }

    /** Whether a tunnel needs it. */
    public boolean required() {
        return required;
    }

    /**
     * The canonical form of {@code value}.
     *
     * @param secret which secret it came from, for the message ({@code node-stage}, {@code provisioner})
     * @throws IllegalArgumentException "secret key `k` of the <secret> secret must be …: <why> (the value is not
     *                                  shown)"; never with the value
     */
    public String normalize(String value, String secret) {
        try {
            if (!value.equals(value.strip())) {
                throw new IllegalArgumentException("white space around the value (a trailing newline from"
                        + " `wg genkey > file`?) is not allowed");
            }
            return normalizer.apply(value);
        } catch (IllegalArgumentException e) {
            // The normalizers' reasons never quote the value; the host normalizer's might, so it is not used here.
            throw new IllegalArgumentException("secret key `" + key + "` of the " + secret + " secret must be "
                    + allowed + (e.getMessage() != null ? ": " + e.getMessage() : "") + " (the value is not shown)");
        }
    }

    /** Every key, in table order. */
    public static List<String> keys() {
        return Arrays.stream(values()).map(TunnelSecret::key).toList();
    }

    /** The table of Secret keys as Markdown (key, required, allowed, meaning), as the README shows it. */
    public static String markdownTable() {
        StringBuilder table = new StringBuilder("| Secret key | | allowed | what it is |\n|---|---|---|---|\n");
        for (TunnelSecret secret : values()) {
            table.append("| `").append(secret.key).append("` | ").append(secret.required ? "required" : "optional")
                    .append(" | ").append(secret.allowed).append(" | ").append(secret.description).append(" |\n");
        }
        return table.toString();
    }
}
