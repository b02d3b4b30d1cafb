package io.gatewaycsi.controller;

import io.gatewaycsi.common.CsiException;
import io.gatewaycsi.nfs.NfsException;
import io.grpc.Status;

/** Maps NFS failures on the gateway to the CSI status the caller sees, with what was being done. */
final class GatewayFailures {

    /** Why a gateway may refuse this controller, and the two fixes. */
    private static final String UNRESERVED_PORT = "connects from an unreserved source port (>= 1024: it lacks"
            + " CAP_NET_BIND_SERVICE): a gateway exporting with `secure` (the Linux NFS server's default) accepts"
            + " only ports below 1024; give the controller NET_BIND_SERVICE (Helm chart:"
            + " controller.reservedSourcePort=true) or export the share with `insecure`";

    private GatewayFailures() {
    }

    /**
     * @param doing what the controller was doing, e.g. "creating /my-bucket/pvc-1 on gw"
     */
    static CsiException of(NfsException e, String doing) {
        return of(e, doing, ReservedPorts.bindable());
    }

    /**
     * @param reservedPort whether this process can connect from a reserved port ({@link ReservedPorts}); when it
     *                     cannot, a refusal may be the gateway's {@code secure} export option, and the message
     *                     says so
     */
    static CsiException of(NfsException e, String doing, boolean reservedPort) {
        String message = doing + " failed: " + e.getMessage();
        if (e.isTimeout() || e.isUnreachable() || e.isConnectionLost()) {
            return CsiException.unavailable(message + "; check that the gateway is up and reachable from the"
                    + " controller", e);
        }
        if (e.isStateLost()) {
            return CsiException.unavailable(message + "; the gateway dropped the controller's NFSv4 state (its lease"
                    + " lapsed, e.g. during a network partition, or the gateway restarted) and re-establishing it"
                    + " did not succeed yet; the call can be retried", e);
        }
        if (e.isOverGatewayLimit()) {
            return new CsiException(Status.Code.FAILED_PRECONDITION, message + "; the gateway refused a request"
                    + " naming a path this deep (NFS4ERR_RESOURCE: too many operations in one request): the tree"
                    + " holds a directory chain deeper than the gateway resolves at once; flatten it", e);
        }
        if (e.isPermissionDenied()) {
            String credentials = "export the share read-write with no_root_squash for the controller, or set"
                    + " --nfs-uid/--nfs-gid to an owner of the share";
            if (!reservedPort) {
                return new CsiException(Status.Code.PERMISSION_DENIED, message + "; the gateway refused the"
                        + " controller, which " + UNRESERVED_PORT + ". If the export allows any port, the gateway"
                        + " refused the controller's credentials: " + credentials, e);
            }
            return new CsiException(Status.Code.PERMISSION_DENIED, message + "; the gateway refused the"
                    + " controller's credentials: " + credentials, e);
        }
        if (e.isNoSpace()) {
            return new CsiException(Status.Code.RESOURCE_EXHAUSTED, message, e);
        }
        if (e.isNotFound() && "mount".equals(e.operation()) && !reservedPort) {
            // nfs-ganesha hides an export with PrivilegedPort from a client on an unreserved port: the share's
            // path is then not found at all (NFS4ERR_NOENT).
            return new CsiException(Status.Code.NOT_FOUND, message + "; check the share, or: the controller "
                    + UNRESERVED_PORT + " (nfs-ganesha's PrivilegedPort hides the share from such ports)", e);
        }
        if (e.isNotFound() || e.isNotDirectory()) {
            // The share (or a directory on the way to the volume) does not exist on the gateway: the request
            // names something that is not there, which no retry will change.
            return new CsiException(Status.Code.NOT_FOUND, message + "; check the share and subDir", e);
        }
        if (e.errno() == io.gatewaycsi.nfs.Errno.EROFS) {
            return new CsiException(Status.Code.PERMISSION_DENIED, message + "; the gateway serves this share"
                    + " read-only: check the share parameter, or export it read-write for the controller", e);
        }
        return CsiException.internal(message, e);
    }
}
