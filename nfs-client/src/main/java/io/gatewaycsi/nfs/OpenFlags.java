package io.gatewaycsi.nfs;

/**
 * The open(2) flags {@link NfsSession#open} and {@link NfsSession#create} take, with their Linux values
 * (the values FUSE hands over). Combine with {@code |}.
 *
 * <p>Honoured: the access mode ({@link #O_RDONLY}, {@link #O_WRONLY}, {@link #O_RDWR}), {@link #O_CREAT},
 * {@link #O_EXCL}, {@link #O_TRUNC}, {@link #O_APPEND} (note: {@link NfsFile#pwrite} always writes at the
 * offset it is given), {@link #O_SYNC}/{@link #O_DSYNC} (writes are FILE_SYNC on the wire) and
 * {@link #O_NOFOLLOW}. Every other bit ({@code O_NONBLOCK}, {@code O_DIRECT}, {@code O_LARGEFILE},
 * {@code O_CLOEXEC}, {@code O_NOATIME}, …) is ignored.
 */
public final class OpenFlags {
    /** Mask of the access mode bits. */
    public static final int O_ACCMODE = 03;
    /** Open for reading only. */
    public static final int O_RDONLY = 0;
    /** Open for writing only. */
    public static final int O_WRONLY = 01;
    /** Open for reading and writing. */
    public static final int O_RDWR = 02;
    /** Create the file if it does not exist ({@link NfsSession#create} only). */
    public static final int O_CREAT = 0100;
    /** With O_CREAT: fail with EEXIST if the file exists. */
    public static final int O_EXCL = 0200;
    /** Truncate an existing file to 0 bytes (needs write access). */
    public static final int O_TRUNC = 01000;
    /** Append mode (passed to libnfs; {@link NfsFile#pwrite} still writes at its offset). */
    public static final int O_APPEND = 02000;
    /** Synchronous data writes (FILE_SYNC on the wire). */
    public static final int O_DSYNC = 010000;
    /** Synchronous writes (FILE_SYNC on the wire). */
    public static final int O_SYNC = 04010000;
    /** Fail with ELOOP if the path names a symbolic link. */
    public static final int O_NOFOLLOW = 0400000;

    /** Every bit this client passes on; others are dropped. */
    static final int SUPPORTED = O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_SYNC | O_DSYNC | O_NOFOLLOW;

    private OpenFlags() {
    }

    /** Whether the flags allow writing ({@link #O_WRONLY} or {@link #O_RDWR}). */
    public static boolean isWritable(int flags) {
        int acc = flags & O_ACCMODE;
        return acc == O_WRONLY || acc == O_RDWR;
    }

    /** Whether the flags allow reading ({@link #O_RDONLY} or {@link #O_RDWR}). */
    public static boolean isReadable(int flags) {
        int acc = flags & O_ACCMODE;
        return acc == O_RDONLY || acc == O_RDWR;
    }
}
