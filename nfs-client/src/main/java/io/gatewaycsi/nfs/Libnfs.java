package io.gatewaycsi.nfs;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.file.Path;

/**
 * Hand-written FFM downcall handles for the libnfs 4.0 functions this client uses (signatures from
 * {@code /usr/include/nfsc/libnfs.h} and {@code libnfs-raw.h} of Debian's libnfs-dev 4.0.0), plus libc
 * {@code poll}. Loaded once, lazily, from {@code libnfs.so.13}.
 *
 * <p>Only the asynchronous libnfs API is used for anything that talks to the network: its synchronous
 * wrappers keep their completion state on the C stack, and a PDU still queued when such a call gives up
 * (a broken connection) would later be completed into a dead stack frame by {@code nfs_destroy_context}.
 * {@link NativeContext} runs the event loop itself instead.
 */
@SuppressWarnings("restricted") // FFM: this class is where native memory and symbols are handled
final class Libnfs {
    static final String SONAME = "libnfs.so.13";
    static final Path FALLBACK = Path.of("/usr/lib/x86_64-linux-gnu/libnfs.so.13");

    // rpc_cb status values (libnfs-raw.h)
    static final int RPC_STATUS_SUCCESS = 0;
    static final int RPC_STATUS_ERROR = 1;
    static final int RPC_STATUS_CANCEL = 2;
    static final int RPC_STATUS_TIMEOUT = 3;

    // poll(2)
    static final short POLLIN = 0x001;
    static final short POLLOUT = 0x004;
    static final short POLLERR = 0x008;
    static final short POLLHUP = 0x010;
    static final short POLLNVAL = 0x020;

    /** struct nfs_stat_64: seventeen uint64_t. */
    static final StructLayout STAT64 = MemoryLayout.structLayout(
            JAVA_LONG.withName("nfs_dev"), JAVA_LONG.withName("nfs_ino"), JAVA_LONG.withName("nfs_mode"),
            JAVA_LONG.withName("nfs_nlink"), JAVA_LONG.withName("nfs_uid"), JAVA_LONG.withName("nfs_gid"),
            JAVA_LONG.withName("nfs_rdev"), JAVA_LONG.withName("nfs_size"), JAVA_LONG.withName("nfs_blksize"),
            JAVA_LONG.withName("nfs_blocks"), JAVA_LONG.withName("nfs_atime"), JAVA_LONG.withName("nfs_mtime"),
            JAVA_LONG.withName("nfs_ctime"), JAVA_LONG.withName("nfs_atime_nsec"),
            JAVA_LONG.withName("nfs_mtime_nsec"), JAVA_LONG.withName("nfs_ctime_nsec"),
            JAVA_LONG.withName("nfs_used"));

    /** struct nfs_statvfs_64: eleven uint64_t. */
    static final StructLayout STATVFS64 = MemoryLayout.structLayout(
            JAVA_LONG.withName("f_bsize"), JAVA_LONG.withName("f_frsize"), JAVA_LONG.withName("f_blocks"),
            JAVA_LONG.withName("f_bfree"), JAVA_LONG.withName("f_bavail"), JAVA_LONG.withName("f_files"),
            JAVA_LONG.withName("f_ffree"), JAVA_LONG.withName("f_favail"), JAVA_LONG.withName("f_fsid"),
            JAVA_LONG.withName("f_flag"), JAVA_LONG.withName("f_namemax"));

    /** struct timeval on LP64 Linux: long tv_sec, long tv_usec. */
    static final StructLayout TIMEVAL = MemoryLayout.structLayout(
            JAVA_LONG.withName("tv_sec"), JAVA_LONG.withName("tv_usec"));

    /** struct nfsdirent (libnfs.h), 160 bytes on LP64. */
    static final StructLayout DIRENT = MemoryLayout.structLayout(
            ADDRESS.withName("next"), ADDRESS.withName("name"), JAVA_LONG.withName("inode"),
            JAVA_INT.withName("type"), JAVA_INT.withName("mode"), JAVA_LONG.withName("size"),
            TIMEVAL.withName("atime"), TIMEVAL.withName("mtime"), TIMEVAL.withName("ctime"),
            JAVA_INT.withName("uid"), JAVA_INT.withName("gid"), JAVA_INT.withName("nlink"),
            MemoryLayout.paddingLayout(4), JAVA_LONG.withName("dev"), JAVA_LONG.withName("rdev"),
            JAVA_LONG.withName("blksize"), JAVA_LONG.withName("blocks"), JAVA_LONG.withName("used"),
            JAVA_INT.withName("atime_nsec"), JAVA_INT.withName("mtime_nsec"), JAVA_INT.withName("ctime_nsec"),
            MemoryLayout.paddingLayout(4));

