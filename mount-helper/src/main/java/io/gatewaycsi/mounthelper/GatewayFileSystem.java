package io.gatewaycsi.mounthelper;

import io.gatewaycsi.common.LogLine;
import io.gatewaycsi.nfs.Errno;
import io.gatewaycsi.nfs.NfsAttributes;
import io.gatewaycsi.nfs.NfsDirEntry;
import io.gatewaycsi.nfs.NfsException;
import io.gatewaycsi.nfs.NfsFile;
import io.gatewaycsi.nfs.NfsFsStats;
import io.gatewaycsi.nfs.NfsPaths;
import io.gatewaycsi.nfs.NfsSession;
import io.gatewaycsi.nfs.OpenFlags;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.cryptomator.jfuse.api.DirFiller;
import org.cryptomator.jfuse.api.FileInfo;
import org.cryptomator.jfuse.api.FuseConfig;
import org.cryptomator.jfuse.api.FuseConnInfo;
import org.cryptomator.jfuse.api.FuseOperations;
import org.cryptomator.jfuse.api.Stat;
import org.cryptomator.jfuse.api.Statvfs;
import org.cryptomator.jfuse.api.TimeSpec;

/**
 * The FUSE file system of one volume: libfuse3's high-level operations ({@code fuse_operations}, see
 * libfuse's fuse.h and fuse_operations(3)) over one {@link NfsSession}, rooted at the volume's directory
 * {@code <share>/<subDir>} ({@link VolumePaths}: nothing above it can be named).
 *
 * <p><b>Operations</b> (every one declared in {@link #supportedOperations()} is implemented; libfuse calls
 * only those): {@code getattr} (also serves lookups), {@code opendir}/{@code readdir}/{@code releasedir},
 * {@code open}, {@code create}, {@code read}, {@code write}, {@code flush}, {@code fsync}, {@code release},
 * {@code mkdir}, {@code unlink}, {@code rmdir}, {@code rename} ({@code RENAME_NOREPLACE} checked before
 * renaming; {@code RENAME_EXCHANGE} is {@code EINVAL}: NFS has no atomic exchange), {@code truncate},
 * {@code symlink}, {@code readlink}, {@code chmod}, {@code chown}, {@code utimens}, {@code statfs},
 * {@code init}, {@code destroy}. Each returns 0 (or a byte count) or a negated errno, never throws: an
 * unexpected exception is logged and becomes {@code -EIO} (an exception escaping an FFM upcall would end
 * the JVM).
 *
 * <p><b>Errors.</b> Gateway calls run through {@link GatewayCaller}: file system errors keep their errno
 * ({@code ENOENT}, {@code EEXIST}, {@code ENOTEMPTY}, {@code EACCES}, {@code EPERM}, {@code ENOSPC}, …, see
 * {@link NfsErrnos}); an unreachable gateway is retried ({@code hard}) or becomes {@code EIO} /
 * {@code ETIMEDOUT} ({@code soft}/{@code softerr}). On a read-only mount every modifying operation returns
 * {@code EROFS} before reaching the gateway (the kernel mount is read-only too). Non-idempotent operations
 * retried after a lost reply accept the outcome of their own earlier attempt ({@code mkdir} finding the
 * directory, {@code unlink}/{@code rmdir} finding nothing, {@code rename} finding the target,
 * {@code symlink} finding the same link, {@code create} dropping {@code O_EXCL}).
 *
 * <p><b>Metadata in bulk.</b> {@link #readdir} answers the kernel's READDIRPLUS with every entry's attributes
 * and node ID from one gateway listing per open directory (NFSv4 READDIR with attributes), and {@link #init}
 * asks for READDIRPLUS on every page of a listing; {@code opendir} makes no gateway call. A walk that stats every
 * entry thus costs about one gateway round trip per directory page, not one LOOKUP per entry. How long the
 * kernel trusts what it was given is the mount's {@link AttributeCache} (libfuse's {@code attr_timeout},
 * {@code entry_timeout}, {@code negative_timeout}).
 *
 * <p><b>I/O sizes.</b> {@link #init} asks for {@link #MAX_IO_BYTES} (1 MiB) per read and write request
 * (libfuse3 3.14 caps {@code max_write} at 256 pages, the kernel at {@code fs.fuse.max_pages_limit}); the
 * mount passes {@code max_read} to match. Sequential readers are served by per-handle {@link ReadAhead}.
 * Writes go to the gateway as they come (no write-back cache: one FUSE write is one {@code NfsFile.pwrite},
 * data unstable until {@code flush}/{@code fsync}/{@code release} commits it, as an NFS client's close does).
 *
 * <p><b>Credentials.</b> The helper presents its own credentials (root) to the gateway for every call, as
 * one NFS session carries one AUTH_SYS identity; access is checked by the kernel against the attributes the
 * gateway reports ({@code default_permissions} mount option), with the caller's full group list. Objects a
 * caller creates ({@code create}, {@code mkdir}, {@code symlink}) are then given to the caller's uid and
 * gid from the FUSE context ({@code fuse_get_context}; the gid stays the directory's under a set-gid
 * directory), so ownership on the gateway is what a kernel NFS mount would produce. This needs an export
 * without root squashing for the helper's node (a squashed helper can still read and write what "nobody"
 * may; ownership changes then fail with {@code EPERM} and are logged once). {@code st_blocks} is not
 * reported (jfuse's {@code Stat} has no field for it), so {@code du} shows 0.
 *
 * <p><b>Unlinked open files</b> use libfuse's default: an open file that is unlinked or renamed over is first
 * renamed to {@code .fuse_hidden*} in its directory and removed on release ({@code hard_remove} would pass
 * null paths, which jfuse 0.7.3 cannot take).
 */
