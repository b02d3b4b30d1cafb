package io.gatewaycsi.nfs;

import java.io.IOException;

/**
 * A failed NFS call. It names the operation (as {@link NfsSession} calls it: {@code "mkdir"},
 * {@code "pread"}, …), the share path it acted on, the target, a positive Linux {@link Errno errno} and
 * libnfs's own error text, for example:
 *
 * <pre>mkdir /vol1 on 10.0.0.2:/export: EEXIST (File exists) [libnfs: mkdir call failed with "NFS4: (path /) failed with NFS4ERR_EXIST(-17)"]</pre>
 *
 * <p>Errno values follow what a local file system would return for the same failure: server errors map as
 * RFC 1813/7530 define them ({@code NFS4ERR_NOENT} → {@code ENOENT}, {@code NFS4ERR_DQUOT} →
 * {@code EDQUOT}, {@code NFS4ERR_DELAY}/{@code GRACE} → {@code EAGAIN}, lost NFSv4 state → {@code ESTALE}).
 * Transport failures are {@code ETIMEDOUT} ({@link #isTimeout()}: no reply within the session's timeout) or
 * {@code EIO} with {@link #isConnectionLost()} (the TCP connection broke or could not be used); after either
 * the libnfs context involved has been destroyed and the next call uses a fresh one.
 */
public class NfsException extends IOException {
    private static final long serialVersionUID = 1L;

    private final String operation;
    private final String path;
    private final String target;
    private final int errno;
    private final String libnfsError;
    private final boolean connectionLost;

    /**
     * @param operation the operation, e.g. {@code "mkdir"}
     * @param path the share path it acted on (for {@code rename} and {@code symlink}: {@code "from -> to"})
     * @param target the target as {@link NfsTarget#spec()} prints it, or {@code null}
     * @param errno the positive errno
     * @param libnfsError libnfs's error text, or {@code null}
     * @param connectionLost whether the transport failed (see {@link #isConnectionLost()})
     */
    public NfsException(String operation, String path, String target, int errno, String libnfsError,
            boolean connectionLost) {
        super(message(operation, path, target, errno, libnfsError));
        this.operation = operation;
        this.path = path;
        this.target = target;
        this.errno = errno;
        this.libnfsError = libnfsError == null || libnfsError.isBlank() ? null : libnfsError;
        this.connectionLost = connectionLost;
    }

    /** The same failure with a cause attached. */
    public NfsException(String operation, String path, String target, int errno, String libnfsError,
            boolean connectionLost, Throwable cause) {
        this(operation, path, target, errno, libnfsError, connectionLost);
        initCause(cause);
    }

    private static String message(String operation, String path, String target, int errno, String libnfsError) {
        StringBuilder sb = new StringBuilder();
        sb.append(operation);
        if (path != null) {
            sb.append(' ').append(path);
        }
        if (target != null) {
            sb.append(" on ").append(target);
        }
        sb.append(": ").append(Errno.name(errno)).append(" (").append(Errno.describe(errno)).append(')');
        if (libnfsError != null && !libnfsError.isBlank()) {
            sb.append(" [libnfs: ").append(libnfsError.strip()).append(']');
        }
        return sb.toString();
    }

    /** The operation, e.g. {@code "mkdir"}. */
    public String operation() {
        return operation;
    }

    /** The share path the operation acted on ({@code "from -> to"} for two-path operations), or null. */
    public String path() {
        return path;
    }

    /** The target ({@code server:/export}), or null. */
    public String target() {
        return target;
    }

    /** The positive Linux errno, e.g. 2 for {@code ENOENT}. */
    public int errno() {
        return errno;
    }

    /** The errno's symbolic name, e.g. {@code "ENOENT"}. */
    public String errnoName() {
        return Errno.name(errno);
    }

    /** libnfs's error text ({@code nfs_get_error}), or null if it gave none. */
    public String libnfsError() {
        return libnfsError;
    }

    /** {@code ENOENT}: the path (or a directory on it) does not exist. */
    public boolean isNotFound() {
        return errno == Errno.ENOENT;
    }

    /** {@code EEXIST}: the path already exists. */
    public boolean isAlreadyExists() {
        return errno == Errno.EEXIST;
    }

    /** {@code ENOTEMPTY}: the directory is not empty. */
    public boolean isNotEmpty() {
        return errno == Errno.ENOTEMPTY;
    }

    /** {@code ENOTDIR}: a component of the path is not a directory. */
    public boolean isNotDirectory() {
        return errno == Errno.ENOTDIR;
    }

    /** {@code EISDIR}: the path is a directory. */
    public boolean isDirectory() {
        return errno == Errno.EISDIR;
    }

    /** {@code EACCES} or {@code EPERM}: the gateway refused the presented credentials. */
    public boolean isPermissionDenied() {
        return errno == Errno.EACCES || errno == Errno.EPERM;
    }

    /** {@code ENOSPC} or {@code EDQUOT}: out of space or over quota. */
    public boolean isNoSpace() {
        return errno == Errno.ENOSPC || errno == Errno.EDQUOT;
    }

    /** {@code ESTALE}: a file handle or NFSv4 state the call relied on is no longer valid on the gateway. */
    public boolean isStale() {
        return errno == Errno.ESTALE;
    }

    /**
     * The gateway no longer knows the NFSv4 state (client ID, lease, open) the call relied on
     * ({@code NFS4ERR_EXPIRED}, {@code NFS4ERR_STALE_CLIENTID}, {@code NFS4ERR_*_STATEID}): a lease that lapsed
     * during a partition, or a restarted gateway. A later call re-establishes it on a fresh connection.
     */
    public boolean isStateLost() {
        NfsStatus.Entry status = NfsStatus.inText(libnfsError());
        return errno == Errno.ESTALE && status != null && status.effect() == NfsStatus.Effect.STATE_LOST;
    }

    /**
     * {@code NFS4ERR_RESOURCE}: the gateway refused the request as too complex for it — with libnfs 4.0 a path
     * so deep that its LOOKUPs exceed the gateway's operations per COMPOUND. Retrying the same call cannot help.
     */
    public boolean isOverGatewayLimit() {
        NfsStatus.Entry status = NfsStatus.inText(libnfsError());
        return status != null && status.name().equals("NFS4ERR_RESOURCE");
    }

    /** {@code ETIMEDOUT}: no reply (or no free context, or no connection) within the session's timeout. */
    public boolean isTimeout() {
        return errno == Errno.ETIMEDOUT;
    }

    /**
     * The transport failed: the connection broke, was refused or could not be used. The call may or may
     * not have reached the gateway.
     */
    public boolean isConnectionLost() {
        return connectionLost;
    }

    /** {@link #isTimeout()} or {@link #isConnectionLost()}: the gateway could not be reached. */
    public boolean isUnreachable() {
        return isTimeout() || connectionLost || errno == Errno.ECONNREFUSED || errno == Errno.EHOSTUNREACH
                || errno == Errno.ENETUNREACH;
    }
}
