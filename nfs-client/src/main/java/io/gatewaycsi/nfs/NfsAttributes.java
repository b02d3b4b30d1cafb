package io.gatewaycsi.nfs;

import java.time.Instant;
import java.util.Objects;

/**
 * The attributes of one file system object, as stat(2) reports them.
 *
 * @param type the object's type
 * @param mode the permission bits, {@code 07777} at most (set-uid, set-gid, sticky, rwx for user, group,
 *     other); the type bits ({@code S_IFMT}) are in {@link #type()}, see {@link #statMode()}
 * @param uid the owning user id (numeric; see DESIGN §8 on NFSv4 numeric owners)
 * @param gid the owning group id
 * @param size the size in bytes (for a symbolic link: the length of its target)
 * @param nlink the number of hard links
 * @param inode the file id (inode number) on the gateway; 0 when unknown (libnfs 4.0 does not report it in
 *     NFSv4 directory listings, see {@link NfsSession#readdir})
 * @param usedBytes the bytes the object occupies on the gateway's disk ({@code st_blocks * 512} at most)
 * @param atime the last access time
 * @param mtime the last modification time
 * @param ctime the last status change time
 */
public record NfsAttributes(Type type, int mode, int uid, int gid, long size, long nlink, long inode,
        long usedBytes, Instant atime, Instant mtime, Instant ctime) {

    /** The object types of stat(2), as far as callers of this client need to tell them apart. */
    public enum Type {
        /** A regular file ({@code S_IFREG}). */
        FILE(0100000),
        /** A directory ({@code S_IFDIR}). */
        DIRECTORY(0040000),
        /** A symbolic link ({@code S_IFLNK}). */
        SYMLINK(0120000),
        /** A block or character device, FIFO or socket. */
        OTHER(0);

        private final int ifmt;

        Type(int ifmt) {
            this.ifmt = ifmt;
        }

        /** The {@code S_IFMT} bits for this type (0 for {@link #OTHER}). */
        public int ifmt() {
            return ifmt;
        }

        /** The type for a stat(2) {@code st_mode}'s {@code S_IFMT} bits. */
        public static Type ofMode(long statMode) {
            return switch ((int) (statMode & 0170000)) {
                case 0100000 -> FILE;
                case 0040000 -> DIRECTORY;
                case 0120000 -> SYMLINK;
                default -> OTHER;
            };
        }
    }

    /** Checks the components: non-null type and times, mode within {@code 07777}, non-negative sizes. */
    public NfsAttributes {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(atime, "atime");
        Objects.requireNonNull(mtime, "mtime");
        Objects.requireNonNull(ctime, "ctime");
        if ((mode & ~07777) != 0) {
            throw new IllegalArgumentException("mode " + Integer.toOctalString(mode) + " has bits outside 07777");
        }
        if (size < 0 || nlink < 0 || usedBytes < 0) {
            throw new IllegalArgumentException("negative size, nlink or usedBytes");
        }
    }

    /** A regular file. */
    public boolean isFile() {
        return type == Type.FILE;
    }

    /** A directory. */
    public boolean isDirectory() {
        return type == Type.DIRECTORY;
    }

    /** A symbolic link. */
    public boolean isSymlink() {
        return type == Type.SYMLINK;
    }

    /** The stat(2) {@code st_mode}: type bits ({@code S_IFMT}) or'ed with {@link #mode()}. */
    public int statMode() {
        return type.ifmt() | mode;
    }
}