public final class GatewayFileSystem implements FuseOperations {
    private static final Logger LOG = Logger.getLogger(GatewayFileSystem.class.getName());

    /** Bytes per FUSE read or write request asked for in {@link #init}: 1 MiB. */
    public static final int MAX_IO_BYTES = 1 << 20;

    /** The path jfuse stats while mounting to see that the mount answers (answered locally). */
    static final String JFUSE_MOUNT_PROBE = "/jfuse_mount_probe";

    private static final int RENAME_NOREPLACE = 1;
    private static final int RENAME_EXCHANGE = 2;
    private static final int S_ISGID = 02000;

    /** I/O sizes seen and negotiated, for logs and tests. */
    public record IoStats(int negotiatedMaxWrite, int negotiatedMaxRead, int maxReadahead, boolean writebackCache,
            long largestRead, long largestWrite, long readRequests, long writeRequests, long readAheadBytes) {
    }

    private final org.cryptomator.jfuse.api.Errno fuseErrno;
    private final NfsSession session;
    private final VolumePaths paths;
    private final MountSemantics semantics;
    private final GatewayCaller caller;
    private final ChunkPool chunks;
    private final Executor prefetcher;
    private final int readAheadChunks;
    private final FuseCaller fuseCaller;
    private final boolean helperIsRoot;
    private final String name;
    private final HelperMetrics metrics;
    private final Map<Long, OpenFile> files = new ConcurrentHashMap<>();
    private final Map<Long, DirListing> dirs = new ConcurrentHashMap<>();
    private final AtomicLong nextHandle = new AtomicLong(1);
    private final AtomicBoolean ownershipWarned = new AtomicBoolean();
    private volatile boolean mounted;
    private volatile int negotiatedMaxWrite;
    private volatile int negotiatedMaxRead;
    private volatile int maxReadahead;
    private volatile boolean writebackCache;
    /**
     * How long a statfs answer is reused, in nanoseconds: the node plugin probes every staging mount with
     * statvfs before each publish, and a mount storm would otherwise ask the gateway hundreds of times a
     * second for figures that hardly change.
     */
    static final long STATFS_CACHE_NANOS = 1_000_000_000L;

    private record FsStatsAt(NfsFsStats stats, long nanos) {
    }

    private volatile FsStatsAt lastStats;
    private final AtomicLong largestRead = new AtomicLong();
    private final AtomicLong largestWrite = new AtomicLong();
    private final AtomicLong readRequests = new AtomicLong();
    private final AtomicLong writeRequests = new AtomicLong();
    private final AtomicLong readAheadBytes = new AtomicLong();
    private final java.util.concurrent.atomic.AtomicInteger inFlight = new java.util.concurrent.atomic.AtomicInteger();
    private final java.util.concurrent.atomic.AtomicLongArray operationCounts =
            new java.util.concurrent.atomic.AtomicLongArray(FuseOp.values().length);