    /** struct pollfd: int fd, short events, short revents. */
    static final StructLayout POLLFD = MemoryLayout.structLayout(
            JAVA_INT.withName("fd"), JAVA_SHORT.withName("events"), JAVA_SHORT.withName("revents"));

    static long offset(StructLayout layout, String... names) {
        PathElement[] path = new PathElement[names.length];
        for (int i = 0; i < names.length; i++) {
            path[i] = PathElement.groupElement(names[i]);
        }
        return layout.byteOffset(path);
    }

    private static final Object LOCK = new Object();
    private static Libnfs instance;
    private static String loadFailure;

    /**
     * The loaded library.
     *
     * @throws UnsatisfiedLinkError naming what could not be loaded (cached: later calls fail the same way)
     */
    static Libnfs get() {
        synchronized (LOCK) {
            if (instance != null) {
                return instance;
            }
            if (loadFailure != null) {
                throw new UnsatisfiedLinkError(loadFailure);
            }
            try {
                instance = new Libnfs();
                return instance;
            } catch (RuntimeException | LinkageError e) {
                loadFailure = "cannot load " + SONAME + " (Debian package libnfs13): " + e;
                throw new UnsatisfiedLinkError(loadFailure);
            }
        }
    }

    final MethodHandle initContext;        // struct nfs_context *nfs_init_context(void)
    final MethodHandle destroyContext;     // void nfs_destroy_context(struct nfs_context *)
    final MethodHandle getError;           // char *nfs_get_error(struct nfs_context *)
    final MethodHandle setVersion;         // int nfs_set_version(nfs, int)
    final MethodHandle setTimeout;         // void nfs_set_timeout(nfs, int ms)
    final MethodHandle setUid;             // void nfs_set_uid(nfs, int)
    final MethodHandle setGid;             // void nfs_set_gid(nfs, int)
    final MethodHandle setReadahead;       // void nfs_set_readahead(nfs, uint32_t)
    final MethodHandle setDircache;        // void nfs_set_dircache(nfs, int)
    final MethodHandle setAutoreconnect;   // void nfs_set_autoreconnect(nfs, int)
    final MethodHandle umask;              // uint16_t nfs_umask(nfs, uint16_t)
    final MethodHandle setClientName;      // void nfs4_set_client_name(nfs, const char *)
    final MethodHandle setVerifier;        // void nfs4_set_verifier(nfs, const char *) (8 bytes)
    final MethodHandle parseUrlIncomplete; // struct nfs_url *nfs_parse_url_incomplete(nfs, const char *)
    final MethodHandle destroyUrl;         // void nfs_destroy_url(struct nfs_url *)
    final MethodHandle getReadmax;         // uint64_t nfs_get_readmax(nfs)
    final MethodHandle getWritemax;        // uint64_t nfs_get_writemax(nfs)
    final MethodHandle getFd;              // int nfs_get_fd(nfs)
    final MethodHandle whichEvents;        // int nfs_which_events(nfs)
    final MethodHandle service;            // int nfs_service(nfs, int revents)
    final MethodHandle queueLength;        // int nfs_queue_length(nfs)
    final MethodHandle getRpcContext;      // struct rpc_context *nfs_get_rpc_context(nfs)
    final MethodHandle freeNfsfh;          // void nfs_free_nfsfh(struct nfsfh *) (exported, not in libnfs.h)

