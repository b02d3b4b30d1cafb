package io.gatewaycsi.mounthelper;

import io.gatewaycsi.nfs.Errno;
import io.gatewaycsi.nfs.NfsException;

/**
 * How a failed gateway call ({@link NfsException}) reaches a FUSE caller. nfs-client already reports the
 * errno a local file system would give for the gateway's answer (RFC 7530 / RFC 1813 status → Linux errno:
 * {@code ENOENT}, {@code EEXIST}, {@code ENOTEMPTY}, {@code EACCES}, {@code EPERM}, {@code EROFS},
 * {@code ENOSPC}, {@code EDQUOT}, {@code ESTALE}, …); those pass through unchanged. Transport failures are
 * not answers: they are retried by {@link GatewayCaller} and, when a soft mount gives up, become
 * {@code EIO} (nfs(5) "soft") or {@code ETIMEDOUT} ("softerr").
 */
final class NfsErrnos {
    private NfsErrnos() {
    }

    /** Whether the gateway could not be reached (no answer at all): worth retrying on a fresh connection. */
    static boolean isUnreachable(NfsException e) {
        if (e.isUnreachable()) {
            return true;
        }
        return switch (e.errno()) {
            case Errno.ENETDOWN, Errno.EHOSTDOWN, Errno.ECONNRESET, Errno.ENOTCONN -> true;
            default -> false;
        };
    }

    /**
     * Whether a failure is transient: unreachable, or the gateway asked to come back later
     * ({@code NFS4ERR_DELAY}/{@code GRACE} past the session's own retries: {@code EAGAIN}).
     */
    static boolean isTransient(NfsException e) {
        return isUnreachable(e) || e.errno() == Errno.EAGAIN;
    }

    /**
     * The errno for an answer the gateway gave: the exception's own for ordinary file system errors,
     * {@code EIO} for anything that is no file system errno (transport, library or protocol trouble).
     */
    static int errnoOf(NfsException e) {
        if (isTransient(e)) {
            return Errno.EIO;
        }
        int errno = e.errno();
        return switch (errno) {
            case Errno.ELIBACC, Errno.EPROTO, Errno.ECANCELED, Errno.EINTR -> Errno.EIO;
            default -> errno > 0 && errno < 4096 ? errno : Errno.EIO;
        };
    }
}
