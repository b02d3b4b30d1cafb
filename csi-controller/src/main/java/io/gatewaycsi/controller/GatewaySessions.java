package io.gatewaycsi.controller;

import io.gatewaycsi.common.CsiException;
import io.gatewaycsi.nfs.NfsClient;
import io.gatewaycsi.nfs.NfsException;
import io.gatewaycsi.nfs.NfsSession;
import io.gatewaycsi.nfs.NfsSessionOptions;
import io.gatewaycsi.nfs.NfsTarget;
import io.gatewaycsi.nfs.NfsVersion;
import java.net.InetAddress;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

/**
 * One warm NFS session (a pool of libnfs contexts) per gateway share, opened on first use and kept for the
 * life of the controller. An {@code nfsVersion} of 4.x maps to NFSv4.0 and 3 to NFSv3, the versions libnfs
 * speaks; the controller only creates, renames and removes directories, for which 4.0 is enough.
 */
public final class GatewaySessions implements AutoCloseable {

    /** A share on a gateway, as the controller reaches it. */
    public record Share(String server, String share, NfsVersion version) {
        /** The share of a volume with {@code nfsVersion} (3, 4, 4.0, 4.1, 4.2). */
        public static Share of(String server, String share, String nfsVersion) {
            return new Share(server, share, nfsVersion.equals("3") ? NfsVersion.V3 : NfsVersion.V4);
        }
    }

    private final NfsClient client;
    private final NfsSessionOptions options;
    private final Set<String> gateways;
    private final Map<Share, NfsSession> sessions = new ConcurrentHashMap<>();

    /**
     * Sessions to any gateway {@link #mayReach} allows without a list.
     *
     * @param client  the NFS client
     * @param options per-call timeout, pool size and the AUTH_SYS credentials sent to the gateway
     */
    public GatewaySessions(NfsClient client, NfsSessionOptions options) {
        this(client, options, Set.of());
    }

    /**
     * @param gateways the servers (as StorageClasses name them: host name or address) this controller serves;
     *                 empty for any server that is not a local address (see {@link #mayReach})
     */
    public GatewaySessions(NfsClient client, NfsSessionOptions options, Set<String> gateways) {
        this.client = client;
        this.options = options;
        this.gateways = gateways.stream().map(g -> g.toLowerCase(Locale.ROOT)).collect(Collectors.toUnmodifiableSet());
    }

    /**
     * Whether this controller may connect to {@code server} (a normalized {@code server} parameter). Volume and
     * snapshot IDs name their gateway, and anyone who can hand the controller an ID (a static PV, a snapshot
     * content, a clone source) could otherwise make it connect wherever they like. The rule: with a list of
     * gateways ({@code --gateways}), only those; without one, any server except the controller's own host —
     * {@code localhost} and loopback, unspecified, link-local and multicast addresses. IDs naming another server
     * name no volume or snapshot (NOT_FOUND, or OK for the deletes) and are never dialed; CreateVolume refuses
     * such a server with INVALID_ARGUMENT.
     */
    public boolean mayReach(String server) {
        String host = server.toLowerCase(Locale.ROOT);
        if (!gateways.isEmpty()) {
            return gateways.contains(host);
        }
        if (host.equals("localhost") || host.endsWith(".localhost")) {
            return false;
        }
        if (!host.contains(":") && !host.matches("[0-9.]+")) {
            return true; // a host name
        }
        try {
            InetAddress address = InetAddress.ofLiteral(host);
            return !(address.isLoopbackAddress() || address.isAnyLocalAddress() || address.isLinkLocalAddress()
                    || address.isMulticastAddress());
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /**
     * The session for {@code share}, connecting on first use.
     *
     * @throws NfsException when the gateway cannot be reached or does not export the share
     * @throws CsiException INVALID_ARGUMENT for a server this controller may not reach ({@link #mayReach})
     */
    public NfsSession session(Share share) throws NfsException {
        if (!mayReach(share.server())) {
            throw CsiException.invalidArgument("server `" + share.server() + "` is not a gateway this controller"
                    + " serves" + (gateways.isEmpty() ? " (the controller's own host is never one)"
                    : " (--gateways " + String.join(",", gateways) + ")"));
        }
        NfsSession session = sessions.get(share);
        if (session != null) {
            return session;
        }
        synchronized (this) {
            session = sessions.get(share);
            if (session == null) {
                session = client.connect(new NfsTarget(share.server(), 0, share.share(), share.version()), options);
                sessions.put(share, session);
            }
            return session;
        }
    }

    /** The shares this controller has reached since it started. */
    public Set<Share> knownShares() {
        return Set.copyOf(sessions.keySet());
    }

    @Override
    public void close() {
        sessions.values().forEach(NfsSession::close);
        sessions.clear();
    }
}
