package io.gatewaycsi.cli;

import io.gatewaycsi.common.wireguard.Tunnels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@code gateway-csi doctor} checks of the node's WireGuard tunnel to a gateway (recorded in the node
 * plugin's state directory): that its interface is there, that a handshake completed lately (WireGuard renews
 * sessions every 2 minutes while traffic flows; 180 s is its reject-after time), that the gateway's address is
 * routed through it, and that its MTU leaves room for WireGuard's 80 bytes of overhead.
 */
final class TunnelDoctor {

    /** WireGuard's Reject-After-Time: a session older than this carries no data. */
    static final Duration HANDSHAKE_STALE = Duration.ofSeconds(180);

    private TunnelDoctor() {
    }

    /** The checks of the tunnel routing {@code server}, or none when no tunnel of this node routes it. */
    static List<Doctor.Check> check(Path nodeStateDir, String server) {
        Path dir = nodeStateDir.resolve("tunnels");
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try {
            Tunnels tunnels = new Tunnels(dir, Duration.ofSeconds(5), Duration.ZERO, false);
            for (Tunnels.Recorded recorded : tunnels.all()) {
                String route = recorded.gatewayRoute();
                if (route.substring(0, route.indexOf('/')).equals(server)) {
                    return checks(tunnels.status(recorded), Instant.now());
                }
            }
            return List.of();
        } catch (IOException e) {
            return List.of(new Doctor.Check("wireguard tunnel", false, "cannot read the tunnels in " + dir + ": "
                    + e.getMessage(), "run the doctor in the node plugin's container with its --state-dir"));
        }
    }

    /** The checks of one tunnel's status, as of {@code now}. */
    static List<Doctor.Check> checks(Tunnels.Status status, Instant now) {
        Tunnels.Recorded tunnel = status.tunnel();
        String name = tunnel.interfaceName();
        List<Doctor.Check> checks = new ArrayList<>();
        if (!status.present()) {
            checks.add(new Doctor.Check("wireguard tunnel", false, name + " (peer " + tunnel.peerPublicKey() + " at "
                    + tunnel.endpoint() + ") is recorded but its interface is gone" + (tunnel.implementation()
                    .equals("wireguard-go") ? " (wireguard-go ended?)" : ""), "the next NodeStageVolume of a volume of"
                    + " this gateway brings it up again: restart a pod using it, or see the node plugin's log"));
            return checks;
        }
        checks.add(new Doctor.Check("wireguard tunnel", true, name + " (" + tunnel.implementation() + ") to peer "
                + tunnel.peerPublicKey() + " at " + tunnel.endpoint(), ""));
        if (status.latestHandshake().isEmpty()) {
            checks.add(new Doctor.Check("tunnel handshake", false, "no handshake with " + tunnel.endpoint()
                    + " has completed", "check that UDP to " + tunnel.endpoint() + " is open and that the gateway's"
                    + " operator added this node's public key (`wg show " + name + " public-key`) as a peer"));
        } else {
            Duration age = Duration.between(status.latestHandshake().get(), now);
            boolean fresh = age.compareTo(HANDSHAKE_STALE) <= 0;
            checks.add(new Doctor.Check("tunnel handshake", fresh, "latest " + age.toSeconds() + " s ago",
                    fresh ? "" : "a handshake older than " + HANDSHAKE_STALE.toSeconds() + " s with traffic waiting"
                            + " means the gateway does not answer at " + tunnel.endpoint() + ": check UDP and the"
                            + " gateway's WireGuard"));
        }
        boolean routed = status.routeDevice().equals(name);
        checks.add(new Doctor.Check("tunnel route", routed, tunnel.gatewayRoute() + " goes through "
                + (status.routeDevice().isEmpty() ? "no device" : status.routeDevice()), routed ? ""
                : "`ip route replace " + tunnel.gatewayRoute() + " dev " + name + "` (the node plugin sets it at every"
                        + " NodeStageVolume); another route to the gateway's tunnel address would bypass the tunnel"));
        boolean mtuOk = status.mtu() > 0 && status.mtu() <= Tunnels.MTU;
        checks.add(new Doctor.Check("tunnel MTU", mtuOk, "MTU " + status.mtu(), mtuOk ? ""
                : "`ip link set dev " + name + " mtu " + Tunnels.MTU + "`: WireGuard adds 80 bytes, so a larger MTU"
                        + " fragments or drops full-size NFS packets on a 1500-byte path"));
        return checks;
    }
}