    /**
     * @param fuseErrno jfuse's errno table ({@code FuseBuilder.errno()})
     * @param session the gateway session, on the volume's share
     * @param paths the volume's path mapping
     * @param semantics the mount's options
     * @param caller runs gateway calls with the mount's recovery semantics
     * @param chunks the process-wide read-ahead buffers
     * @param prefetcher runs prefetches (platform threads)
     * @param readAheadChunks chunks prefetched per sequential stream (0: no read-ahead)
     * @param fuseCaller the FUSE caller lookup, or null to leave created objects owned by the helper
     * @param helperIsRoot whether the helper runs as root (only root can give objects away)
     * @param name the mount's name for logs ({@code server:/share/subDir})
     */
    GatewayFileSystem(org.cryptomator.jfuse.api.Errno fuseErrno, NfsSession session, VolumePaths paths,
            MountSemantics semantics, GatewayCaller caller, ChunkPool chunks, Executor prefetcher, int readAheadChunks,
            FuseCaller fuseCaller, boolean helperIsRoot, String name) {
        this(fuseErrno, session, paths, semantics, caller, chunks, prefetcher, readAheadChunks, fuseCaller,
                helperIsRoot, name, HelperMetrics.unregistered());
    }

    /**
     * As above, with {@code metrics} timing every operation and counting bytes read and written.
     */
    GatewayFileSystem(org.cryptomator.jfuse.api.Errno fuseErrno, NfsSession session, VolumePaths paths,
            MountSemantics semantics, GatewayCaller caller, ChunkPool chunks, Executor prefetcher, int readAheadChunks,
            FuseCaller fuseCaller, boolean helperIsRoot, String name, HelperMetrics metrics) {
        this.metrics = metrics;
        this.fuseErrno = fuseErrno;
        this.session = session;
        this.paths = paths;
        this.semantics = semantics;
        this.caller = caller;
        this.chunks = chunks;
        this.prefetcher = prefetcher;
        this.readAheadChunks = readAheadChunks;
        this.fuseCaller = fuseCaller;
        this.helperIsRoot = helperIsRoot;
        this.name = name;
    }

    /** Marks the mount as done: from now on the jfuse probe path is an ordinary path. */
    void markMounted() {
        mounted = true;
    }

    /** Operations running right now (FUSE worker threads inside this file system). */
    int inFlight() {
        return inFlight.get();
    }

    /** How many times the kernel asked for {@code op} on this mount so far. */
    long operations(FuseOp op) {
        return operationCounts.get(op.ordinal());
    }

    /** Files open through FUSE right now. */
    int openFiles() {
        return files.size();
    }

    /** I/O sizes negotiated in {@link #init} and seen since. */
    public IoStats ioStats() {
        return new IoStats(negotiatedMaxWrite, negotiatedMaxRead, maxReadahead, writebackCache, largestRead.get(),
                largestWrite.get(),
                readRequests.get(), writeRequests.get(), readAheadBytes.get());
    }

    @Override
    public org.cryptomator.jfuse.api.Errno errno() {
        return fuseErrno;
    }

    @Override
    public Set<Operation> supportedOperations() {
        return EnumSet.of(Operation.INIT, Operation.DESTROY, Operation.GET_ATTR, Operation.OPEN_DIR,
                Operation.READ_DIR, Operation.RELEASE_DIR, Operation.OPEN, Operation.CREATE, Operation.READ,
                Operation.WRITE, Operation.FLUSH, Operation.FSYNC, Operation.RELEASE, Operation.MKDIR,
                Operation.UNLINK, Operation.RMDIR, Operation.RENAME, Operation.TRUNCATE, Operation.SYMLINK,
                Operation.READLINK, Operation.CHMOD, Operation.CHOWN, Operation.UTIMENS, Operation.STATFS);
    }

    // ---------------------------------------------------------------------------------------------
    // Guarding every upcall

    @FunctionalInterface
    private interface Body {
        int run() throws FuseErrno, NfsException;
    }

    private int guard(FuseOp op, String path, Body body) {
        inFlight.incrementAndGet();
        operationCounts.incrementAndGet(op.ordinal());
        long started = System.nanoTime();
        try {
            return body.run();
        } catch (FuseErrno e) {
            if (LOG.isLoggable(Level.FINE)) {
                LOG.fine(LogLine.event("fuse-op").with("mount", name).with("op", op.label()).with("path", path)
                        .with("errno", Errno.name(e.errno())).with("why", e.getMessage()).toString());
            }
            return -e.errno();
        } catch (NfsException e) {
            return -NfsErrnos.errnoOf(e);
        } catch (Throwable t) {
            LOG.log(Level.WARNING, LogLine.event("fuse-op-failed").with("mount", name).with("op", op.label())
                    .with("path", path).with("error", t.toString()).toString(), t);
            return -Errno.EIO;
        } finally {
            metrics.operation(op, started);
            inFlight.decrementAndGet();
        }
    }

