package io.gatewaycsi.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.gatewaycsi.common.wireguard.Tunnels;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TunnelDoctorTest {

    static final Instant NOW = Instant.parse("2026-12-08T00:00:00Z");
    static final Tunnels.Recorded TUNNEL = new Tunnels.Recorded("gcsi-0123456789",
            "B06ffnBTlDoZfc3XhegZyQbBVv58soiWmvY/r9RKDTs=", "198.51.100.7:51820", "10.213.200.1/32", "wireguard-go", 42,
            "f", Set.of("/staging"));

    static Tunnels.Status status(Optional<Instant> handshake, int mtu, String routeDevice) {
        return new Tunnels.Status(TUNNEL, true, handshake, 10, 20, mtu, routeDevice);
    }

    @Test
    void aHealthyTunnelPassesEveryCheck() {
        List<Doctor.Check> checks = TunnelDoctor.checks(status(Optional.of(NOW.minusSeconds(30)), 1420,
                "gcsi-0123456789"), NOW);
        assertThat(checks).extracting(Doctor.Check::name)
                .containsExactly("wireguard tunnel", "tunnel handshake", "tunnel route", "tunnel MTU");
        assertThat(checks).allMatch(Doctor.Check::ok);
        assertThat(checks.get(1).detail()).isEqualTo("latest 30 s ago");
    }

    @Test
    void noHandshakeSaysToCheckUdpAndThePeer() {
        Doctor.Check handshake = TunnelDoctor.checks(status(Optional.empty(), 1420, "gcsi-0123456789"), NOW).get(1);
        assertThat(handshake.ok()).isFalse();
        assertThat(handshake.fix()).contains("UDP to 198.51.100.7:51820").contains("wg show gcsi-0123456789 public-key");
    }

    @Test
    void aStaleHandshakeAWrongRouteAndABigMtuFail() {
        List<Doctor.Check> checks = TunnelDoctor.checks(status(Optional.of(NOW.minusSeconds(600)), 1500, "eth0"), NOW);
        assertThat(checks.subList(1, 4)).noneMatch(Doctor.Check::ok);
        assertThat(checks.get(2).detail()).isEqualTo("10.213.200.1/32 goes through eth0");
        assertThat(checks.get(2).fix()).contains("ip route replace 10.213.200.1/32 dev gcsi-0123456789");
        assertThat(checks.get(3).fix()).contains("mtu 1420");
    }

    @Test
    void aRecordedTunnelWhoseInterfaceIsGoneFails() {
        List<Doctor.Check> checks = TunnelDoctor.checks(new Tunnels.Status(TUNNEL, false, Optional.empty(), 0, 0, -1, ""),
                NOW);
        assertThat(checks).singleElement().satisfies(c -> {
            assertThat(c.ok()).isFalse();
            assertThat(c.detail()).contains("interface is gone").contains("wireguard-go ended?");
        });
    }
}
