package io.gatewaycsi.nfs;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * One libnfs context: one TCP connection to the gateway and, for NFSv4, one client identity with its open
 * state. Not thread-safe: the {@link ContextPool} lends it to one thread at a time, which drives libnfs's
 * event loop here ({@code nfs_get_fd}/{@code nfs_which_events}/{@code poll}/{@code nfs_service}) until the
 * call it issued through the asynchronous API completes.
 *
 * <p>Deadlines: every RPC carries libnfs's own timeout ({@code nfs_set_timeout}); on top, the loop gives up
 * when the socket has shown no input for the timeout plus a little slack (this bounds connecting, which has
 * no RPC timeout in libnfs). Any timeout, broken connection or lost NFSv4 state marks the context
 * {@link #failure() failed}; the pool then destroys it instead of lending it again.
 */
@SuppressWarnings("restricted") // FFM: this class is where native memory and symbols are handled
final class NativeContext {
    /** Why a context can no longer be used. */
    enum Failure {
        NONE, TIMEOUT, CONNECTION, STATE,
        /**
         * Still connected, but its NFSv4.0 open-owner sequence ID is out of step with the gateway's (RFC 7530
         * section 9.1.7): the gateway counted a failed OPEN that libnfs 4.0 did not (it steps the ID only
         * when the OPEN succeeds). Its next OPEN would be taken for a retransmission and answered with the
         * failed one's error while the owner holds open files, so it is retired: not lent again, destroyed
         * when returned; its open files are reopened on other contexts when next used.
         */
        RETIRED
    }

    /** libnfs 4.0 accepts replies of at most 1 MiB + 4 KiB ({@code NFS_MAX_XFER_SIZE}); larger kill the connection. */
    static final int MAX_IO = 1 << 20;
    private static final int READ_WINDOW = 4;
    private static final int WRITE_WINDOW_PDUS = 128;
    private static final long WRITE_WINDOW_BYTES = 4L << 20;
    private static final long SLACK_NANOS = 500_000_000L;
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Libnfs lib;
    final MemorySegment nfs;
    final int id;
    final NfsVersion version;
    private final long timeoutNanos;
    private final String spec;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment pollfd;
    private final MemorySegment sockopt;
    /** The socket's SO_ERROR when its connection failed (ECONNREFUSED, EHOSTUNREACH, ...), else 0. */
    private volatile int socketError;

    // Guarded by the pool's lock.
    boolean busy;
    boolean destroyed;
    /** The paths open on this context (see {@link FileHandle}). */
    final java.util.Map<String, FileHandle> handles = new java.util.HashMap<>();

    // Used only by the thread that has borrowed the context (or the pool, once it is idle).
    private volatile Failure failure = Failure.NONE;
    private volatile String failureText;
    int uses;
    volatile long lastStatefulNanos = System.nanoTime();
    int readChunk = MAX_IO;
    int writeChunk;

    private NativeContext(Libnfs lib, MemorySegment nfs, int id, NfsVersion version, long timeoutNanos, String spec) {
        this.lib = lib;
        this.nfs = nfs;
        this.id = id;
        this.version = version;
        this.timeoutNanos = timeoutNanos;
        this.spec = spec;
        this.pollfd = arena.allocate(Libnfs.POLLFD);
        this.sockopt = arena.allocate(8);
        this.writeChunk = MAX_IO;
    }

    /**
     * Creates a context, configures it from the options and mounts the export.
     *
     * @param address the gateway's address (numeric: name resolution happens before, under a deadline)
     */
    static NativeContext open(Libnfs lib, int id, String address, NfsTarget target, NfsSessionOptions options)
            throws NfsException {
        String spec = target.spec();
        MemorySegment nfs;
        try {
            nfs = (MemorySegment) lib.initContext.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (nfs.equals(MemorySegment.NULL)) {
            throw new NfsException("mount", null, spec, Errno.ENOMEM, "nfs_init_context failed", false);
        }
        NativeContext ctx = new NativeContext(lib, nfs, id, target.version(), options.timeout().toNanos(), spec);
        boolean ok = false;
        try {
            ctx.configure(target, options);
            ctx.mount(address, target.export());
            ok = true;
            return ctx;
        } finally {
            if (!ok) {
                ctx.destroy();
            }
        }
    }

    private void configure(NfsTarget target, NfsSessionOptions o) throws NfsException {
        try (Arena a = Arena.ofConfined()) {
            int rc = (int) lib.setVersion.invokeExact(nfs, target.version().major());
            if (rc != 0) {
                throw new NfsException("mount", null, spec, Errno.EPROTO, lastError(), false);
            }
            long ms = Math.max(1, timeoutNanos / 1_000_000L);
            lib.setTimeout.invokeExact(nfs, (int) Math.min(Integer.MAX_VALUE, ms));
            // We replace broken contexts ourselves; libnfs reconnecting underneath would hide the failure.
            lib.setAutoreconnect.invokeExact(nfs, 0);
            // Several contexts (and other clients) change the same directories: no directory cache.
            lib.setDircache.invokeExact(nfs, 0);
            short ignored = (short) lib.umask.invokeExact(nfs, (short) 0);
            if (o.uid() >= 0) {
                lib.setUid.invokeExact(nfs, o.uid());
            }
            if (o.gid() >= 0) {
                lib.setGid.invokeExact(nfs, o.gid());
            }
            if (o.readaheadBytes() > 0) {
                lib.setReadahead.invokeExact(nfs, o.readaheadBytes());
            }
            if (target.version() == NfsVersion.V4) {
                // libnfs names every client "Libnfs pid:<pid> <time(NULL)>": two contexts opened in the same
                // second would share a client id, and the second SETCLIENTID would wipe the first's state.
                byte[] nonce = new byte[8];
                RANDOM.nextBytes(nonce);
                StringBuilder name = new StringBuilder("gateway-csi pid:").append(ProcessHandle.current().pid())
                        .append(" ctx:");
                for (byte b : nonce) {
                    name.append(String.format("%02x", b));
                }
                lib.setClientName.invokeExact(nfs, a.allocateFrom(name.toString()));
                byte[] verifier = new byte[8];
                RANDOM.nextBytes(verifier);
                MemorySegment v = a.allocate(8);
                v.copyFrom(MemorySegment.ofArray(verifier));
                lib.setVerifier.invokeExact(nfs, v);
            }
            if (target.port() != 0) {
                MemorySegment url = (MemorySegment) lib.parseUrlIncomplete.invokeExact(nfs,
                        a.allocateFrom("nfs://?nfsport=" + target.port()));
                if (url.equals(MemorySegment.NULL)) {
                    throw new NfsException("mount", null, spec, Errno.EINVAL, lastError(), false);
                }
                lib.destroyUrl.invokeExact(url);
            }
        } catch (NfsException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private void mount(String address, String export) throws NfsException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment srv = a.allocateFrom(address);
            MemorySegment exp = a.allocateFrom(export);
            call("mount", null, t -> (int) lib.mountAsync.invokeExact(nfs, srv, exp, lib.nfsCallback, t),
                    (st, d) -> null);
        }
        try {
            long readmax = (long) lib.getReadmax.invokeExact(nfs);
            long writemax = (long) lib.getWritemax.invokeExact(nfs);
            // NFSv4 in libnfs 4.0 leaves both at 0.
            if (readmax > 0) {
                readChunk = (int) Math.min(readmax, MAX_IO);
            }
            if (version == NfsVersion.V3 && writemax > 0) {
                writeChunk = (int) Math.min(writemax, MAX_IO);
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // State

    Failure failure() {
        return failure;
    }

    boolean isFailed() {
        return failure != Failure.NONE;
    }

    String failureText() {
        return failureText;
    }

    void markFailed(Failure f, String text) {
        if (failure == Failure.NONE) {
            failureText = text;
            failure = f;
        }
    }

    /**
     * Checks an idle context before lending it: a connection the gateway closed meanwhile shows as readable
     * (EOF) or hung up; {@code nfs_service} then fails and the context is marked failed.
     *
     * @return whether it is still usable
     */
    boolean checkIdle() {
        if (isFailed()) {
            return false;
        }
        try {
            int fd = (int) lib.getFd.invokeExact(nfs);
            if (fd < 0) {
                markFailed(Failure.CONNECTION, "not connected");
                return false;
            }
            pollfd.set(JAVA_INT, 0, fd);
            pollfd.set(JAVA_SHORT, 4, Libnfs.POLLIN);
            pollfd.set(JAVA_SHORT, 6, (short) 0);
            int n = (int) lib.poll.invokeExact(pollfd, 1L, 0);
            if (n > 0) {
                int revents = pollfd.get(JAVA_SHORT, 6) & 0xffff;
                int rc = (int) lib.service.invokeExact(nfs, revents);
                if (rc < 0 || (revents & (Libnfs.POLLHUP | Libnfs.POLLERR | Libnfs.POLLNVAL)) != 0) {
                    markFailed(Failure.CONNECTION, "connection closed while idle: " + lastError());
                    return false;
                }
                if ((int) lib.getFd.invokeExact(nfs) < 0) {
                    markFailed(Failure.CONNECTION, "connection closed while idle");
                    return false;
                }
            }
            return true;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Destroys the native context (which completes every queued PDU with a cancel status into callbacks
     * that have been forgotten), then frees the file handles still open on it. Idempotent; called by the
     * pool only when no thread uses the context.
     */
    void destroy() {
        synchronized (this) {
            if (destroyed) {
                return;
            }
            destroyed = true;
        }
        try {
            lib.destroyContext.invokeExact(nfs);
            for (FileHandle h : handles.values()) {
                if (!h.fh.equals(MemorySegment.NULL)) {
                    lib.freeNfsfh.invokeExact(h.fh);
                    h.fh = MemorySegment.NULL;
                }
                h.dead = true;
            }
        } catch (Throwable t) {
            throw rethrow(t);
        } finally {
            arena.close();
        }
    }

    /** Reads SO_ERROR of a failing socket, so that a refused or unreachable connection says so. */
    private void captureSocketError(int fd) throws Throwable {
        sockopt.set(JAVA_INT, 0, 0);
        sockopt.set(JAVA_INT, 4, 4);
        int rc = (int) lib.getsockopt.invokeExact(fd, 1 /* SOL_SOCKET */, 4 /* SO_ERROR */, sockopt,
                sockopt.asSlice(4));
        if (rc == 0 && sockopt.get(JAVA_INT, 0) != 0 && socketError == 0) {
            socketError = sockopt.get(JAVA_INT, 0);
        }
    }

    /** errno for a transport failure: the socket's own error if it had one, else EIO. */
    private int transportErrno() {
        return socketError != 0 ? socketError : Errno.EIO;
    }

    String lastError() {
        try {
            MemorySegment s = (MemorySegment) lib.getError.invokeExact(nfs);
            return s.equals(MemorySegment.NULL) ? null : s.reinterpret(4096).getString(0, StandardCharsets.UTF_8);
        } catch (Throwable t) {
            return null;
        }
    }

    // ---------------------------------------------------------------------------------------------
    // The event loop and single calls

    @FunctionalInterface
    interface Issuer {
        /** Issues one *_async call with the given private_data; returns its return code. */
        int issue(MemorySegment ticket) throws Throwable;
    }

    @FunctionalInterface
    interface Reader<T> {
        /** Copies what it needs out of the callback's data (valid only now). */
        T read(int status, MemorySegment data);
    }

    /** Completion of one call. */
    private final class Slot<T> implements Callbacks.Completion {
        private final Reader<T> reader;
        boolean done;
        int status;
        T value;
        String error;
        RuntimeException readFailure;

        Slot(Reader<T> reader) {
            this.reader = reader;
        }

        @Override
        public void complete(int st, MemorySegment data) {
            status = st;
            if (st >= 0) {
                try {
                    value = reader.read(st, data);
                } catch (RuntimeException e) {
                    readFailure = e;
                }
            } else {
                error = lastError();
            }
            done = true;
        }
    }

    /**
     * Issues one asynchronous libnfs call and runs the event loop until it completes.
     *
     * @param op the operation name for errors
     * @param path the path for errors
     * @return what {@code reader} extracted on success
     * @throws NfsException mapped from libnfs's status, the loop's deadline or a broken connection
     */
    <T> T call(String op, String path, Issuer issuer, Reader<T> reader) throws NfsException {
        checkUsable(op, path);
        Slot<T> slot = new Slot<>(reader);
        MemorySegment ticket = Callbacks.register(slot);
        try {
            int rc;
            try {
                rc = issuer.issue(ticket);
            } catch (Throwable t) {
                throw rethrow(t);
            }
            if (rc != 0) {
                throw queueFailure(op, path);
            }
            drive(() -> slot.done, op, path);
            if (slot.status < 0) {
                throw error(op, path, -slot.status, slot.error);
            }
            if (slot.readFailure != null) {
                throw slot.readFailure;
            }
            return slot.value;
        } finally {
            Callbacks.forget(ticket);
        }
    }

    private void checkUsable(String op, String path) throws NfsException {
        if (isFailed()) {
            throw new NfsException(op, path, spec, failure == Failure.TIMEOUT ? Errno.ETIMEDOUT : transportErrno(),
                    failureText, failure != Failure.TIMEOUT);
        }
    }

    /** A *_async call that could not even be queued: libnfs says why in its error text. */
    private NfsException queueFailure(String op, String path) {
        String text = lastError();
        if (text != null && (text.contains("ZDR") || text.contains("encode"))) {
            return new NfsException(op, path, spec, Errno.EINVAL, text, false);
        }
        if (text != null && text.contains("Out of memory")) {
            return new NfsException(op, path, spec, Errno.ENOMEM, text, false);
        }
        markFailed(Failure.CONNECTION, text);
        return new NfsException(op, path, spec, transportErrno(), text, true);
    }

    /** Maps a failed callback status to an exception, marking the context failed where that is the cause. */
    private NfsException error(String op, String path, int errno, String text) {
        if (isFailed()) {
            String why = text != null ? text : failureText;
            return switch (failure) {
                case TIMEOUT -> new NfsException(op, path, spec, Errno.ETIMEDOUT, why, false);
                case CONNECTION -> new NfsException(op, path, spec, transportErrno(), why, true);
                default -> new NfsException(op, path, spec, errnoFor(errno, text), why, false);
            };
        }
        if (errno == Errno.EINTR) {
            // libnfs reports "Command timed out" (and "Command was cancelled") as -EINTR.
            markFailed(Failure.TIMEOUT, text);
            return new NfsException(op, path, spec, Errno.ETIMEDOUT, text, false);
        }
        if (errno == Errno.EFAULT) {
            // RPC_STATUS_ERROR: the transport failed under the call.
            markFailed(Failure.CONNECTION, text);
            return new NfsException(op, path, spec, transportErrno(), text, true);
        }
        NfsStatus.Entry e = NfsStatus.inText(text);
        if (e != null && e.effect() == NfsStatus.Effect.STATE_LOST) {
            markFailed(Failure.STATE, text);
        }
        return new NfsException(op, path, spec, errnoFor(errno, text), text, false);
    }

    private static int errnoFor(int errno, String text) {
        NfsStatus.Entry e = NfsStatus.inText(text);
        return e != null ? e.errno() : errno;
    }

    /**
     * Runs libnfs's event loop until {@code done} holds, the connection fails, or no input arrives for the
     * timeout plus slack.
     */
    private void drive(BooleanSupplier done, String op, String path) throws NfsException {
        long deadline = System.nanoTime() + timeoutNanos + SLACK_NANOS;
        try {
            while (!done.getAsBoolean()) {
                int fd = (int) lib.getFd.invokeExact(nfs);
                int events = (int) lib.whichEvents.invokeExact(nfs);
                long now = System.nanoTime();
                int waitMs = (int) Math.max(0, Math.min(100, (deadline - now) / 1_000_000L));
                int revents = 0;
                if (fd >= 0) {
                    pollfd.set(JAVA_INT, 0, fd);
                    pollfd.set(JAVA_SHORT, 4, (short) events);
                    pollfd.set(JAVA_SHORT, 6, (short) 0);
                    int n = (int) lib.poll.invokeExact(pollfd, 1L, waitMs);
                    if (n > 0) {
                        revents = pollfd.get(JAVA_SHORT, 6) & 0xffff;
                        if ((revents & (Libnfs.POLLERR | Libnfs.POLLHUP)) != 0) {
                            captureSocketError(fd);
                        }
                    }
                } else {
                    Thread.sleep(Math.max(1, Math.min(waitMs, 10)));
                }
                int rc = (int) lib.service.invokeExact(nfs, revents);
                if (rc < 0) {
                    String text = lastError();
                    markFailed(Failure.CONNECTION, text);
                    if (done.getAsBoolean()) {
                        return;
                    }
                    throw new NfsException(op, path, spec, transportErrno(), text, true);
                }
                if ((revents & Libnfs.POLLIN) != 0) {
                    deadline = System.nanoTime() + timeoutNanos + SLACK_NANOS;
                }
                if (done.getAsBoolean()) {
                    return;
                }
                if (System.nanoTime() - deadline > 0) {
                    String text = "no reply within " + (timeoutNanos / 1_000_000L) + " ms";
                    markFailed(Failure.TIMEOUT, text);
                    throw new NfsException(op, path, spec, Errno.ETIMEDOUT, text, false);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            markFailed(Failure.CONNECTION, "interrupted");
            throw new NfsException(op, path, spec, Errno.EINTR, "interrupted", false);
        } catch (NfsException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Path operations

    private static final Reader<Void> NONE = (st, d) -> null;

    NfsAttributes stat(String op, String path, boolean follow) throws NfsException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocateFrom(path);
            return call(op, path, t -> follow
                    ? (int) lib.stat64Async.invokeExact(nfs, p, lib.nfsCallback, t)
                    : (int) lib.lstat64Async.invokeExact(nfs, p, lib.nfsCallback, t),
                    (st, d) -> attributesOfStat(d.reinterpret(Libnfs.STAT64.byteSize())));
        }
    }

    NfsAttributes fstat(String path, MemorySegment fh) throws NfsException {
        return call("fstat", path, t -> (int) lib.fstat64Async.invokeExact(nfs, fh, lib.nfsCallback, t),
                (st, d) -> attributesOfStat(d.reinterpret(Libnfs.STAT64.byteSize())));
    }

    void mkdir(String path, int mode) throws NfsException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocateFrom(path);
            call("mkdir", path, t -> (int) lib.mkdir2Async.invokeExact(nfs, p, mode, lib.nfsCallback, t), NONE);
        }
    }

    void rmdir(String path) throws NfsException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocateFrom(path);
            call("rmdir", path, t -> (int) lib.rmdirAsync.invokeExact(nfs, p, lib.nfsCallback, t), NONE);
        }
    }

    void unlink(String path) throws NfsException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocateFrom(path);
            call("unlink", path, t -> (int) lib.unlinkAsync.invokeExact(nfs, p, lib.nfsCallback, t), NONE);
        }
    }

    void truncate(String path, long length) throws NfsException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocateFrom(path);
            call("truncate", path, t -> (int) lib.truncateAsync.invokeExact(nfs, p, length, lib.nfsCallback, t), NONE);
        }
    }

    void rename(String from, String to) throws NfsException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment f = a.allocateFrom(from);
            MemorySegment o = a.allocateFrom(to);
            call("rename", from + " -> " + to,
                    t -> (int) lib.renameAsync.invokeExact(nfs, f, o, lib.nfsCallback, t), NONE);
        }
    }

    void symlink(String target, String linkPath) throws NfsException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment tg = a.allocateFrom(target);
            MemorySegment l = a.allocateFrom(linkPath);
            call("symlink", linkPath, t -> (int) lib.symlinkAsync.invokeExact(nfs, tg, l, lib.nfsCallback, t), NONE);
        }
    }

    /** Longest symbolic link contents read, in bytes (PATH_MAX). */
    static final int MAX_LINK_BYTES = 4096;

    /**
     * The contents of symbolic link {@code path}.
     *
     * @param length the link's length in bytes (its size attribute), or -1 when unknown. libnfs 4.0's NFSv4
     *     READLINK hands over the XDR string without a terminating NUL, so reading up to a NUL returns the
     *     link followed by whatever lies behind it in memory: with NFSv4, pass the length. (NFSv3 terminates.)
     */
    String readlink(String path, long length) throws NfsException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocateFrom(path);
            return call("readlink", path, t -> (int) lib.readlinkAsync.invokeExact(nfs, p, lib.nfsCallback, t),
                    (st, d) -> {
                        if (length < 0) {
                            return d.reinterpret(MAX_LINK_BYTES + 1L).getString(0, StandardCharsets.UTF_8);
                        }
                        byte[] bytes = d.reinterpret(Math.min(length, MAX_LINK_BYTES)).toArray(JAVA_BYTE);
                        int end = 0;
                        while (end < bytes.length && bytes[end] != 0) {
                            end++;
                        }
                        return new String(bytes, 0, end, StandardCharsets.UTF_8);
                    });
        }
    }

    NfsFsStats statvfs(String path) throws NfsException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocateFrom(path);
            return call("statvfs", path, t -> (int) lib.statvfs64Async.invokeExact(nfs, p, lib.nfsCallback, t),
                    (st, d) -> {
                        MemorySegment s = d.reinterpret(Libnfs.STATVFS64.byteSize());
                        long frsize = s.get(JAVA_LONG, Libnfs.offset(Libnfs.STATVFS64, "f_frsize"));
                        long bsize = s.get(JAVA_LONG, Libnfs.offset(Libnfs.STATVFS64, "f_bsize"));
                        long unit = frsize > 0 ? frsize : bsize;
                        return new NfsFsStats(
                                s.get(JAVA_LONG, Libnfs.offset(Libnfs.STATVFS64, "f_blocks")) * unit,
                                s.get(JAVA_LONG, Libnfs.offset(Libnfs.STATVFS64, "f_bfree")) * unit,
                                s.get(JAVA_LONG, Libnfs.offset(Libnfs.STATVFS64, "f_bavail")) * unit,
                                s.get(JAVA_LONG, Libnfs.offset(Libnfs.STATVFS64, "f_files")),
                                s.get(JAVA_LONG, Libnfs.offset(Libnfs.STATVFS64, "f_ffree")),
                                unit,
                                s.get(JAVA_LONG, Libnfs.offset(Libnfs.STATVFS64, "f_namemax")));
                    });
        }
    }

    /** NFSv3 only (libnfs 4.0's NFSv4 variants go through OPEN and fail on directories and symlinks). */
    void chmod3(String path, int mode) throws NfsException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocateFrom(path);
            call("chmod", path, t -> (int) lib.chmodAsync.invokeExact(nfs, p, mode, lib.nfsCallback, t), NONE);
        }
    }

    /** NFSv3 only. */
    void chown3(String op, String path, int uid, int gid, boolean follow) throws NfsException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocateFrom(path);
            call(op, path, t -> follow
                    ? (int) lib.chownAsync.invokeExact(nfs, p, uid, gid, lib.nfsCallback, t)
                    : (int) lib.lchownAsync.invokeExact(nfs, p, uid, gid, lib.nfsCallback, t), NONE);
        }
    }

    /** NFSv3 only; microsecond resolution. */
    void utimes3(String op, String path, Instant atime, Instant mtime, boolean follow) throws NfsException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocateFrom(path);
            MemorySegment tv = a.allocate(Libnfs.TIMEVAL, 2);
            tv.set(JAVA_LONG, 0, atime.getEpochSecond());
            tv.set(JAVA_LONG, 8, atime.getNano() / 1000);
            tv.set(JAVA_LONG, 16, mtime.getEpochSecond());
            tv.set(JAVA_LONG, 24, mtime.getNano() / 1000);
            call(op, path, t -> follow
                    ? (int) lib.utimesAsync.invokeExact(nfs, p, tv, lib.nfsCallback, t)
                    : (int) lib.lutimesAsync.invokeExact(nfs, p, tv, lib.nfsCallback, t), NONE);
        }
    }

    /**
     * Lists a directory: {@code nfs_opendir} reads the whole listing (with attributes), then it is walked
     * with {@code nfs_readdir} and freed with {@code nfs_closedir}.
     */
    /** Offsets of the struct nfsdirent fields read for every listed entry (computed once, not per entry). */
    private static final class DirentOffsets {
        static final long D_NAME = Libnfs.offset(Libnfs.DIRENT, "name");
        static final long D_TYPE = Libnfs.offset(Libnfs.DIRENT, "type");
        static final long D_MODE = Libnfs.offset(Libnfs.DIRENT, "mode");
        static final long D_INODE = Libnfs.offset(Libnfs.DIRENT, "inode");
        static final long D_UID = Libnfs.offset(Libnfs.DIRENT, "uid");
        static final long D_GID = Libnfs.offset(Libnfs.DIRENT, "gid");
        static final long D_SIZE = Libnfs.offset(Libnfs.DIRENT, "size");
        static final long D_NLINK = Libnfs.offset(Libnfs.DIRENT, "nlink");
        static final long D_USED = Libnfs.offset(Libnfs.DIRENT, "used");
        static final long D_ATIME_TV_SEC = Libnfs.offset(Libnfs.DIRENT, "atime", "tv_sec");
        static final long D_ATIME_NSEC = Libnfs.offset(Libnfs.DIRENT, "atime_nsec");
        static final long D_MTIME_TV_SEC = Libnfs.offset(Libnfs.DIRENT, "mtime", "tv_sec");
        static final long D_MTIME_NSEC = Libnfs.offset(Libnfs.DIRENT, "mtime_nsec");
        static final long D_CTIME_TV_SEC = Libnfs.offset(Libnfs.DIRENT, "ctime", "tv_sec");
        static final long D_CTIME_NSEC = Libnfs.offset(Libnfs.DIRENT, "ctime_nsec");

        private DirentOffsets() {
        }
    }

    List<NfsDirEntry> readdir(String path) throws NfsException {
        MemorySegment dir;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocateFrom(path);
            dir = call("readdir", path, t -> (int) lib.opendirAsync.invokeExact(nfs, p, lib.nfsCallback, t),
                    (st, d) -> d);
        }
        List<NfsDirEntry> out = new ArrayList<>();
        try {
            while (true) {
                MemorySegment e = (MemorySegment) lib.readdir.invokeExact(nfs, dir);
                if (e.equals(MemorySegment.NULL)) {
                    break;
                }
                MemorySegment namePtr = e.get(ADDRESS, DirentOffsets.D_NAME);
                String name = namePtr.reinterpret(Integer.MAX_VALUE).getString(0, StandardCharsets.UTF_8);
                if (name.equals(".") || name.equals("..")) {
                    continue;
                }
                out.add(new NfsDirEntry(name, attributesOfDirent(e)));
            }
        } catch (Throwable t) {
            throw rethrow(t);
        } finally {
            try {
                lib.closedir.invokeExact(nfs, dir);
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }
        return out;
    }

    private static NfsAttributes attributesOfStat(MemorySegment s) {
        long mode = s.get(JAVA_LONG, Libnfs.offset(Libnfs.STAT64, "nfs_mode"));
        return new NfsAttributes(
                NfsAttributes.Type.ofMode(mode),
                (int) (mode & 07777),
                (int) s.get(JAVA_LONG, Libnfs.offset(Libnfs.STAT64, "nfs_uid")),
                (int) s.get(JAVA_LONG, Libnfs.offset(Libnfs.STAT64, "nfs_gid")),
                Math.max(0, s.get(JAVA_LONG, Libnfs.offset(Libnfs.STAT64, "nfs_size"))),
                Math.max(0, s.get(JAVA_LONG, Libnfs.offset(Libnfs.STAT64, "nfs_nlink"))),
                s.get(JAVA_LONG, Libnfs.offset(Libnfs.STAT64, "nfs_ino")),
                Math.max(0, s.get(JAVA_LONG, Libnfs.offset(Libnfs.STAT64, "nfs_used"))),
                instant(s.get(JAVA_LONG, Libnfs.offset(Libnfs.STAT64, "nfs_atime")),
                        s.get(JAVA_LONG, Libnfs.offset(Libnfs.STAT64, "nfs_atime_nsec"))),
                instant(s.get(JAVA_LONG, Libnfs.offset(Libnfs.STAT64, "nfs_mtime")),
                        s.get(JAVA_LONG, Libnfs.offset(Libnfs.STAT64, "nfs_mtime_nsec"))),
                instant(s.get(JAVA_LONG, Libnfs.offset(Libnfs.STAT64, "nfs_ctime")),
                        s.get(JAVA_LONG, Libnfs.offset(Libnfs.STAT64, "nfs_ctime_nsec"))));
    }

    private NfsAttributes attributesOfDirent(MemorySegment e) {
        // type: NF3REG/NF4REG = 1, DIR = 2, BLK 3, CHR 4, LNK = 5, SOCK 6, FIFO 7 (same values in v3 and v4).
        int type = e.get(JAVA_INT, DirentOffsets.D_TYPE);
        NfsAttributes.Type t = switch (type) {
            case 1 -> NfsAttributes.Type.FILE;
            case 2 -> NfsAttributes.Type.DIRECTORY;
            case 5 -> NfsAttributes.Type.SYMLINK;
            default -> NfsAttributes.Type.OTHER;
        };
        int mode = e.get(JAVA_INT, DirentOffsets.D_MODE);
        // libnfs 4.0's NFSv4 READDIR never fills in the inode (the struct is malloc'ed, not zeroed).
        long inode = version == NfsVersion.V4 ? 0 : e.get(JAVA_LONG, DirentOffsets.D_INODE);
        return new NfsAttributes(t, mode & 07777,
                e.get(JAVA_INT, DirentOffsets.D_UID),
                e.get(JAVA_INT, DirentOffsets.D_GID),
                Math.max(0, e.get(JAVA_LONG, DirentOffsets.D_SIZE)),
                Integer.toUnsignedLong(e.get(JAVA_INT, DirentOffsets.D_NLINK)),
                inode,
                Math.max(0, e.get(JAVA_LONG, DirentOffsets.D_USED)),
                instant(e.get(JAVA_LONG, DirentOffsets.D_ATIME_TV_SEC),
                        Integer.toUnsignedLong(e.get(JAVA_INT, DirentOffsets.D_ATIME_NSEC))),
                instant(e.get(JAVA_LONG, DirentOffsets.D_MTIME_TV_SEC),
                        Integer.toUnsignedLong(e.get(JAVA_INT, DirentOffsets.D_MTIME_NSEC))),
                instant(e.get(JAVA_LONG, DirentOffsets.D_CTIME_TV_SEC),
                        Integer.toUnsignedLong(e.get(JAVA_INT, DirentOffsets.D_CTIME_NSEC))));
    }

    private static Instant instant(long seconds, long nanos) {
        return Instant.ofEpochSecond(seconds, Math.floorMod(nanos, 1_000_000_000L));
    }

    // ---------------------------------------------------------------------------------------------
    // Files

    /** Opens (flags without O_CREAT) or creates ({@code mode != null}) a file; returns libnfs's nfsfh. */
    MemorySegment open(String op, String path, int flags, Integer mode) throws NfsException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocateFrom(path);
            MemorySegment fh;
            try {
                fh = call(op, path, t -> mode == null
                        ? (int) lib.openAsync.invokeExact(nfs, p, flags, lib.nfsCallback, t)
                        : (int) lib.createAsync.invokeExact(nfs, p, flags, (int) mode, lib.nfsCallback, t),
                        (st, d) -> d);
            } catch (NfsException e) {
                if (version == NfsVersion.V4 && !isFailed() && NfsStatus.inText(e.libnfsError()) != null) {
                    // The gateway answered the COMPOUND with an error: if it was the OPEN that failed, the
                    // gateway stepped the open-owner's sequence ID and libnfs did not.
                    markFailed(Failure.RETIRED, "open-owner sequence ID out of step after a failed OPEN: "
                            + e.libnfsError());
                }
                throw e;
            }
            lastStatefulNanos = System.nanoTime();
            return fh;
        }
    }

    /**
     * Closes an nfsfh (NFSv4 CLOSE). libnfs owns (and frees) the nfsfh once the close is queued, even if it
     * fails; if it cannot be queued we free it.
     */
    void close(String path, MemorySegment fh) throws NfsException {
        if (fh.equals(MemorySegment.NULL)) {
            return;
        }
        if (isFailed()) {
            free(fh);
            return;
        }
        Slot<Void> slot = new Slot<>(NONE);
        MemorySegment ticket = Callbacks.register(slot);
        try {
            int rc = (int) lib.closeAsync.invokeExact(nfs, fh, lib.nfsCallback, ticket);
            if (rc != 0) {
                free(fh);
                throw queueFailure("close", path);
            }
            drive(() -> slot.done, "close", path);
            if (slot.status < 0) {
                throw error("close", path, -slot.status, slot.error);
            }
        } catch (NfsException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        } finally {
            Callbacks.forget(ticket);
        }
    }

    /** Frees an nfsfh without a CLOSE (its open state lives on in a newer nfsfh of the same path). */
    void free(MemorySegment fh) {
        try {
            lib.freeNfsfh.invokeExact(fh);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Renews this context's NFSv4 lease: a READ of 0 bytes carries the open's stateid, and any operation
     * with a valid stateid renews its client's lease (RFC 7530 §9.6). libnfs 4.0 has no RENEW of its own.
     */
    void renewLease(String path, MemorySegment fh) throws NfsException {
        try {
            call("renew", path, t -> (int) lib.preadAsync.invokeExact(nfs, fh, 0L, 0L, lib.nfsCallback, t), NONE);
        } catch (NfsException e) {
            if (isFailed()) {
                throw e;
            }
            // e.g. NFS4ERR_OPENMODE for a write-only open: the stateid was still checked, the lease renewed.
        }
        lastStatefulNanos = System.nanoTime();
    }

    void fsync(String path, MemorySegment fh) throws NfsException {
        call("fsync", path, t -> (int) lib.fsyncAsync.invokeExact(nfs, fh, lib.nfsCallback, t), NONE);
        lastStatefulNanos = System.nanoTime();
    }

    void ftruncate(String path, MemorySegment fh, long length) throws NfsException {
        call("ftruncate", path, t -> (int) lib.ftruncateAsync.invokeExact(nfs, fh, length, lib.nfsCallback, t), NONE);
        lastStatefulNanos = System.nanoTime();
    }

    /**
     * Reads {@code dst.byteSize()} bytes at {@code offset} (less only at end of file) with up to
     * {@link #READ_WINDOW} READs of at most {@link #readChunk} bytes in flight; a short READ that is not at the
     * end of the file is continued.
     *
     * @param dst native or heap segment to fill from its start
     * @return bytes read
     */
    long pread(String path, MemorySegment fh, long offset, MemorySegment dst) throws NfsException {
        long len = dst.byteSize();
        if (len == 0) {
            return 0;
        }
        final class Io {
            final ArrayDeque<long[]> todo = new ArrayDeque<>();
            final List<MemorySegment> tickets = new ArrayList<>();
            long eof = Long.MAX_VALUE;
            int inflight;
            int errno;
            String error;
            boolean progressed;
        }
        Io io = new Io();
        for (long o = 0; o < len; o += readChunk) {
            io.todo.add(new long[] {offset + o, Math.min(readChunk, len - o)});
        }
        try {
            while (true) {
                while (io.errno == 0 && io.inflight < READ_WINDOW && !io.todo.isEmpty()) {
                    long[] r = io.todo.poll();
                    if (r[0] >= io.eof) {
                        continue;
                    }
                    long start = r[0];
                    long count = r[1];
                    MemorySegment ticket = Callbacks.register((st, data) -> {
                        io.inflight--;
                        io.progressed = true;
                        if (st < 0) {
                            if (io.errno == 0) {
                                io.errno = -st;
                                io.error = lastError();
                            }
                        } else if (st == 0) {
                            io.eof = Math.min(io.eof, start);
                        } else {
                            long n = Math.min(st, count);
                            MemorySegment.copy(data.reinterpret(n), 0, dst, start - offset, n);
                            if (n < count) {
                                io.todo.addFirst(new long[] {start + n, count - n});
                            }
                        }
                    });
                    io.tickets.add(ticket);
                    int rc = (int) lib.preadAsync.invokeExact(nfs, fh, start, count, lib.nfsCallback, ticket);
                    if (rc != 0) {
                        Callbacks.forget(ticket);
                        throw queueFailure("pread", path);
                    }
                    io.inflight++;
                }
                if (io.inflight == 0) {
                    break;
                }
                io.progressed = false;
                drive(() -> io.progressed, "pread", path);
            }
            if (io.errno != 0) {
                throw error("pread", path, io.errno, io.error);
            }
            lastStatefulNanos = System.nanoTime();
            return io.eof == Long.MAX_VALUE ? len : Math.max(0, Math.min(len, io.eof - offset));
        } catch (NfsException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        } finally {
            for (MemorySegment t : io.tickets) {
                Callbacks.forget(t);
            }
        }
    }

    /** What one WRITE answered: bytes written ({@code > 0}), or 0 and the errno with libnfs-style text. */
    @FunctionalInterface
    private interface Written {
        void answer(long count, int errno, String error);
    }

    /**
     * Writes all of {@code src} (a native segment) at {@code offset}, as WRITEs of at most
     * {@link #writeChunk} bytes pipelined up to {@link #WRITE_WINDOW_PDUS} PDUs / {@link #WRITE_WINDOW_BYTES}.
     * NFSv3 WRITEs go through libnfs; NFSv4 ones are raw COMPOUNDs ({@link #queueWrite4}), because libnfs 4.0
     * encodes its own NFSv4 COMPOUNDs into a fixed 4 KiB buffer, which limits its WRITEs to under 4 KiB.
     */
    void pwrite(String path, MemorySegment fh, long offset, MemorySegment src) throws NfsException {
        long len = src.byteSize();
        if (len == 0) {
            return;
        }
        final class Io {
            final ArrayDeque<long[]> todo = new ArrayDeque<>();
            final List<MemorySegment> tickets = new ArrayList<>();
            int inflight;
            long inflightBytes;
            int errno;
            String error;
            boolean progressed;
        }
        Io io = new Io();
        io.todo.add(new long[] {0, len});
        try {
            while (true) {
                while (io.errno == 0 && io.inflight < WRITE_WINDOW_PDUS && io.inflightBytes < WRITE_WINDOW_BYTES
                        && !io.todo.isEmpty()) {
                    long[] r = io.todo.poll();
                    long rel = r[0];
                    long count = Math.min(r[1], writeChunk);
                    Written written = (done, errno, error) -> {
                        io.inflight--;
                        io.inflightBytes -= count;
                        io.progressed = true;
                        if (errno != 0) {
                            if (io.errno == 0) {
                                io.errno = errno;
                                io.error = error;
                            }
                        } else if (done == 0) {
                            if (io.errno == 0) {
                                io.errno = Errno.EIO;
                                io.error = "the gateway wrote 0 of " + count + " bytes";
                            }
                        } else if (done < count) {
                            io.todo.addFirst(new long[] {rel + done, count - done});
                        }
                    };
                    MemorySegment buf = src.asSlice(rel, count);
                    if (!queueWrite(fh, offset + rel, buf, written, io.tickets)) {
                        throw queueFailure("pwrite", path);
                    }
                    if (count < r[1]) {
                        io.todo.addFirst(new long[] {rel + count, r[1] - count});
                    }
                    io.inflight++;
                    io.inflightBytes += count;
                }
                if (io.inflight == 0) {
                    break;
                }
                io.progressed = false;
                drive(() -> io.progressed, "pwrite", path);
            }
            if (io.errno != 0) {
                throw error("pwrite", path, io.errno, io.error);
            }
            lastStatefulNanos = System.nanoTime();
        } catch (NfsException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        } finally {
            for (MemorySegment t : io.tickets) {
                Callbacks.forget(t);
            }
        }
    }

    /** Queues one WRITE of all of {@code buf} at {@code at}; false when it could not be queued. */
    private boolean queueWrite(MemorySegment fh, long at, MemorySegment buf, Written written,
                               List<MemorySegment> tickets) throws Throwable {
        if (version == NfsVersion.V4) {
            return queueWrite4(fh, at, buf, written, tickets);
        }
        MemorySegment ticket = Callbacks.register((st, data) -> {
            if (st < 0) {
                written.answer(0, -st, lastError());
            } else {
                written.answer(st, 0, null);
            }
        });
        tickets.add(ticket);
        int rc = (int) lib.pwriteAsync.invokeExact(nfs, fh, at, buf.byteSize(), buf, lib.nfsCallback, ticket);
        if (rc != 0) {
            Callbacks.forget(ticket);
        }
        return rc == 0;
    }

    // ---------------------------------------------------------------------------------------------
    // Raw NFSv4 WRITE: PUTFH, WRITE

    private static final int NFS4_PROGRAM = 100003;
    private static final int NFSPROC4_COMPOUND = 1;
    private static final int OP_PUTFH = 22;
    private static final int OP_WRITE = 38;
    private static final int UNSTABLE4 = 0;
    private static final int DATA_SYNC4 = 1;
    /** sizeof(nfs_resop4) on LP64 (libnfs-raw-nfs4.h of libnfs 4.0). */
    private static final long RESOP_SIZE = 160;
    /** Room for the RPC and COMPOUND headers, PUTFH (a handle of up to 128 bytes) and WRITE's fixed part. */
    private static final long WRITE4_HEADER_BYTES = 1024;
    // struct nfsfh of libnfs 4.0 (libnfs-private.h), LP64: struct nfs_fh {int len; char *val} at 0, int is_sync
    // at 16, int is_dirty at 24, struct stateid {uint32_t seqid; char other[12]} at 80. The ZDR encoder of a
    // struct rpc_pdu {struct rpc_pdu *next; uint32_t xid; ZDR zdr; ...} is at 16.
    private static final long NFSFH_FH_LEN = 0;
    private static final long NFSFH_FH_VAL = 8;
    private static final long NFSFH_IS_SYNC = 16;
    private static final long NFSFH_IS_DIRTY = 24;
    private static final long NFSFH_STATEID = 80;
    private static final long NFSFH_SIZE = 96;
    private static final long PDU_ZDR = 16;

    /**
     * Queues {@code PUTFH; WRITE} for the open file {@code fh} (libnfs's nfsfh: its handle and open stateid,
     * UNSTABLE4 unless opened O_SYNC, marked dirty so that libnfs's CLOSE commits, as its own WRITE does), in a
     * PDU whose encode buffer holds the whole payload. The reply is decoded by libnfs (zdr_COMPOUND4res) and
     * read here: {@code COMPOUND4res.status}, and the WRITE result's count.
     */
    private boolean queueWrite4(MemorySegment fh, long at, MemorySegment buf, Written written,
                                List<MemorySegment> tickets) throws Throwable {
        MemorySegment nfsfh = fh.reinterpret(NFSFH_SIZE);
        boolean sync = nfsfh.get(JAVA_INT, NFSFH_IS_SYNC) != 0;
        long count = buf.byteSize();
        MemorySegment rpc = (MemorySegment) lib.getRpcContext.invokeExact(nfs);
        MemorySegment ticket = Callbacks.register((st, data) -> {
            if (st != Libnfs.RPC_STATUS_SUCCESS || data.equals(MemorySegment.NULL)) {
                // As libnfs reports them: a timeout as EINTR, a transport failure as EFAULT.
                written.answer(0, st == Libnfs.RPC_STATUS_TIMEOUT ? Errno.EINTR : Errno.EFAULT,
                        st == Libnfs.RPC_STATUS_TIMEOUT ? "Command timed out" : lastError());
                return;
            }
            MemorySegment res = data.reinterpret(40);
            int status = res.get(JAVA_INT, 0);                      // COMPOUND4res.status
            if (status != 0) {
                NfsStatus.Entry e = NfsStatus.ofV4(status);
                written.answer(0, e.errno(), "NFS4: WRITE failed with NFS4ERR_" + e.name() + "(" + -e.errno() + ")");
                return;
            }
            MemorySegment results = res.get(ADDRESS, 32).reinterpret(2 * RESOP_SIZE); // resarray_val
            // resarray[1] is WRITE: nfs_resop4 {resop; union at 8 {WRITE4res {status; resok4 at 4 {count}}}}
            written.answer(Integer.toUnsignedLong(results.get(JAVA_INT, RESOP_SIZE + 12)), 0, null);
        });
        tickets.add(ticket);
        MemorySegment pdu = (MemorySegment) lib.rpcAllocatePdu2.invokeExact(rpc, NFS4_PROGRAM, 4,
                NFSPROC4_COMPOUND, lib.rpcCallback, ticket, lib.zdrCompound4Res, 40, count + WRITE4_HEADER_BYTES);
        if (pdu.equals(MemorySegment.NULL)) {
            Callbacks.forget(ticket);
            return false;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ops = a.allocate(ARGOP_SIZE * 2, 8);
            ops.fill((byte) 0);
            ops.set(JAVA_INT, 0, OP_PUTFH);
            ops.set(JAVA_INT, 8, nfsfh.get(JAVA_INT, NFSFH_FH_LEN));         // PUTFH4args.object.nfs_fh4_len
            ops.set(ADDRESS, 16, nfsfh.get(ADDRESS, NFSFH_FH_VAL));          // PUTFH4args.object.nfs_fh4_val
            long w = ARGOP_SIZE;
            ops.set(JAVA_INT, w, OP_WRITE);
            MemorySegment.copy(nfsfh, NFSFH_STATEID, ops, w + 8, 16);        // WRITE4args.stateid
            ops.set(JAVA_LONG, w + 24, at);                                  // WRITE4args.offset
            ops.set(JAVA_INT, w + 32, sync ? DATA_SYNC4 : UNSTABLE4);        // WRITE4args.stable
            ops.set(JAVA_INT, w + 40, (int) count);                          // WRITE4args.data.data_len
            ops.set(ADDRESS, w + 48, buf);                                   // WRITE4args.data.data_val
            MemorySegment args = a.allocate(COMPOUND_ARGS_SIZE, 8);
            args.fill((byte) 0);
            args.set(JAVA_INT, 24, 2);
            args.set(ADDRESS, 32, ops);
            MemorySegment zdr = pdu.reinterpret(PDU_ZDR + 64).asSlice(PDU_ZDR);
            if ((int) lib.zdrCompound4Args.invokeExact(zdr, args) == 0) {
                lib.rpcFreePdu.invokeExact(rpc, pdu);
                Callbacks.forget(ticket);
                return false;
            }
        }
        if ((int) lib.rpcQueuePdu.invokeExact(rpc, pdu) != 0) {
            Callbacks.forget(ticket);
            return false;
        }
        if (!sync) {
            nfsfh.set(JAVA_INT, NFSFH_IS_DIRTY, 1);
        }
        return true;
    }

    // ---------------------------------------------------------------------------------------------
    // Raw NFSv4 COMPOUND: PUTROOTFH, LOOKUP..., SETATTR

    private static final int OP_LOOKUP = 15;
    private static final int OP_PUTROOTFH = 24;
    private static final int OP_SETATTR = 34;
    /** sizeof(nfs_argop4) on LP64 (libnfs-raw-nfs4.h of libnfs 4.0): 4-byte opcode, padding, 128-byte union. */
    private static final long ARGOP_SIZE = 136;
    /** sizeof(COMPOUND4args): utf8str_cs tag (16), minorversion (4+4), argarray {len, ptr} (16). */
    private static final long COMPOUND_ARGS_SIZE = 40;

    /**
     * Sends {@code PUTROOTFH; LOOKUP c1; ...; LOOKUP cn; SETATTR(anonymous stateid, attrs)} through
     * {@code rpc_nfs4_compound_async}. libnfs 4.0's own NFSv4 chmod/chown/utimes open the object first, so
     * they fail on directories ({@code NFS4ERR_ISDIR}) and follow symbolic links; this acts on the object the
     * path names, whatever its type. LOOKUP does not follow symbolic links.
     *
     * @param components the export's components followed by the path's
     * @param attrs the encoded {@code fattr4}
     */
    void setattr4(String op, String path, List<String> components, Nfs4Attrs attrs) throws NfsException {
        try (Arena a = Arena.ofConfined()) {
            int n = components.size() + 2;
            MemorySegment ops = a.allocate(ARGOP_SIZE * n, 8);
            ops.fill((byte) 0);
            ops.set(JAVA_INT, 0, OP_PUTROOTFH);
            for (int i = 0; i < components.size(); i++) {
                long base = ARGOP_SIZE * (i + 1);
                byte[] name = components.get(i).getBytes(StandardCharsets.UTF_8);
                MemorySegment s = a.allocate(Math.max(1, name.length));
                s.copyFrom(MemorySegment.ofArray(name));
                ops.set(JAVA_INT, base, OP_LOOKUP);
                ops.set(JAVA_INT, base + 8, name.length);   // LOOKUP4args.objname.utf8string_len
                ops.set(ADDRESS, base + 16, s);              // LOOKUP4args.objname.utf8string_val
            }
            long base = ARGOP_SIZE * (n - 1);
            int[] mask = attrs.bitmap();
            MemorySegment maskSeg = a.allocate(JAVA_INT, mask.length);
            for (int i = 0; i < mask.length; i++) {
                maskSeg.setAtIndex(JAVA_INT, i, mask[i]);
            }
            byte[] vals = attrs.values();
            MemorySegment valSeg = a.allocate(Math.max(1, vals.length));
            valSeg.copyFrom(MemorySegment.ofArray(vals));
            ops.set(JAVA_INT, base, OP_SETATTR);
            // SETATTR4args: stateid4 (16 bytes, all zero: the anonymous stateid) at +8, then fattr4 at +24:
            // bitmap4 {u_int len; uint32_t *val} and attrlist4 {u_int len; char *val}.
            ops.set(JAVA_INT, base + 24, mask.length);
            ops.set(ADDRESS, base + 32, maskSeg);
            ops.set(JAVA_INT, base + 40, vals.length);
            ops.set(ADDRESS, base + 48, valSeg);
            MemorySegment args = a.allocate(COMPOUND_ARGS_SIZE, 8);
            args.fill((byte) 0);
            args.set(JAVA_INT, 24, n);
            args.set(ADDRESS, 32, ops);
            MemorySegment rpc = (MemorySegment) lib.getRpcContext.invokeExact(nfs);

            checkUsable(op, path);
            int[] result = new int[3]; // rpc status, nfsstat4, number of results
            boolean[] done = new boolean[1];
            MemorySegment ticket = Callbacks.register((st, data) -> {
                result[0] = st;
                if (st == Libnfs.RPC_STATUS_SUCCESS && !data.equals(MemorySegment.NULL)) {
                    MemorySegment res = data.reinterpret(40);
                    result[1] = res.get(JAVA_INT, 0);   // COMPOUND4res.status
                    result[2] = res.get(JAVA_INT, 24);  // COMPOUND4res.resarray.resarray_len
                }
                done[0] = true;
            });
            try {
                int rc = (int) lib.nfs4CompoundAsync.invokeExact(rpc, lib.rpcCallback, args, ticket);
                if (rc != 0) {
                    throw queueFailure(op, path);
                }
                drive(() -> done[0], op, path);
            } finally {
                Callbacks.forget(ticket);
            }
            switch (result[0]) {
                case Libnfs.RPC_STATUS_SUCCESS -> {
                }
                case Libnfs.RPC_STATUS_TIMEOUT -> {
                    markFailed(Failure.TIMEOUT, "command timed out");
                    throw new NfsException(op, path, spec, Errno.ETIMEDOUT, "command timed out", false);
                }
                default -> {
                    String text = lastError();
                    markFailed(Failure.CONNECTION, text);
                    throw new NfsException(op, path, spec, transportErrno(), text, true);
                }
            }
            if (result[1] != 0) {
                NfsStatus.Entry e = NfsStatus.ofV4(result[1]);
                if (e.effect() == NfsStatus.Effect.STATE_LOST) {
                    markFailed(Failure.STATE, e.name());
                }
                int failedOp = result[2] - 1;
                String opName = failedOp <= 0 ? "PUTROOTFH" : failedOp == n - 1 ? "SETATTR"
                        : "LOOKUP " + components.get(failedOp - 1);
                throw new NfsException(op, path, spec, e.errno(), "NFS4: " + opName + " failed with " + e.name(),
                        false);
            }
        } catch (NfsException e) {
            throw e;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new IllegalStateException(t);
    }

    @Override
    public String toString() {
        return "NativeContext[" + id + (isFailed() ? ", failed: " + failure : "") + "]";
    }
}