    private <T> T gw(String op, String path, GatewayCaller.Attempt<T> attempt) throws FuseErrno {
        return caller.call(op, path, attempt);
    }

    private String share(String fusePath) throws FuseErrno {
        return paths.toShare(fusePath);
    }

    private void requireWritable(String op, String path) throws FuseErrno {
        if (semantics.readOnly()) {
            throw new FuseErrno(Errno.EROFS, op + " " + path + ": the mount is read-only");
        }
    }

    private OpenFile handle(String op, FileInfo fi) throws FuseErrno {
        OpenFile of = fi == null ? null : files.get(fi.getFh());
        if (of == null) {
            throw new FuseErrno(Errno.EBADF, op + ": unknown file handle");
        }
        return of;
    }

    // ---------------------------------------------------------------------------------------------
    // Life cycle

    @Override
    public void init(FuseConnInfo conn, FuseConfig cfg) {
        try {
            conn.setMaxWrite(MAX_IO_BYTES);
            conn.setMaxRead(MAX_IO_BYTES);
            if ((conn.capable() & FuseConnInfo.FUSE_CAP_READDIRPLUS) != 0) {
                // Every page of a listing as READDIRPLUS, not only the first (READDIRPLUS_AUTO would send the later
                // pages as plain READDIR, and a stat of their entries would cost a LOOKUP each).
                conn.setWant((conn.want() | FuseConnInfo.FUSE_CAP_READDIRPLUS) & ~FuseConnInfo.FUSE_CAP_READDIRPLUS_AUTO);
            }
            // Not with noac: nfs(5) makes its writes synchronous, and the kernel keeps its own idea of a written file's
            // size and times under the writeback cache, so another client's changes to them would stay unseen.
            if (!semantics.readOnly() && !semantics.attributeCache().noac()
                    && (conn.capable() & FuseConnInfo.FUSE_CAP_WRITEBACK_CACHE) != 0) {
                // write(2) returns once the kernel holds the data; the kernel sends it in max_write WRITEs, several
                // at a time, and reports their failures at fsync and close, as the kernel NFS client does.
                conn.setWant(conn.want() | FuseConnInfo.FUSE_CAP_WRITEBACK_CACHE);
                writebackCache = true;
            }
            negotiatedMaxWrite = conn.maxWrite();
            negotiatedMaxRead = conn.maxRead();
            maxReadahead = conn.maxReadahead();
            LOG.info(LogLine.event("fuse-init").with("mount", name).with("proto", conn.protoMajor() + "." + conn.protoMinor())
                    .with("max_write", negotiatedMaxWrite).with("max_read", negotiatedMaxRead)
                    .with("max_readahead", maxReadahead).with("writeback_cache", writebackCache).toString());
        } catch (Throwable t) {
            LOG.log(Level.WARNING, "fuse init failed", t);
        }
    }

    @Override
    public void destroy() {
        // The session is closed by GatewayMount after the FUSE loop has ended.
    }

    // ---------------------------------------------------------------------------------------------
    // Attributes and directories

    @Override
    public int getattr(String path, Stat stat, FileInfo fi) {
        return guard(FuseOp.GETATTR, path, () -> {
            if (!mounted && JFUSE_MOUNT_PROBE.equals(path)) {
                return -Errno.ENOENT;
            }
            OpenFile of = fi == null ? null : files.get(fi.getFh());
            NfsAttributes a;
            if (of != null) {
                a = gw("fstat", path, n -> of.file().fstat());
            } else {
                String sp = share(path);
                a = gw("getattr", path, n -> attributesOf(path, sp));
            }
            fill(stat, a);
            return 0;
        });
    }

    /**
     * An object's own attributes (lstat), except for the FUSE root, whose directory may be reached through
     * a symbolic link on the gateway (stat).
     */
    private NfsAttributes attributesOf(String fusePath, String sharePath) throws NfsException {
        return fusePath.equals("/") ? session.stat(sharePath) : session.lstat(sharePath);
    }

    private static void fill(Stat stat, NfsAttributes a) {
        int type = a.type() == NfsAttributes.Type.OTHER ? Stat.S_IFREG : a.type().ifmt();
        stat.setMode(type | a.mode());
        stat.setUid(a.uid());
        stat.setGid(a.gid());
        stat.setNLink((short) Math.min(Short.MAX_VALUE, Math.max(1, a.nlink())));
        stat.setSize(a.size());
        stat.aTime().set(a.atime());
        stat.mTime().set(a.mtime());
        stat.cTime().set(a.ctime());
    }

