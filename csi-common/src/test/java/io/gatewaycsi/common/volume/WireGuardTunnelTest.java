package io.gatewaycsi.common.volume;

import static io.gatewaycsi.common.volume.VolumeParameters.Source.STORAGE_CLASS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The tunnel parameters and the tunnel Secret: validated like every parameter, and no secret in any message. */
class WireGuardTunnelTest {

    static final String PEER = "B06ffnBTlDoZfc3XhegZyQbBVv58soiWmvY/r9RKDTs=";
    /** Valid keys whose text is easy to search for in messages. */
    static final String PRIVATE = "SECRETprivateKEYxxxxxxxxxxxxxxxxxxxxxxxxxx0=";
    static final String PSK = "SECRETpresharedKEYxxxxxxxxxxxxxxxxxxxxxxxx0=";

    static Map<String, String> parameters(String... more) {
        Map<String, String> p = new HashMap<>(Map.of("server", "10.213.200.1", "share", "/export",
                "wireguardPeerPublicKey", PEER, "wireguardEndpoint", "gw.example.com:51820"));
        for (int i = 0; i < more.length; i += 2) {
            if (more[i + 1] == null) {
                p.remove(more[i]);
            } else {
                p.put(more[i], more[i + 1]);
            }
        }
        return p;
    }

    static Map<String, String> secrets(String... more) {
        Map<String, String> s = new HashMap<>(Map.of("wireguardPrivateKey", PRIVATE, "wireguardAddress", "10.213.200.2"));
        for (int i = 0; i < more.length; i += 2) {
            if (more[i + 1] == null) {
                s.remove(more[i]);
            } else {
                s.put(more[i], more[i + 1]);
            }
        }
        return s;
    }

    static WireGuardTunnel tunnel(Map<String, String> parameters, Map<String, String> secrets) {
        return WireGuardTunnel.of(VolumeParameters.parse(parameters, STORAGE_CLASS), secrets, "node-stage").orElseThrow();
    }

    @Test
    void aStorageClassWithAPeerAndASecretMakesATunnel() {
        WireGuardTunnel tunnel = tunnel(parameters(), secrets("wireguardPresharedKey", PSK));
        assertThat(tunnel.peerPublicKey()).isEqualTo(PEER);
        assertThat(tunnel.endpoint()).isEqualTo("gw.example.com:51820");
        assertThat(tunnel.gatewayRoute()).isEqualTo("10.213.200.1/32");
        assertThat(tunnel.address()).as("a bare address is a /32").isEqualTo("10.213.200.2/32");
        assertThat(tunnel.privateKey()).isEqualTo(PRIVATE);
        assertThat(tunnel.presharedKey()).contains(PSK);
        assertThat(tunnel.interfaceName()).matches("gcsi-[0-9a-f]{10}").hasSizeLessThanOrEqualTo(15);
    }

    @Test
    void withoutAPeerThereIsNoTunnelWhateverTheSecretHolds() {
        VolumeParameters plain = VolumeParameters.parse(Map.of("server", "gw.example.com", "share", "/x"), STORAGE_CLASS);
        assertThat(WireGuardTunnel.of(plain, secrets(), "node-stage")).isEmpty();
        assertThat(WireGuardTunnel.of(plain, Map.of(), "node-stage")).isEmpty();
    }

    @Test
    void theStringFormShowsNoKeyOfThisSide() {
        String text = tunnel(parameters(), secrets("wireguardPresharedKey", PSK)).toString();
        assertThat(text).doesNotContain("SECRET").contains(PEER).contains("10.213.200.2/32");
    }

    @Test
    void peerAndEndpointGoTogether() {
        assertThatThrownBy(() -> VolumeParameters.parse(parameters("wireguardEndpoint", null), STORAGE_CLASS))
                .hasMessageContaining("`wireguardPeerPublicKey` and `wireguardEndpoint` go together")
                .hasMessageContaining("give `wireguardEndpoint`");
        assertThatThrownBy(() -> VolumeParameters.parse(parameters("wireguardPeerPublicKey", null), STORAGE_CLASS))
                .hasMessageContaining("give `wireguardPeerPublicKey`");
    }

    @Test
    void theServerIsAnAddressInsideTheTunnel() {
        assertThatThrownBy(() -> VolumeParameters.parse(parameters("server", "gw.example.com"), STORAGE_CLASS))
                .hasMessageContaining("`server` must be the gateway's IP address inside the WireGuard tunnel")
                .hasMessageContaining("gw.example.com");
    }

