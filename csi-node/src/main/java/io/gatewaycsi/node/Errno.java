package io.gatewaycsi.node;

/**
 * The Linux errno values the node's mount calls report, by their C names (errno(3); the numbers are the
 * asm-generic ones, the same on x86_64 and arm64). {@link #UNKNOWN} stands for any other value; the number
 * itself is kept by {@link MountException#errnoValue()}.
 */
public enum Errno {
    EPERM(1, "Operation not permitted"),
    ENOENT(2, "No such file or directory"),
    EINTR(4, "Interrupted system call"),
    EIO(5, "Input/output error"),
    ENXIO(6, "No such device or address"),
    EBADF(9, "Bad file descriptor"),
    EAGAIN(11, "Resource temporarily unavailable"),
    ENOMEM(12, "Cannot allocate memory"),
    EACCES(13, "Permission denied"),
    EFAULT(14, "Bad address"),
    ENOTBLK(15, "Block device required"),
    EBUSY(16, "Device or resource busy"),
    EEXIST(17, "File exists"),
    EXDEV(18, "Invalid cross-device link"),
    ENODEV(19, "No such device"),
    ENOTDIR(20, "Not a directory"),
    EISDIR(21, "Is a directory"),
    EINVAL(22, "Invalid argument"),
    EMFILE(24, "Too many open files"),
    ENOSPC(28, "No space left on device"),
    EROFS(30, "Read-only file system"),
    ENAMETOOLONG(36, "File name too long"),
    ENOSYS(38, "Function not implemented"),
    ENOTEMPTY(39, "Directory not empty"),
    ELOOP(40, "Too many levels of symbolic links"),
    EOVERFLOW(75, "Value too large for defined data type"),
    EOPNOTSUPP(95, "Operation not supported"),
    ENOTCONN(107, "Transport endpoint is not connected"),
    ETIMEDOUT(110, "Connection timed out"),
    EHOSTDOWN(112, "Host is down"),
    ESTALE(116, "Stale file handle"),
    EDQUOT(122, "Disk quota exceeded"),
    UNKNOWN(-1, "Unknown error");

    private final int value;
    private final String description;

    Errno(int value, String description) {
        this.value = value;
        this.description = description;
    }

    /** The errno number, or -1 for {@link #UNKNOWN}. */
    public int value() {
        return value;
    }

    /** strerror(3)'s text for this errno in the C locale, e.g. {@code Device or resource busy}. */
    public String description() {
        return description;
    }

    /** The constant for errno number {@code value}; {@link #UNKNOWN} for one not listed here. */
    public static Errno of(int value) {
        for (Errno errno : values()) {
            if (errno.value == value) {
                return errno;
            }
        }
        return UNKNOWN;
    }

    /**
     * Whether this errno, from a call on a path, says the file system behind it is broken rather than busy or
     * misused: ESTALE (the NFS server lost the file handle), ENOTCONN (the FUSE server is gone), EIO.
     */
    public boolean meansBrokenMount() {
        return this == ESTALE || this == ENOTCONN || this == EIO;
    }
}