    /**
     * Opens a directory: no gateway call (the kernel opens only what it knows as a directory, and the listing
     * is read by {@link #readdir} at offset 0); the handle keeps that listing for the pages that follow.
     */
    @Override
    public int opendir(String path, FileInfo fi) {
        return guard(FuseOp.OPENDIR, path, () -> {
            long h = nextHandle.getAndIncrement();
            dirs.put(h, new DirListing(share(path)));
            fi.setFh(h);
            return 0;
        });
    }

    /**
     * Lists a directory with every entry's attributes. At offset 0 (a new listing or a rewinddir) the whole
     * listing is read from the gateway in one {@link NfsSession#readdir} (NFSv4 READDIR with attributes, or
     * NFSv3 READDIRPLUS: one round trip per page of the gateway's answer) and kept with the handle; later pages
     * are served from it. Entries are given with offsets ({@code .} = 1, {@code ..} = 2, then 3…), which makes
     * libfuse answer the kernel's READDIRPLUS with each entry's node ID and attributes ({@code entry_timeout},
     * {@code attr_timeout}): a stat of a listed entry then needs no LOOKUP or GETATTR while they are valid
     * (libfuse 3.14 drops the attributes of entries given without offsets).
     */
    @Override
    public int readdir(String path, DirFiller filler, long offset, FileInfo fi, int flags) {
        return guard(FuseOp.READDIR, path, () -> {
            DirListing dir = fi == null ? null : dirs.get(fi.getFh());
            String sp = dir != null ? dir.sharePath() : share(path);
            List<NfsDirEntry> entries = dir == null ? null : dir.entries();
            if (entries == null || offset == 0) {
                entries = gw("readdir", path, n -> session.readdir(sp));
                if (dir != null) {
                    dir.entries(entries);
                }
            }
            boolean plus = (flags & FUSE_READDIR_PLUS) != 0;
            int plusFlag = plus ? DirFiller.FUSE_FILL_DIR_PLUS : 0;
            if (offset < 1 && filler.fill(".", st -> st.setMode(Stat.S_IFDIR), 1, 0) != 0) {
                return 0;
            }
            if (offset < 2 && filler.fill("..", st -> st.setMode(Stat.S_IFDIR), 2, 0) != 0) {
                return 0;
            }
            for (int i = (int) Math.max(0, offset - 2); i < entries.size(); i++) {
                NfsDirEntry e = entries.get(i);
                if (filler.fill(e.name(), st -> fill(st, e.attributes()), i + 3L, plusFlag) != 0) {
                    break;
                }
            }
            return 0;
        });
    }

    @Override
    public int releasedir(String path, FileInfo fi) {
        if (fi != null) {
            dirs.remove(fi.getFh());
        }
        return 0;
    }

    @Override
    public int statfs(String path, Statvfs statvfs) {
        return guard(FuseOp.STATFS, path, () -> {
            long now = System.nanoTime();
            FsStatsAt cached = lastStats;
            NfsFsStats s;
            if (cached != null && now - cached.nanos() < STATFS_CACHE_NANOS) {
                s = cached.stats();
            } else {
                s = gw("statfs", path, n -> session.statvfs(paths.root()));
                lastStats = new FsStatsAt(s, now);
            }
            long bs = Math.max(1, s.blockSize());
            statvfs.setBsize(bs);
            statvfs.setFrsize(bs);
            statvfs.setBlocks(s.totalBytes() / bs);
            statvfs.setBfree(s.freeBytes() / bs);
            statvfs.setBavail(s.availableBytes() / bs);
            statvfs.setNameMax(s.maxNameLength() > 0 ? s.maxNameLength() : 255);
            return 0;
        });
    }

    // ---------------------------------------------------------------------------------------------
    // Files

    @Override
    public int open(String path, FileInfo fi) {
        return guard(FuseOp.OPEN, path, () -> {
            int flags = fi.getFlags();
            if (OpenFlags.isWritable(flags) || (flags & OpenFlags.O_TRUNC) != 0) {
                requireWritable("open", path);
            }
            String sp = share(path);
            int nfsFlags = flags & ~(OpenFlags.O_CREAT | OpenFlags.O_EXCL);
            NfsFile f;
            try {
                f = gw("open", path, n -> session.open(sp, forWriteback(nfsFlags)));
            } catch (FuseErrno e) {
                if (e.errno() == Errno.ENOENT) {
                    // The kernel opened a name it still holds as existing (entry_timeout), removed on the gateway since.
                    // ESTALE makes the VFS look the name up again and retry once, as with a kernel NFS mount: an
                    // open with O_CREAT then creates the file, one without fails with ENOENT.
                    throw new FuseErrno(Errno.ESTALE, "open " + path + ": gone from the gateway; looked up again");
                }
                if (e.errno() != Errno.EACCES || forWriteback(nfsFlags) == nfsFlags) {
                    throw e;
                }
                // Write-only by permission: the kernel then cannot fill partial pages, but writes of whole
                // pages and appends still work.
                f = gw("open", path, n -> session.open(sp, nfsFlags));
            }
            register(sp, f, flags, fi);
            if ((flags & OpenFlags.O_TRUNC) != 0) {
                invalidateReaders(sp);
            }
            return 0;
        });
    }

