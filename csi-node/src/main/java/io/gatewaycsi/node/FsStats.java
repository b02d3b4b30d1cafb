package io.gatewaycsi.node;

/**
 * Capacity of the file system behind a path, from statvfs(3) (what NodeGetVolumeStats reports as
 * {@code VolumeUsage} in BYTES and INODES). Byte counts are block counts times {@code f_frsize} (the fragment
 * size, the unit statvfs counts blocks in — not {@code f_bsize}, the preferred I/O size); a product beyond
 * {@link Long#MAX_VALUE} (gateways over object storage may report exabytes) saturates to it.
 *
 * @param blockSize      {@code f_frsize}, in bytes
 * @param totalBytes     {@code f_blocks * f_frsize}
 * @param freeBytes      {@code f_bfree * f_frsize} (free for root)
 * @param availableBytes {@code f_bavail * f_frsize} (free for unprivileged users)
 * @param totalInodes    {@code f_files}
 * @param freeInodes     {@code f_ffree}
 * @param flags          {@code f_flag}: ST_RDONLY (1), ST_NOSUID (2), ST_NODEV (4), ST_NOEXEC (8)…
 */
public record FsStats(long blockSize, long totalBytes, long freeBytes, long availableBytes, long totalInodes,
                      long freeInodes, long flags) {

    /** Bytes in use: {@code totalBytes - freeBytes}, never negative. */
    public long usedBytes() {
        return Math.max(0, totalBytes - freeBytes);
    }

    /** Inodes in use: {@code totalInodes - freeInodes}, never negative. */
    public long usedInodes() {
        return Math.max(0, totalInodes - freeInodes);
    }

    /** Whether the mount is read-only (ST_RDONLY). */
    public boolean readOnly() {
        return (flags & Libc.ST_RDONLY) != 0;
    }

    /** Builds the stats from statvfs's raw unsigned fields (indexed by {@code Libc.F_*}). */
    static FsStats fromStatvfs(long[] f) {
        long frsize = unsigned(f[Libc.F_FRSIZE]);
        if (frsize == 0) {
            frsize = unsigned(f[Libc.F_BSIZE]);
        }
        return new FsStats(frsize, bytes(f[Libc.F_BLOCKS], frsize), bytes(f[Libc.F_BFREE], frsize),
                bytes(f[Libc.F_BAVAIL], frsize), unsigned(f[Libc.F_FILES]), unsigned(f[Libc.F_FFREE]),
                f[Libc.F_FLAG]);
    }

    private static long bytes(long blocks, long frsize) {
        long count = unsigned(blocks);
        if (count != 0 && frsize > Long.MAX_VALUE / count) {
            return Long.MAX_VALUE;
        }
        return count * frsize;
    }

    /** An unsigned 64-bit value, saturated to {@link Long#MAX_VALUE}. */
    private static long unsigned(long value) {
        return value < 0 ? Long.MAX_VALUE : value;
    }
}
