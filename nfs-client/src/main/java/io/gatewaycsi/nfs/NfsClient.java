package io.gatewaycsi.nfs;

/**
 * Opens {@link NfsSession}s. An interface so callers can be handed a fake; the real one is
 * {@link #libnfs()}.
 */
public interface NfsClient {
    /**
     * Connects to a share: resolves the server, opens one libnfs context (TCP connection, NFSv4 client
     * identity or NFSv3 MOUNT) and mounts the export, all within {@link NfsSessionOptions#timeout()}. Further
     * contexts are opened lazily as concurrent callers need them.
     *
     * @return an open session; close it to unmount and free every native resource
     * @throws NfsException for example {@code ENOENT} (no such export), {@code ECONNREFUSED},
     *     {@code ETIMEDOUT}, {@code EACCES}, {@code EHOSTUNREACH}; or {@code ELIBACC} if libnfs.so.13 cannot be
     *     loaded
     */
    NfsSession connect(NfsTarget target, NfsSessionOptions options) throws NfsException;

    /** {@link #connect(NfsTarget, NfsSessionOptions)} with {@link NfsSessionOptions#defaults()}. */
    default NfsSession connect(NfsTarget target) throws NfsException {
        return connect(target, NfsSessionOptions.defaults());
    }

    /** The client backed by libnfs 4.0 ({@code libnfs.so.13}), loaded lazily on first connect. */
    static NfsClient libnfs() {
        return LibnfsClient.INSTANCE;
    }
}