    @Override
    public int create(String path, int mode, FileInfo fi) {
        return guard(FuseOp.CREATE, path, () -> {
            requireWritable("create", path);
            String sp = share(path);
            int flags = fi.getFlags() | OpenFlags.O_CREAT;
            int nfsFlags = forWriteback(flags);
            NfsFile f = gw("create", path, n -> session.create(sp, n > 0 ? nfsFlags & ~OpenFlags.O_EXCL : nfsFlags,
                    mode & 07777));
            try {
                giveToCaller("create", path, sp);
            } catch (FuseErrno | RuntimeException e) {
                closeQuietly(f);
                throw e;
            }
            register(sp, f, flags, fi);
            return 0;
        });
    }

    /**
     * The flags to open the gateway's file with: with the writeback cache, write-only opens become read-write
     * (the kernel reads the rest of a page before it writes part of it) and O_APPEND is dropped (the kernel
     * puts appends at the end itself; nfs-client writes at the offsets it is given anyway).
     */
    private int forWriteback(int flags) {
        if (!writebackCache) {
            return flags;
        }
        int widened = flags & ~OpenFlags.O_APPEND;
        return (widened & OpenFlags.O_ACCMODE) == OpenFlags.O_WRONLY
                ? (widened & ~OpenFlags.O_ACCMODE) | OpenFlags.O_RDWR : widened;
    }

    private void register(String sharePath, NfsFile f, int openFlags, FileInfo fi) {
        // With the writeback cache the kernel writes appends at the offsets it chose: no end-of-file lookup here.
        int flags = writebackCache ? openFlags & ~OpenFlags.O_APPEND : openFlags;
        long h = nextHandle.getAndIncrement();
        ReadAhead ra = OpenFlags.isReadable(flags) && readAheadChunks > 0
                ? new ReadAhead(f::pread, chunks, prefetcher, readAheadChunks) : null;
        files.put(h, new OpenFile(h, sharePath, f, flags, ra));
        fi.setFh(h);
    }

    @Override
    public int read(String path, ByteBuffer buf, long count, long offset, FileInfo fi) {
        return guard(FuseOp.READ, path, () -> {
            OpenFile of = handle("read", fi);
            readRequests.incrementAndGet();
            largestRead.accumulateAndGet(count, Math::max);
            int n = of.serveFromReadAhead(offset, buf);
            readAheadBytes.addAndGet(n);
            ReadAhead ra = of.readAhead();
            if (buf.hasRemaining() && (ra == null || !ra.isEndOfFile(offset + n))) {
                long at = offset + n;
                n += gw("read", path, a -> of.file().pread(at, buf));
            }
            metrics.read(n);
            return n;
        });
    }

    @Override
    public int write(String path, ByteBuffer buf, long count, long offset, FileInfo fi) {
        return guard(FuseOp.WRITE, path, () -> {
            requireWritable("write", path);
            OpenFile of = handle("write", fi);
            writeRequests.incrementAndGet();
            largestWrite.accumulateAndGet(count, Math::max);
            int len = buf.remaining();
            long at = offset;
            if (of.isAppend()) {
                long size = of.needsAppendSize() ? gw("fstat", path, n -> of.file().fstat()).size() : -1;
                at = of.reserveAppend(size, len);
            }
            invalidateReaders(of.sharePath());
            long where = at;
            of.markDirty();
            gw("write", path, n -> of.file().pwrite(where, buf.duplicate()));
            metrics.written(len);
            return len;
        });
    }

    @Override
    public int flush(String path, FileInfo fi) {
        return guard(FuseOp.FLUSH, path, () -> {
            commit(path, handle("flush", fi));
            return 0;
        });
    }

    @Override
    public int fsync(String path, int datasync, FileInfo fi) {
        return guard(FuseOp.FSYNC, path, () -> {
            OpenFile of = handle("fsync", fi);
            if (!of.isWritable()) {
                return 0; // nothing of ours to make durable through a read-only handle
            }
            of.markDirty();
            commit(path, of);
            return 0;
        });
    }

