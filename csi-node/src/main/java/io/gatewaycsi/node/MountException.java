package io.gatewaycsi.node;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * A failed mount-related call on one path: either the call returned an errno (then {@link #errno()} names it:
 * EBUSY, EINVAL, ENOENT, ESTALE, ENOTCONN, EIO, EROFS, EPERM…), or it did not return within its deadline and
 * was abandoned (then {@link #isTimeout()} is true and {@link #errno()} is {@code null}; the call may still be
 * blocked in the kernel, which is why the caller must escalate rather than wait).
 *
 * <p>The message reads {@code umount2(MNT_FORCE) of /path failed: EBUSY (Device or resource busy)}.
 */
public final class MountException extends IOException {

    private final String operation;
    private final Path path;
    private final Errno errno;
    private final int errnoValue;
    private final boolean timeout;

    private MountException(String message, String operation, Path path, Errno errno, int errnoValue,
                           boolean timeout) {
        super(message);
        this.operation = Objects.requireNonNull(operation, "operation");
        this.path = path;
        this.errno = errno;
        this.errnoValue = errnoValue;
        this.timeout = timeout;
    }

    /** {@code operation} on {@code path} returned errno number {@code errnoValue}. */
    public static MountException ofErrno(String operation, Path path, int errnoValue) {
        Errno errno = Errno.of(errnoValue);
        String name = errno == Errno.UNKNOWN ? "errno " + errnoValue : errno.name() + " (" + errno.description() + ")";
        return new MountException(operation + " of " + path + " failed: " + name, operation, path, errno,
                errnoValue, false);
    }

    /** {@code operation} on {@code path} was refused by this driver with the meaning of {@code errno}. */
    public static MountException refused(String operation, Path path, Errno errno, String why) {
        return new MountException(operation + " of " + path + " refused: " + why, operation, path, errno,
                errno.value(), false);
    }

    /** {@code operation} on {@code path} did not return within {@code deadline} and was abandoned. */
    public static MountException timeout(String operation, Path path, Duration deadline) {
        return new MountException(operation + " of " + path + " did not return within " + deadline.toMillis()
                + " ms and was abandoned (it cannot be cancelled); the path is probably on an unresponsive"
                + " NFS or FUSE mount", operation, path, null, 0, true);
    }

    /**
     * {@code operation} on {@code path} was not started because {@code stuck} earlier calls are still blocked
     * in the kernel; reported as a timeout, since the caller must treat it the same way.
     */
    public static MountException saturated(String operation, Path path, int stuck) {
        return new MountException(operation + " of " + path + " was not started: " + stuck + " earlier calls"
                + " are still blocked in the kernel, probably on dead NFS or FUSE mounts", operation, path, null, 0,
                true);
    }

    /** The call, e.g. {@code mount(MS_BIND)}, {@code umount2(MNT_DETACH)}, {@code statvfs}. */
    public String operation() {
        return operation;
    }

    /** The path the call was made on (the target for mounts and unmounts). */
    public Path path() {
        return path;
    }

    /** The errno the call returned, or {@code null} when it timed out. */
    public Errno errno() {
        return errno;
    }

    /** The raw errno number (0 when the call timed out). */
    public int errnoValue() {
        return errnoValue;
    }

    /** Whether the call did not return within its deadline (and may still be blocked in the kernel). */
    public boolean isTimeout() {
        return timeout;
    }

    /** Whether the errno says the mount behind the path is broken (ESTALE, ENOTCONN, EIO). */
    public boolean meansBrokenMount() {
        return errno != null && errno.meansBrokenMount();
    }
}
