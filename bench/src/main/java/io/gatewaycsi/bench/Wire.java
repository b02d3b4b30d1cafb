package io.gatewaycsi.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Traffic on the host end of the gateway's veth pair (BENCH_VETH, e.g. {@code gwbench-h}): everything any
 * client on this machine exchanges with the gateway. Bytes received are what the gateway sent (reads), bytes
 * sent are what clients wrote; packets approximate round trips.
 */
record Wire(long rxBytes, long txBytes, long rxPackets, long txPackets) {

    static Wire now() throws IOException {
        String veth = System.getenv().getOrDefault("BENCH_VETH", "gwbench-h");
        Path stats = Path.of("/sys/class/net", veth, "statistics");
        if (!Files.isDirectory(stats)) {
            return new Wire(0, 0, 0, 0);
        }
        return new Wire(read(stats, "rx_bytes"), read(stats, "tx_bytes"), read(stats, "rx_packets"),
                read(stats, "tx_packets"));
    }

    Wire since(Wire before) {
        return new Wire(rxBytes - before.rxBytes, txBytes - before.txBytes, rxPackets - before.rxPackets,
                txPackets - before.txPackets);
    }

    private static long read(Path stats, String name) throws IOException {
        return Long.parseLong(Files.readString(stats.resolve(name)).strip());
    }
}