    private void commit(String path, OpenFile of) throws FuseErrno {
        if (!of.takeDirty()) {
            return;
        }
        try {
            gw("commit", path, n -> {
                of.file().fsync();
                return null;
            });
        } catch (FuseErrno e) {
            of.restoreDirty();
            throw e;
        }
    }

    @Override
    public int release(String path, FileInfo fi) {
        return guard(FuseOp.RELEASE, path, () -> {
            OpenFile of = fi == null ? null : files.remove(fi.getFh());
            if (of == null) {
                return 0;
            }
            if (of.readAhead() != null) {
                of.readAhead().close();
            }
            try {
                commit(path, of);
            } catch (FuseErrno e) {
                LOG.warning(LogLine.event("commit-on-release-failed").with("mount", name).with("path", path)
                        .with("errno", Errno.name(e.errno())).toString());
            }
            closeQuietly(of.file());
            return 0;
        });
    }

    /** One CLOSE attempt, no retries: a gateway that lost the open state has nothing to close. */
    private void closeQuietly(NfsFile f) {
        try {
            f.close();
        } catch (NfsException | RuntimeException e) {
            if (LOG.isLoggable(Level.FINE)) {
                LOG.fine(LogLine.event("close-failed").with("mount", name).with("path", f.path())
                        .with("error", e.getMessage()).toString());
            }
        }
    }

    private void invalidateReaders(String sharePath) {
        for (OpenFile of : files.values()) {
            if (of.sharePath().equals(sharePath)) {
                of.invalidate();
            }
        }
    }

    @Override
    public int truncate(String path, long size, FileInfo fi) {
        return guard(FuseOp.TRUNCATE, path, () -> {
            requireWritable("truncate", path);
            OpenFile of = fi == null ? null : files.get(fi.getFh());
            String sp = of != null ? of.sharePath() : share(path);
            invalidateReaders(sp);
            if (of != null && of.isWritable()) {
                gw("truncate", path, n -> {
                    of.file().ftruncate(size);
                    return null;
                });
            } else {
                gw("truncate", path, n -> {
                    session.truncate(sp, size);
                    return null;
                });
            }
            for (OpenFile o : files.values()) {
                if (o.sharePath().equals(sp)) {
                    o.resetAppend();
                }
            }
            return 0;
        });
    }

    // ---------------------------------------------------------------------------------------------
    // Names

    @Override
    public int mkdir(String path, int mode) {
        return guard(FuseOp.MKDIR, path, () -> {
            requireWritable("mkdir", path);
            String sp = share(path);
            gw("mkdir", path, n -> {
                try {
                    session.mkdir(sp, mode & 07777);
                } catch (NfsException e) {
                    if (!(n > 0 && e.isAlreadyExists() && session.lstat(sp).isDirectory())) {
                        throw e;
                    }
                }
                return null;
            });
            giveToCaller("mkdir", path, sp);
            return 0;
        });
    }

    @Override
    public int unlink(String path) {
        return guard(FuseOp.UNLINK, path, () -> {
            requireWritable("unlink", path);
            String sp = share(path);
            gw("unlink", path, n -> {
                try {
                    session.unlink(sp);
                } catch (NfsException e) {
                    if (!(n > 0 && e.isNotFound())) {
                        throw e;
                    }
                }
                return null;
            });
            return 0;
        });
    }

    @Override
    public int rmdir(String path) {
        return guard(FuseOp.RMDIR, path, () -> {
            requireWritable("rmdir", path);
            String sp = share(path);
            gw("rmdir", path, n -> {
                try {
                    session.rmdir(sp);
                } catch (NfsException e) {
                    if (!(n > 0 && e.isNotFound())) {
                        throw e;
                    }
                }
                return null;
            });
            return 0;
        });
    }

    @Override
    public int rename(String oldpath, String newpath, int flags) {
        return guard(FuseOp.RENAME, oldpath, () -> {
            requireWritable("rename", oldpath);
            if ((flags & ~RENAME_NOREPLACE) != 0) {
                // RENAME_EXCHANGE, RENAME_WHITEOUT: NFS has nothing atomic to offer
                return -Errno.EINVAL;
            }
            String from = share(oldpath);
            String to = share(newpath);
            if ((flags & RENAME_NOREPLACE) != 0 && gw("rename", newpath, n -> session.exists(to))) {
                return -Errno.EEXIST;
            }
            gw("rename", oldpath, n -> {
                try {
                    session.rename(from, to);
                } catch (NfsException e) {
                    if (!(n > 0 && e.isNotFound() && session.exists(to) && !session.exists(from))) {
                        throw e;
                    }
                }
                return null;
            });
            invalidateReaders(to);
            return 0;
        });
    }