    final MethodHandle mountAsync;         // (nfs, const char *server, const char *export, cb, priv)
    final MethodHandle stat64Async;        // (nfs, path, cb, priv) -> data: struct nfs_stat_64 *
    final MethodHandle lstat64Async;       // (nfs, path, cb, priv)
    final MethodHandle fstat64Async;       // (nfs, struct nfsfh *, cb, priv)
    final MethodHandle mkdir2Async;        // (nfs, path, int mode, cb, priv)
    final MethodHandle rmdirAsync;         // (nfs, path, cb, priv)
    final MethodHandle unlinkAsync;        // (nfs, path, cb, priv)
    final MethodHandle opendirAsync;       // (nfs, path, cb, priv) -> data: struct nfsdir *
    final MethodHandle readdir;            // struct nfsdirent *nfs_readdir(nfs, struct nfsdir *)
    final MethodHandle closedir;           // void nfs_closedir(nfs, struct nfsdir *)
    final MethodHandle openAsync;          // (nfs, path, int flags, cb, priv) -> data: struct nfsfh *
    final MethodHandle createAsync;        // (nfs, path, int flags, int mode, cb, priv) -> data: struct nfsfh *
    final MethodHandle closeAsync;         // (nfs, struct nfsfh *, cb, priv)
    final MethodHandle preadAsync;         // (nfs, fh, uint64_t offset, uint64_t count, cb, priv) -> status: bytes
    final MethodHandle pwriteAsync;        // (nfs, fh, uint64_t offset, uint64_t count, const void *buf, cb, priv)
    final MethodHandle fsyncAsync;         // (nfs, fh, cb, priv)
    final MethodHandle ftruncateAsync;     // (nfs, fh, uint64_t length, cb, priv)
    final MethodHandle truncateAsync;      // (nfs, path, uint64_t length, cb, priv)
    final MethodHandle renameAsync;        // (nfs, old, new, cb, priv)
    final MethodHandle symlinkAsync;       // (nfs, target, linkname, cb, priv)
    final MethodHandle readlinkAsync;      // (nfs, path, cb, priv) -> data: char *
    final MethodHandle chmodAsync;         // (nfs, path, int mode, cb, priv)
    final MethodHandle chownAsync;         // (nfs, path, int uid, int gid, cb, priv)
    final MethodHandle lchownAsync;        // (nfs, path, int uid, int gid, cb, priv)
    final MethodHandle utimesAsync;        // (nfs, path, struct timeval times[2], cb, priv)
    final MethodHandle lutimesAsync;       // (nfs, path, struct timeval times[2], cb, priv)
    final MethodHandle statvfs64Async;     // (nfs, path, cb, priv) -> data: struct nfs_statvfs_64 *
    final MethodHandle nfs4CompoundAsync;  // int rpc_nfs4_compound_async(rpc, rpc_cb, COMPOUND4args *, priv)
    // A COMPOUND with an encode buffer of our size (rpc_nfs4_compound_async's is a fixed 4 KiB): rpc_pdu *
    // rpc_allocate_pdu2(rpc, program, version, procedure, rpc_cb, priv, zdrproc_t decode, int decode_bufsize,
    // size_t alloc_hint); bool_t zdr_COMPOUND4args(ZDR *, COMPOUND4args *); int rpc_queue_pdu(rpc, pdu);
    // void rpc_free_pdu(rpc, pdu); zdr_COMPOUND4res is the reply decoder.
    final MethodHandle rpcAllocatePdu2;
    final MethodHandle zdrCompound4Args;
    final MethodHandle rpcQueuePdu;
    final MethodHandle rpcFreePdu;
    final MemorySegment zdrCompound4Res;

    final MethodHandle poll;               // int poll(struct pollfd *, nfds_t, int timeout_ms)
    final MethodHandle getsockopt;         // int getsockopt(int fd, int level, int optname, void *, socklen_t *)

    /** The nfs_cb upcall: void (*)(int err, struct nfs_context *, void *data, void *private_data). */
    final MemorySegment nfsCallback;
    /** The rpc_cb upcall: void (*)(struct rpc_context *, int status, void *data, void *private_data). */
    final MemorySegment rpcCallback;

