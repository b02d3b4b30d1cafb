package io.gatewaycsi.mounthelper;

/**
 * A FUSE operation's failure as the kernel receives it: a positive Linux errno (the operation returns its
 * negation, as fuse_operations(3) prescribes). Carries no stack trace: it is a result, not a bug.
 */
final class FuseErrno extends Exception {
    private static final long serialVersionUID = 1L;

    private final int errno;

    /**
     * @param errno the positive errno, e.g. {@code 2} for {@code ENOENT}
     * @param message why, for the log
     */
    FuseErrno(int errno, String message) {
        super(message, null, false, false);
        this.errno = errno;
    }

    /** The positive errno. */
    int errno() {
        return errno;
    }
}