    /**
     * jfuse 0.7.3 hands libfuse's {@code symlink(const char *linkname, const char *path)} over in that order:
     * the first argument is the link's contents, the second the new link's path (its own Javadoc has the
     * names the other way round).
     */
    @Override
    public int symlink(String contents, String linkPath) {
        return guard(FuseOp.SYMLINK, linkPath, () -> {
            requireWritable("symlink", linkPath);
            String sp = share(linkPath);
            if (contents.isEmpty()) {
                return -Errno.ENOENT;
            }
            gw("symlink", linkPath, n -> {
                try {
                    session.symlink(contents, sp);
                } catch (NfsException e) {
                    if (!(n > 0 && e.isAlreadyExists() && contents.equals(session.readlink(sp)))) {
                        throw e;
                    }
                }
                return null;
            });
            giveToCaller("symlink", linkPath, sp);
            return 0;
        });
    }

    @Override
    public int readlink(String path, ByteBuffer buf, long len) {
        return guard(FuseOp.READLINK, path, () -> {
            String sp = share(path);
            String target = gw("readlink", path, n -> session.readlink(sp));
            byte[] bytes = target.getBytes(StandardCharsets.UTF_8);
            int n = (int) Math.max(0, Math.min(bytes.length, len - 1));
            buf.put(0, bytes, 0, n);
            if (len > 0) {
                buf.put(n, (byte) 0);
            }
            return 0;
        });
    }

    // ---------------------------------------------------------------------------------------------
    // Attributes

    @Override
    public int chmod(String path, int mode, FileInfo fi) {
        return guard(FuseOp.CHMOD, path, () -> {
            requireWritable("chmod", path);
            String sp = share(path);
            gw("chmod", path, n -> {
                session.chmod(sp, mode & 07777);
                return null;
            });
            return 0;
        });
    }

    @Override
    public int chown(String path, int uid, int gid, FileInfo fi) {
        return guard(FuseOp.CHOWN, path, () -> {
            requireWritable("chown", path);
            String sp = share(path);
            gw("chown", path, n -> {
                session.lchown(sp, uid, gid);
                return null;
            });
            return 0;
        });
    }

    @Override
    public int utimens(String path, TimeSpec atime, TimeSpec mtime, FileInfo fi) {
        return guard(FuseOp.UTIMENS, path, () -> {
            requireWritable("utimens", path);
            String sp = share(path);
            Instant now = Instant.now();
            Instant a = atime.isUtimeOmit() ? null : atime.isUtimeNow() ? now : atime.get();
            Instant m = mtime.isUtimeOmit() ? null : mtime.isUtimeNow() ? now : mtime.get();
            if (a == null && m == null) {
                return 0;
            }
            gw("utimens", path, n -> {
                session.lutimes(sp, a, m);
                return null;
            });
            return 0;
        });
    }

    // ---------------------------------------------------------------------------------------------
    // Ownership of new objects

    /** Gives a just-created object to the FUSE caller, as a kernel NFS mount's AUTH_SYS create would. */
    private void giveToCaller(String op, String path, String sharePath) throws FuseErrno {
        if (fuseCaller == null || !helperIsRoot) {
            return;
        }
        FuseCaller.Identity who = fuseCaller.current();
        if (who == null || (who.uid() == 0 && who.gid() == 0)) {
            return;
        }
        String parent = NfsPaths.parent(sharePath);
        try {
            gw(op, path, n -> {
                int gid = (session.lstat(parent).mode() & S_ISGID) != 0 ? -1 : who.gid();
                session.lchown(sharePath, who.uid(), gid);
                return null;
            });
        } catch (FuseErrno e) {
            if (e.errno() != Errno.EPERM && e.errno() != Errno.EINVAL && e.errno() != Errno.EACCES) {
                throw e;
            }
            if (ownershipWarned.compareAndSet(false, true)) {
                LOG.warning(LogLine.event("ownership-not-set").with("mount", name).with("path", path)
                        .with("uid", who.uid()).with("gid", who.gid()).with("errno", Errno.name(e.errno()))
                        .with("hint", "the gateway refuses ownership changes from the helper (root squash?);"
                                + " new files stay owned by the helper's squashed identity").toString());
            }
        }
    }
}
