package io.gatewaycsi.common.volume;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;

/**
 * A WireGuard tunnel to a gateway (wg(8)): the peer and endpoint from the volume's parameters
 * ({@link Parameter#WIREGUARD_PEER_PUBLIC_KEY}, {@link Parameter#WIREGUARD_ENDPOINT}), this side's keys and
 * address from the tunnel Secret ({@link TunnelSecret}), and the gateway's address inside the tunnel
 * ({@code server}), the only address routed through it.
 *
 * <p>{@link #toString()} shows no key material; the private and preshared keys are reachable only through
 * {@link #privateKey()} and {@link #presharedKey()}, to hand to wg(8) on its standard input.
 */
public final class WireGuardTunnel {

    /** Prefix of the tunnel interfaces gateway-csi makes; the rest is a digest of the peer's public key. */
    public static final String INTERFACE_PREFIX = "gcsi-";

    private final String peerPublicKey;
    private final String endpoint;
    private final String gatewayAddress;
    private final String privateKey;
    private final String address;
    private final String presharedKey;

    private WireGuardTunnel(String peerPublicKey, String endpoint, String gatewayAddress, String privateKey,
                            String address, String presharedKey) {
        this.peerPublicKey = peerPublicKey;
        this.endpoint = endpoint;
        this.gatewayAddress = gatewayAddress;
        this.privateKey = privateKey;
        this.address = address;
        this.presharedKey = presharedKey;
    }

    /**
     * The tunnel a volume asks for, if any: present when its parameters name a WireGuard peer, then built from
     * {@code secrets} (the CSI request's {@code secrets} field).
     *
     * @param secret which CSI secret carries it, for messages: {@code node-stage} or {@code provisioner}
     * @throws IllegalArgumentException when the parameters name a peer and the secret lacks a required key or
     *                                  holds a bad value; the message names the key and the fix, never a value
     */
    public static Optional<WireGuardTunnel> of(VolumeParameters parameters, Map<String, String> secrets, String secret) {
        Optional<String> peer = parameters.get(Parameter.WIREGUARD_PEER_PUBLIC_KEY);
        if (peer.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(of(peer.get(), parameters.value(Parameter.WIREGUARD_ENDPOINT), parameters.server(), secrets,
                secret));
    }

    /**
     * The tunnel to a peer already known (a recorded tunnel, for DeleteVolume, whose request carries only the
     * volume ID and the secrets), with this side's keys from {@code secrets}.
     *
     * @throws IllegalArgumentException as {@link #of(VolumeParameters, Map, String)}
     */
    public static WireGuardTunnel of(String peer, String endpoint, String server, Map<String, String> secrets,
                                     String secret) {
        String[] values = new String[TunnelSecret.values().length];
        for (TunnelSecret key : TunnelSecret.values()) {
            String value = secrets.get(key.key());
            if (value == null || value.isEmpty()) {
                if (key.required()) {
                    throw new IllegalArgumentException("parameter `wireguardPeerPublicKey` asks for a WireGuard tunnel,"
                            + " but the " + secret + " secret has no `" + key.key() + "` (" + key.allowed() + "); put it"
                            + " in the tunnel Secret and name that Secret in the StorageClass with"
                            + " csi.storage.k8s.io/" + secret + "-secret-name and -namespace");
                }
                continue;
            }
            values[key.ordinal()] = key.normalize(value, secret);
        }
        if (values[TunnelSecret.PRESHARED_KEY.ordinal()] != null
                && values[TunnelSecret.PRESHARED_KEY.ordinal()].equals(values[TunnelSecret.PRIVATE_KEY.ordinal()])) {
            throw new IllegalArgumentException("secret keys `wireguardPresharedKey` and `wireguardPrivateKey` of the "
                    + secret + " secret are the same key; the preshared key comes from the gateway's operator"
                    + " (`wg genpsk`), never the private key");
        }
        return new WireGuardTunnel(Parameter.WIREGUARD_PEER_PUBLIC_KEY.normalize(peer),
                Parameter.WIREGUARD_ENDPOINT.normalize(endpoint), server, values[TunnelSecret.PRIVATE_KEY.ordinal()],
                values[TunnelSecret.ADDRESS.ordinal()], values[TunnelSecret.PRESHARED_KEY.ordinal()]);
    }

    /** The gateway's public key (wg(8) {@code peer}); not secret. */
    public String peerPublicKey() {
        return peerPublicKey;
    }

    /** The gateway's endpoint, {@code host:port} (wg(8) {@code endpoint}). */
    public String endpoint() {
        return endpoint;
    }

    /** The gateway's address inside the tunnel ({@code server}): the only address routed through it. */
    public String gatewayAddress() {
        return gatewayAddress;
    }

    /** {@link #gatewayAddress()} as a host route: {@code a.b.c.d/32} or {@code x::y/128}. */
    public String gatewayRoute() {
        return gatewayAddress + (gatewayAddress.contains(":") ? "/128" : "/32");
    }

    /** This side's tunnel address with its prefix, {@code 10.213.200.2/32}. */
    public String address() {
        return address;
    }

    /** This side's private key, base64. Secret: never log it; hand it to wg(8) on standard input. */
    public String privateKey() {
        return privateKey;
    }

    /** The preshared key, base64, if one was given. Secret, as {@link #privateKey()}. */
    public Optional<String> presharedKey() {
        return Optional.ofNullable(presharedKey);
    }

    /**
     * The name of the tunnel interface to this peer on a node: {@link #INTERFACE_PREFIX} and 10 hex digits of
     * the SHA-256 of the peer's public key (15 bytes, Linux's IFNAMSIZ - 1). One interface per gateway peer.
     */
    public String interfaceName() {
        return interfaceName(peerPublicKey);
    }

    /** {@link #interfaceName()} of a peer's public key. */
    public static String interfaceName(String peerPublicKey) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(peerPublicKey.getBytes(StandardCharsets.US_ASCII));
            return INTERFACE_PREFIX + HexFormat.of().formatHex(digest, 0, 5);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * A digest of the whole configuration, keys included (SHA-256, hex): tells whether an existing interface was
     * made with the same Secret (a rotated key differs) without keeping the keys.
     */
    public String fingerprint() {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            for (String part : new String[] {peerPublicKey, endpoint, gatewayAddress, privateKey, address,
                    presharedKey == null ? "" : presharedKey}) {
                digest.update(part.getBytes(StandardCharsets.UTF_8));
                digest.update((byte) 0);
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Peer, endpoint and addresses; never a key of this side. */
    @Override
    public String toString() {
        return "WireGuard tunnel " + address + " -> " + gatewayAddress + " (peer " + peerPublicKey + " at " + endpoint
                + (presharedKey != null ? ", with a preshared key" : "") + ")";
    }
}
