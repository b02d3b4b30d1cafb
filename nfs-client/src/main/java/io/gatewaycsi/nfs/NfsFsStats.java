package io.gatewaycsi.nfs;

/**
 * File system statistics of a share, as statvfs(3) reports them but in bytes and counts.
 *
 * @param totalBytes the size of the file system in bytes
 * @param freeBytes the free bytes (including those reserved for root)
 * @param availableBytes the bytes available to unprivileged users
 * @param totalInodes the number of file system objects (inodes) the file system can hold
 * @param freeInodes the free inodes
 * @param blockSize the fundamental block size in bytes (statvfs {@code f_frsize}) that the byte counts are
 *     multiples of
 * @param maxNameLength the longest entry name in bytes ({@code f_namemax})
 */
public record NfsFsStats(long totalBytes, long freeBytes, long availableBytes, long totalInodes, long freeInodes,
        long blockSize, long maxNameLength) {
    /** Bytes in use: total minus free. */
    public long usedBytes() {
        return Math.max(0, totalBytes - freeBytes);
    }
}
