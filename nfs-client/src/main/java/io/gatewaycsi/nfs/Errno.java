package io.gatewaycsi.nfs;

import java.util.HashMap;
import java.util.Map;

/**
 * The Linux (x86_64, aarch64) errno values this client reports in {@link NfsException#errno()}, with their
 * symbolic names and strerror(3) texts. The values are those FUSE and POSIX callers expect, so the mount
 * helper can hand them to the kernel unchanged.
 */
public final class Errno {
    /** Operation not permitted. */
    public static final int EPERM = 1;
    /** No such file or directory. */
    public static final int ENOENT = 2;
    /** Interrupted system call. */
    public static final int EINTR = 4;
    /** Input/output error. */
    public static final int EIO = 5;
    /** No such device or address. */
    public static final int ENXIO = 6;
    /** Bad file descriptor. */
    public static final int EBADF = 9;
    /** Resource temporarily unavailable. */
    public static final int EAGAIN = 11;
    /** Cannot allocate memory. */
    public static final int ENOMEM = 12;
    /** Permission denied. */
    public static final int EACCES = 13;
    /** Bad address. */
    public static final int EFAULT = 14;
    /** Device or resource busy. */
    public static final int EBUSY = 16;
    /** File exists. */
    public static final int EEXIST = 17;
    /** Invalid cross-device link. */
    public static final int EXDEV = 18;
    /** No such device. */
    public static final int ENODEV = 19;
    /** Not a directory. */
    public static final int ENOTDIR = 20;
    /** Is a directory. */
    public static final int EISDIR = 21;
    /** Invalid argument. */
    public static final int EINVAL = 22;
    /** File too large. */
    public static final int EFBIG = 27;
    /** No space left on device. */
    public static final int ENOSPC = 28;
    /** Read-only file system. */
    public static final int EROFS = 30;
    /** Too many links. */
    public static final int EMLINK = 31;
    /** Numerical result out of range. */
    public static final int ERANGE = 34;
    /** File name too long. */
    public static final int ENAMETOOLONG = 36;
    /** Function not implemented. */
    public static final int ENOSYS = 38;
    /** Directory not empty. */
    public static final int ENOTEMPTY = 39;
    /** Too many levels of symbolic links. */
    public static final int ELOOP = 40;
    /** Protocol error. */
    public static final int EPROTO = 71;
    /** Can not access a needed shared library. */
    public static final int ELIBACC = 79;
    /** Operation not supported. */
    public static final int EOPNOTSUPP = 95;
    /** Network is down. */
    public static final int ENETDOWN = 100;
    /** Network is unreachable. */
    public static final int ENETUNREACH = 101;
    /** Connection reset by peer. */
    public static final int ECONNRESET = 104;
    /** Transport endpoint is not connected. */
    public static final int ENOTCONN = 107;
    /** Connection timed out. */
    public static final int ETIMEDOUT = 110;
    /** Connection refused. */
    public static final int ECONNREFUSED = 111;
    /** Host is down. */
    public static final int EHOSTDOWN = 112;
    /** No route to host. */
    public static final int EHOSTUNREACH = 113;
    /** Stale file handle. */
    public static final int ESTALE = 116;
    /** Disk quota exceeded. */
    public static final int EDQUOT = 122;
    /** Operation canceled. */
    public static final int ECANCELED = 125;

    private static final Map<Integer, String[]> TABLE = new HashMap<>();

    static {
        put(EPERM, "EPERM", "Operation not permitted");
        put(ENOENT, "ENOENT", "No such file or directory");
        put(EINTR, "EINTR", "Interrupted system call");
        put(EIO, "EIO", "Input/output error");
        put(ENXIO, "ENXIO", "No such device or address");
        put(EBADF, "EBADF", "Bad file descriptor");
        put(EAGAIN, "EAGAIN", "Resource temporarily unavailable");
        put(ENOMEM, "ENOMEM", "Cannot allocate memory");
        put(EACCES, "EACCES", "Permission denied");
        put(EFAULT, "EFAULT", "Bad address");
        put(EBUSY, "EBUSY", "Device or resource busy");
        put(EEXIST, "EEXIST", "File exists");
        put(EXDEV, "EXDEV", "Invalid cross-device link");
        put(ENODEV, "ENODEV", "No such device");
        put(ENOTDIR, "ENOTDIR", "Not a directory");
        put(EISDIR, "EISDIR", "Is a directory");
        put(EINVAL, "EINVAL", "Invalid argument");
        put(EFBIG, "EFBIG", "File too large");
        put(ENOSPC, "ENOSPC", "No space left on device");
        put(EROFS, "EROFS", "Read-only file system");
        put(EMLINK, "EMLINK", "Too many links");
        put(ERANGE, "ERANGE", "Numerical result out of range");
        put(ENAMETOOLONG, "ENAMETOOLONG", "File name too long");
        put(ENOSYS, "ENOSYS", "Function not implemented");
        put(ENOTEMPTY, "ENOTEMPTY", "Directory not empty");
        put(ELOOP, "ELOOP", "Too many levels of symbolic links");
        put(EPROTO, "EPROTO", "Protocol error");
        put(ELIBACC, "ELIBACC", "Can not access a needed shared library");
        put(EOPNOTSUPP, "EOPNOTSUPP", "Operation not supported");
        put(ENETDOWN, "ENETDOWN", "Network is down");
        put(ENETUNREACH, "ENETUNREACH", "Network is unreachable");
        put(ECONNRESET, "ECONNRESET", "Connection reset by peer");
        put(ENOTCONN, "ENOTCONN", "Transport endpoint is not connected");
        put(ETIMEDOUT, "ETIMEDOUT", "Connection timed out");
        put(ECONNREFUSED, "ECONNREFUSED", "Connection refused");
        put(EHOSTDOWN, "EHOSTDOWN", "Host is down");
        put(EHOSTUNREACH, "EHOSTUNREACH", "No route to host");
        put(ESTALE, "ESTALE", "Stale file handle");
        put(EDQUOT, "EDQUOT", "Disk quota exceeded");
        put(ECANCELED, "ECANCELED", "Operation canceled");
    }

    private Errno() {
    }

    private static void put(int errno, String name, String text) {
        TABLE.put(errno, new String[] {name, text});
    }

    /** The symbolic name, e.g. {@code "ENOENT"}; {@code "errno 200"} for a value not in the table. */
    public static String name(int errno) {
        String[] e = TABLE.get(errno);
        return e != null ? e[0] : "errno " + errno;
    }

    /** The strerror(3) text, e.g. {@code "No such file or directory"}; {@code "Unknown error N"} otherwise. */
    public static String describe(int errno) {
        String[] e = TABLE.get(errno);
        return e != null ? e[1] : "Unknown error " + errno;
    }
}