    @ParameterizedTest
    @ValueSource(strings = {"B06ffnBTlDoZfc3XhegZyQbBVv58soiWmvY/r9RKDT=", "not base64 at all!", "AAAA",
            "B06ffnBTlDoZfc3XhegZyQbBVv58soiWmvY/r9RKDTsAAAA="})
    void aPeerKeyIs32BytesOfBase64(String bad) {
        assertThatThrownBy(() -> VolumeParameters.parse(parameters("wireguardPeerPublicKey", bad), STORAGE_CLASS))
                .hasMessageStartingWith("parameter `wireguardPeerPublicKey` must be a WireGuard public key");
    }

    @ParameterizedTest
    @ValueSource(strings = {"gw.example.com", "gw.example.com:0", "gw.example.com:65536", ":51820", "[::1]",
            "fe80::1:51820", "gw_x.example.com:51820"})
    void anEndpointIsHostColonPort(String bad) {
        assertThatThrownBy(() -> VolumeParameters.parse(parameters("wireguardEndpoint", bad), STORAGE_CLASS))
                .hasMessageStartingWith("parameter `wireguardEndpoint` must be host:port or [ipv6]:port");
    }

    @ParameterizedTest
    @ValueSource(strings = {"198.51.100.7:51820", "[2001:db8::7]:51820", "GW.Example.com:1"})
    void endpointsInEveryForm(String good) {
        assertThat(tunnel(parameters("wireguardEndpoint", good), secrets()).endpoint())
                .isEqualToIgnoringCase(good);
    }

    @Test
    void aMissingSecretKeySaysWhichSecretAndHowToNameIt() {
        assertThatThrownBy(() -> tunnel(parameters(), secrets("wireguardPrivateKey", null)))
                .hasMessageContaining("the node-stage secret has no `wireguardPrivateKey`")
                .hasMessageContaining("csi.storage.k8s.io/node-stage-secret-name");
        assertThatThrownBy(() -> tunnel(parameters(), Map.of()))
                .hasMessageContaining("has no `wireguardPrivateKey`");
        assertThatThrownBy(() -> tunnel(parameters(), secrets("wireguardAddress", null)))
                .hasMessageContaining("has no `wireguardAddress`");
    }

    @ParameterizedTest
    @ValueSource(strings = {"SECRETprivateKEYxxxxxxxxxxxxxxxxxxxxxxxxxx0", "SECRETprivateKEYxxxxxxxxxxxxxxxxxxxxxxxxxx0=\n",
            "SECRET-not-base64", "SECRETprivateKEYxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx="})
    void aBadPrivateKeyIsRefusedWithoutShowingIt(String bad) {
        assertThatThrownBy(() -> tunnel(parameters(), secrets("wireguardPrivateKey", bad)))
                .hasMessageStartingWith("secret key `wireguardPrivateKey` of the node-stage secret must be a WireGuard"
                        + " private key")
                .hasMessageContaining("(the value is not shown)")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("SECRET"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"SECRET", "10.213.200.2/33", "10.213.200.256", "SECRET.example.com", "fe80::1/129", ""})
    void aBadAddressIsRefusedWithoutShowingIt(String bad) {
        if (bad.isEmpty()) {
            assertThatThrownBy(() -> tunnel(parameters(), secrets("wireguardAddress", bad)))
                    .hasMessageContaining("has no `wireguardAddress`");
            return;
        }
        assertThatThrownBy(() -> tunnel(parameters(), secrets("wireguardAddress", bad)))
                .hasMessageStartingWith("secret key `wireguardAddress` of the node-stage secret must be an IP address")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain(bad));
    }

    @Test
    void aPresharedKeyEqualToThePrivateKeyIsAMistake() {
        assertThatThrownBy(() -> tunnel(parameters(), secrets("wireguardPresharedKey", PRIVATE)))
                .hasMessageContaining("are the same key")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("SECRET"));
        assertThatThrownBy(() -> tunnel(parameters(), secrets("wireguardPresharedKey", "SECRET")))
                .hasMessageStartingWith("secret key `wireguardPresharedKey`")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("SECRET"));
    }

    @Test
    void theFingerprintChangesWithARotatedKeyAndTheInterfaceDoesNot() {
        WireGuardTunnel before = tunnel(parameters(), secrets());
        WireGuardTunnel rotated = tunnel(parameters(), secrets("wireguardPrivateKey",
                "ROTATEDprivateKEYxxxxxxxxxxxxxxxxxxxxxxxxx0="));
        assertThat(rotated.fingerprint()).isNotEqualTo(before.fingerprint()).doesNotContain("ROTATED");
        assertThat(rotated.interfaceName()).isEqualTo(before.interfaceName());
        assertThat(tunnel(parameters(), secrets()).fingerprint()).isEqualTo(before.fingerprint());
    }

    @Test
    void theSecretTableNamesEveryKey() {
        assertThat(TunnelSecret.markdownTable()).contains("`wireguardPrivateKey` | required")
                .contains("`wireguardAddress` | required").contains("`wireguardPresharedKey` | optional");
    }
}
