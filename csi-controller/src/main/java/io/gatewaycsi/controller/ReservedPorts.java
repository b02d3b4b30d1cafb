package io.gatewaycsi.controller;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Whether this process can bind a reserved source port (below 1024), as libnfs tries to when it connects to a
 * gateway: with CAP_NET_BIND_SERVICE in its effective set (capabilities(7)), or where the network namespace's
 * {@code net.ipv4.ip_unprivileged_port_start} lets anyone. A gateway exporting with {@code secure} (exports(5),
 * the Linux server's default) refuses requests from other ports.
 */
final class ReservedPorts {

    private static final int CAP_NET_BIND_SERVICE = 10;
    /** The lowest port libnfs tries. */
    private static final int LOWEST_TRIED = 512;

    private ReservedPorts() {
    }

    /** Reads /proc/self/status and /proc/sys (local files); true when it cannot tell. */
    static boolean bindable() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("CapEff:")) {
                    long effective = Long.parseUnsignedLong(line.substring("CapEff:".length()).strip(), 16);
                    if ((effective & (1L << CAP_NET_BIND_SERVICE)) != 0) {
                        return true;
                    }
                }
            }
            Path start = Path.of("/proc/sys/net/ipv4/ip_unprivileged_port_start");
            // Read by lines: Files.readString stops early on procfs files, which report a size of 0.
            return Files.isReadable(start)
                    && Integer.parseInt(Files.readAllLines(start).getFirst().strip()) <= LOWEST_TRIED;
        } catch (IOException | RuntimeException unknown) {
            return true;
        }
    }
}
