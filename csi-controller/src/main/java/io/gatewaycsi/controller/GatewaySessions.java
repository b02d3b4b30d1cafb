package io.gatewaycsi.controller;

import io.gatewaycsi.nfs.NfsClient;
import io.gatewaycsi.nfs.NfsException;
import io.gatewaycsi.nfs.NfsSession;
import io.gatewaycsi.nfs.NfsSessionOptions;
import io.gatewaycsi.nfs.NfsTarget;
import io.gatewaycsi.nfs.NfsVersion;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

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
    private final Map<Share, NfsSession> sessions = new ConcurrentHashMap<>();

    /**
     * @param client  the NFS client
     * @param options per-call timeout, pool size and the AUTH_SYS credentials sent to the gateway
     */
    public GatewaySessions(NfsClient client, NfsSessionOptions options) {
        this.client = client;
        this.options = options;
    }

    /**
     * The session for {@code share}, connecting on first use.
     *
     * @throws NfsException when the gateway cannot be reached or does not export the share
     */
    public NfsSession session(Share share) throws NfsException {
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
