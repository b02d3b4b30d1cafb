package io.gatewaycsi.mounthelper;

import java.util.Locale;

/**
 * The FUSE operations {@link GatewayFileSystem} serves, as libfuse's {@code fuse_operations} names them; the
 * {@code operation} label of {@code gatewaycsi_fuse_operation_duration_seconds} ({@link #label()}).
 */
enum FuseOp {
    GETATTR, OPENDIR, READDIR, STATFS, OPEN, CREATE, READ, WRITE, FLUSH, FSYNC, RELEASE, TRUNCATE, MKDIR, UNLINK,
    RMDIR, RENAME, SYMLINK, READLINK, CHMOD, CHOWN, UTIMENS;

    private final String label = name().toLowerCase(Locale.ROOT);

    /** The operation's name in lower case, e.g. {@code getattr}. */
    String label() {
        return label;
    }
}