    private Libnfs() {
        Linker linker = Linker.nativeLinker();
        SymbolLookup lib;
        try {
            lib = SymbolLookup.libraryLookup(SONAME, Arena.global());
        } catch (IllegalArgumentException e) {
            lib = SymbolLookup.libraryLookup(FALLBACK, Arena.global());
        }
        SymbolLookup libc = linker.defaultLookup();
        Fn f = new Fn(linker, lib);

        initContext = f.h("nfs_init_context", FunctionDescriptor.of(ADDRESS));
        destroyContext = f.h("nfs_destroy_context", FunctionDescriptor.ofVoid(ADDRESS));
        getError = f.h("nfs_get_error", FunctionDescriptor.of(ADDRESS, ADDRESS));
        setVersion = f.h("nfs_set_version", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        setTimeout = f.h("nfs_set_timeout", FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT));
        setUid = f.h("nfs_set_uid", FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT));
        setGid = f.h("nfs_set_gid", FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT));
        setReadahead = f.h("nfs_set_readahead", FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT));
        setDircache = f.h("nfs_set_dircache", FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT));
        setAutoreconnect = f.h("nfs_set_autoreconnect", FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT));
        umask = f.h("nfs_umask", FunctionDescriptor.of(JAVA_SHORT, ADDRESS, JAVA_SHORT));
        setClientName = f.h("nfs4_set_client_name", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS));
        setVerifier = f.h("nfs4_set_verifier", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS));
        parseUrlIncomplete = f.h("nfs_parse_url_incomplete", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS));
        destroyUrl = f.h("nfs_destroy_url", FunctionDescriptor.ofVoid(ADDRESS));
        getReadmax = f.h("nfs_get_readmax", FunctionDescriptor.of(JAVA_LONG, ADDRESS));
        getWritemax = f.h("nfs_get_writemax", FunctionDescriptor.of(JAVA_LONG, ADDRESS));
        getFd = f.h("nfs_get_fd", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        whichEvents = f.h("nfs_which_events", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        service = f.h("nfs_service", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        queueLength = f.h("nfs_queue_length", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        getRpcContext = f.h("nfs_get_rpc_context", FunctionDescriptor.of(ADDRESS, ADDRESS));
        freeNfsfh = f.h("nfs_free_nfsfh", FunctionDescriptor.ofVoid(ADDRESS));

        // Every *_async returns 0 when queued, < 0 when not (then the callback is not called).
        mountAsync = f.h("nfs_mount_async", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        stat64Async = f.h("nfs_stat64_async", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        lstat64Async = f.h("nfs_lstat64_async", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        fstat64Async = f.h("nfs_fstat64_async", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        mkdir2Async = f.h("nfs_mkdir2_async", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
        rmdirAsync = f.h("nfs_rmdir_async", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        unlinkAsync = f.h("nfs_unlink_async", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        opendirAsync = f.h("nfs_opendir_async", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        readdir = f.h("nfs_readdir", FunctionDescriptor.of(ADDRESS.withTargetLayout(DIRENT), ADDRESS, ADDRESS));
        closedir = f.h("nfs_closedir", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS));
        openAsync = f.h("nfs_open_async", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
        createAsync = f.h("nfs_create_async",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
        closeAsync = f.h("nfs_close_async", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        preadAsync = f.h("nfs_pread_async",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS, ADDRESS));
        pwriteAsync = f.h("nfs_pwrite_async",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS, ADDRESS, ADDRESS));
        fsyncAsync = f.h("nfs_fsync_async", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        ftruncateAsync = f.h("nfs_ftruncate_async",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS));
        truncateAsync = f.h("nfs_truncate_async",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS));
        renameAsync = f.h("nfs_rename_async", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        symlinkAsync = f.h("nfs_symlink_async", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        readlinkAsync = f.h("nfs_readlink_async", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        chmodAsync = f.h("nfs_chmod_async", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
        chownAsync = f.h("nfs_chown_async",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
        lchownAsync = f.h("nfs_lchown_async",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
        utimesAsync = f.h("nfs_utimes_async", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        lutimesAsync = f.h("nfs_lutimes_async", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        statvfs64Async = f.h("nfs_statvfs64_async", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        nfs4CompoundAsync = f.h("rpc_nfs4_compound_async",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        rpcAllocatePdu2 = f.h("rpc_allocate_pdu2", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT, JAVA_INT,
                JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG));
        zdrCompound4Args = f.h("zdr_COMPOUND4args", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        rpcQueuePdu = f.h("rpc_queue_pdu", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        rpcFreePdu = f.h("rpc_free_pdu", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS));
        zdrCompound4Res = f.symbol("zdr_COMPOUND4res");

        poll = linker.downcallHandle(libc.find("poll").orElseThrow(() -> new UnsatisfiedLinkError("libc poll")),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
        getsockopt = linker.downcallHandle(
                libc.find("getsockopt").orElseThrow(() -> new UnsatisfiedLinkError("libc getsockopt")),
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));

        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            MethodHandle onNfs = lookup.findStatic(Callbacks.class, "onNfs", MethodType.methodType(
                    void.class, int.class, MemorySegment.class, MemorySegment.class, MemorySegment.class));
            MethodHandle onRpc = lookup.findStatic(Callbacks.class, "onRpc", MethodType.methodType(
                    void.class, MemorySegment.class, int.class, MemorySegment.class, MemorySegment.class));
            nfsCallback = linker.upcallStub(onNfs,
                    FunctionDescriptor.ofVoid(JAVA_INT, ADDRESS, ADDRESS, ADDRESS), Arena.global());
            rpcCallback = linker.upcallStub(onRpc,
                    FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT, ADDRESS, ADDRESS), Arena.global());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    private record Fn(Linker linker, SymbolLookup lib) {
        MethodHandle h(String name, FunctionDescriptor fd) {
            return linker.downcallHandle(symbol(name), fd);
        }

        MemorySegment symbol(String name) {
            return lib.find(name).orElseThrow(() -> new UnsatisfiedLinkError(
                    "symbol " + name + " not found in " + SONAME + " (libnfs 4.0 expected)"));
        }
    }
}
