package io.gatewaycsi.cli;

import java.net.InetAddress;
import java.net.UnknownHostException;

/** Who this process is, for the {@code source.host} of its events. */
final class Hosts {

    private Hosts() {
    }

    /** {@code $POD_NAME} (the chart sets it from the downward API), else the host name, else {@code unknown}. */
    static String podOrHostName() {
        String pod = System.getenv("POD_NAME");
        if (pod != null && !pod.isBlank()) {
            return pod;
        }
        String host = System.getenv("HOSTNAME");
        if (host != null && !host.isBlank()) {
            return host;
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "unknown";
        }
    }
}
