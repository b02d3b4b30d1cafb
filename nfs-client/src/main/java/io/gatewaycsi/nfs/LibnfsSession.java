package io.gatewaycsi.nfs;

import java.lang.foreign.MemorySegment;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;

/** {@link NfsSession} over a {@link ContextPool} of libnfs contexts. */
final class LibnfsSession implements NfsSession {
    /**
     * NFSv4 leases (60 s on nfs-ganesha, 90 s on knfsd) are renewed when a context was idle this long;
     * system property {@code gatewaycsi.nfs.leaseRenewSeconds} overrides the 15 s (for gateways with
     * shorter leases).
     */
    static final long LEASE_RENEW_NANOS =
            TimeUnit.SECONDS.toNanos(Math.max(1, Long.getLong("gatewaycsi.nfs.leaseRenewSeconds", 15)));
    private static final int MAX_SYMLINK_HOPS = 40;
    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

    private final Libnfs lib;
    private final NfsTarget target;
    private final NfsSessionOptions options;
    private final String spec;
    private final long timeoutNanos;
    private final List<String> exportComponents;
    private final ContextPool pool;
    private final Set<LibnfsFile> openFiles = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;
    private Thread leaseKeeper;

    LibnfsSession(Libnfs lib, NfsTarget target, NfsSessionOptions options) {
        this.lib = lib;
        this.target = target;
        this.options = options;
        this.spec = target.spec();
        this.timeoutNanos = options.timeout().toNanos();
        this.exportComponents = NfsPaths.components(target.export());
        this.pool = new ContextPool(this::openContext, options.maxContexts(), spec);
    }

    /** Opens the first context, so that connect reports an unreachable gateway or a missing export. */
    void start() throws NfsException {
        NativeContext ctx = pool.acquire("mount", null, System.nanoTime() + timeoutNanos);
        pool.release(ctx);
    }

    String spec() {
        return spec;
    }

    /** Live contexts (for tests). */
    int contextCount() {
        return pool.size();
    }

    @Override
    public long reconnects() {
        return pool.reconnects();
    }

    /** Contexts opened so far, replaced ones included (for tests). */
    long contextsCreated() {
        return pool.created();
    }

    private NativeContext openContext(int id) throws NfsException {
        String address = resolve();
        return NativeContext.open(lib, id, address, target, options);
    }

    /** Resolves the server name under the deadline (libnfs would call getaddrinfo without one). */
    private String resolve() throws NfsException {
        String server = target.server();
        if (server.indexOf(':') >= 0 || IPV4.matcher(server).matches()) {
            return server;
        }
        FutureTask<InetAddress[]> lookup = new FutureTask<>(() -> InetAddress.getAllByName(server));
        Thread.ofVirtual().name("nfs-resolve " + server).start(lookup);
        try {
            InetAddress[] all = lookup.get(timeoutNanos, TimeUnit.NANOSECONDS);
            for (InetAddress a : all) {
                if (a instanceof Inet4Address) {
                    return a.getHostAddress();
                }
            }
            return all[0].getHostAddress();
        } catch (TimeoutException e) {
            lookup.cancel(true);
            throw new NfsException("mount", null, spec, Errno.ETIMEDOUT,
                    "resolving " + server + " took longer than " + options.timeout(), false);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            String why = c instanceof UnknownHostException ? "unknown host " + server : String.valueOf(c);
            throw new NfsException("mount", null, spec, Errno.EHOSTUNREACH, why, false, c);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new NfsException("mount", null, spec, Errno.EINTR, "interrupted", false);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Running calls on contexts

    @FunctionalInterface
    interface CtxFn<T> {
        T apply(NativeContext ctx) throws NfsException;
    }

    @FunctionalInterface
    interface PathFn<T> {
        T apply(NativeContext ctx, String path) throws NfsException;
    }

    @FunctionalInterface
    interface FileFn<T> {
        T apply(NativeContext ctx, FileHandle h) throws NfsException;
    }

    /** Runs {@code fn} on a borrowed context, retrying as the class comment of {@link NfsSession} says. */
    private <T> T run(String op, String path, CtxFn<T> fn) throws NfsException {
        ensureOpen(op, path);
        long start = System.nanoTime();
        long backoff = 0;
        for (int attempt = 0; ; attempt++) {
            sleep(backoff);
            NativeContext ctx = pool.acquire(op, path, System.nanoTime() + timeoutNanos);
            boolean reused = ctx.uses++ > 0;
            try {
                return fn.apply(ctx);
            } catch (NfsException e) {
                backoff = retryAfter(e, ctx, reused, attempt, start);
                if (backoff >= 0) {
                    continue;
                }
                throw e;
            } finally {
                pool.release(ctx);
            }
        }
    }

    /**
     * {@link #run} for an operation on one path. libnfs 4.0 follows a symbolic link that stands for a directory
     * on the way with the link's text read past its end (it treats the unterminated NFSv4 link contents as a C
     * string), so the call can fail on a path that is fine; the error then names a path that is not the one
     * asked for. Such a failure is retried once on the path with every link on the way resolved here.
     */
    private <T> T runOnPath(String op, String path, PathFn<T> fn) throws NfsException {
        return run(op, path, ctx -> {
            try {
                return fn.apply(ctx, path);
            } catch (NfsException e) {
                if (ctx.version != NfsVersion.V4 || ctx.isFailed() || !wentAstray(e, path)) {
                    throw e;
                }
                String resolved = resolveAll(ctx, op, path, false);
                if (resolved.equals(path)) {
                    throw e;
                }
                return fn.apply(ctx, resolved);
            }
        });
    }

    /**
     * Whether libnfs's error text names a path that neither is {@code path} nor a directory above it: it took
     * a symbolic link on the way (and may have read its text wrong).
     */
    static boolean wentAstray(NfsException e, String path) {
        String text = e.libnfsError();
        int start = text == null ? -1 : text.indexOf("(path ");
        int end = start < 0 ? -1 : text.indexOf(") failed", start);
        if (end < 0) {
            return false;
        }
        String named = text.substring(start + "(path ".length(), end);
        return !(named.equals(path) || named.equals("/") || path.startsWith(named + "/"));
    }

    /** Runs {@code fn} with one of {@code file}'s handles (reopening the file where needed). */
    <T> T onFile(LibnfsFile file, String op, FileFn<T> fn) throws NfsException {
        ensureOpen(op, file.path());
        long start = System.nanoTime();
        long backoff = 0;
        for (int attempt = 0; ; attempt++) {
            sleep(backoff);
            ContextPool.Lease lease = pool.acquireFor(file, op, System.nanoTime() + timeoutNanos);
            NativeContext ctx = lease.ctx();
            boolean reused = ctx.uses++ > 0;
            try {
                FileHandle h = lease.handle();
                if (h == null) {
                    h = reopen(file, ctx, op);
                    if (h == null) {
                        backoff = 0;
                        attempt--;
                        continue;
                    }
                }
                return fn.apply(ctx, h);
            } catch (NfsException e) {
                backoff = retryAfter(e, ctx, reused, attempt, start);
                if (backoff >= 0) {
                    continue;
                }
                throw e;
            } finally {
                pool.release(ctx);
            }
        }
    }

    /**
     * Opens {@code file} once more on {@code ctx}. Returns null when that fails but the file is still open
     * elsewhere (the caller then waits for one of those); throws {@code ESTALE} when it is open nowhere.
     */
    private FileHandle reopen(LibnfsFile file, NativeContext ctx, String op) throws NfsException {
        int access = FileHandle.accessOf(file.flags());
        FileHandle shared = pool.share(file, ctx, access);
        if (shared != null) {
            return shared;
        }
        MemorySegment fh;
        try {
            fh = ctx.open(op, file.path(), file.reopenFlags(), null);
        } catch (NfsException e) {
            if (ctx.isFailed()) {
                throw e;
            }
            if (pool.stopExpanding(file)) {
                return null;
            }
            throw new NfsException(op, file.path(), spec, Errno.ESTALE,
                    "the file's NFS context was lost and reopening it failed: " + e.getMessage(), false, e);
        }
        return pool.attach(file, ctx, fh, access);
    }

    /**
     * Whether to retry a failed call, and after how many nanoseconds (-1: do not). Retried: a call whose
     * context's NFSv4 state was gone (once more, on a fresh context); a create that raced (up to three
     * times); a call on a reused context whose
     * connection turned out dead; DELAY/GRACE/JUKEBOX replies with backoff until the timeout.
     */
    private long retryAfter(NfsException e, NativeContext ctx, boolean reused, int attempt, long start) {
        NativeContext.Failure f = ctx.failure();
        // After a partition longer than the lease every context of the pool may hold state the gateway has
        // dropped (NFS4ERR_EXPIRED): each failed context is destroyed, so retrying until a fresh one answers
        // takes at most one attempt per context of the pool (and stops at the deadline).
        if (f == NativeContext.Failure.STATE && attempt < options.maxContexts() + 2
                && System.nanoTime() - start < timeoutNanos) {
            return 0;
        }
        if (e instanceof CreateRaced && attempt < 3) {
            return 0;
        }
        if (f == NativeContext.Failure.CONNECTION && reused && attempt < 2) {
            return 0;
        }
        NfsStatus.Entry s = NfsStatus.inText(e.libnfsError());
        if (f == NativeContext.Failure.NONE && s != null && s.effect() == NfsStatus.Effect.RETRY) {
            long backoff = TimeUnit.MILLISECONDS.toNanos(Math.min(1000, 50L << Math.min(attempt, 5)));
            if (System.nanoTime() + backoff - start < timeoutNanos) {
                return backoff;
            }
        }
        return -1;
    }

    private static void sleep(long nanos) throws NfsException {
        if (nanos <= 0) {
            return;
        }
        try {
            TimeUnit.NANOSECONDS.sleep(nanos);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new NfsException("retry", null, null, Errno.EINTR, "interrupted", false);
        }
    }

    private void ensureOpen(String op, String path) {
        if (closed) {
            throw new IllegalStateException(op + " " + path + " on " + spec + ": the NFS session is closed");
        }
    }

    // ---------------------------------------------------------------------------------------------
    // NfsSession

    @Override
    public NfsTarget target() {
        return target;
    }

    @Override
    public NfsSessionOptions options() {
        return options;
    }

    @Override
    public NfsAttributes stat(String path) throws NfsException {
        NfsPaths.requireValid(path);
        return runOnPath("stat", path, (ctx, p) -> ctx.stat("stat", p, true));
    }

    @Override
    public NfsAttributes lstat(String path) throws NfsException {
        NfsPaths.requireValid(path);
        return runOnPath("lstat", path, (ctx, p) -> ctx.stat("lstat", p, false));
    }

    @Override
    public void mkdir(String path, int mode) throws NfsException {
        NfsPaths.requireValid(path);
        checkMode(mode);
        runOnPath("mkdir", path, (ctx, p) -> {
            ctx.mkdir(p, mode);
            return null;
        });
    }

    @Override
    public List<NfsDirEntry> readdir(String path) throws NfsException {
        NfsPaths.requireValid(path);
        return runOnPath("readdir", path, (ctx, p) -> ctx.readdir(p));
    }

    @Override
    public NfsFile open(String path, int flags) throws NfsException {
        NfsPaths.requireValid(path);
        if ((flags & OpenFlags.O_CREAT) != 0) {
            throw new IllegalArgumentException("open " + path + ": O_CREAT given; use create(path, flags, mode)");
        }
        return openFile("open", path, flags & OpenFlags.SUPPORTED, null);
    }

    @Override
    public NfsFile create(String path, int flags, int mode) throws NfsException {
        NfsPaths.requireValid(path);
        checkMode(mode);
        return openFile("create", path, (flags & OpenFlags.SUPPORTED) | OpenFlags.O_CREAT, mode);
    }

    private NfsFile openFile(String op, String path, int flags, Integer mode) throws NfsException {
        return runOnPath(op, path, (ctx, p) -> {
            MemorySegment fh = ctx.version == NfsVersion.V4 && mode != null
                    ? create4(ctx, op, p, flags, mode)
                    : ctx.open(op, p, flags, mode);
            LibnfsFile file = new LibnfsFile(this, path, flags);
            pool.attach(file, ctx, fh, FileHandle.accessOf(flags));
            openFiles.add(file);
            if (ctx.version == NfsVersion.V4) {
                startLeaseKeeper();
            }
            return file;
        });
    }

    /**
     * open(O_CREAT) for NFSv4. libnfs 4.0 always creates EXCLUSIVE4 (its test {@code flags|O_EXCL} is
     * always true): without O_EXCL an existing file fails with EEXIST, the mode is only applied with O_EXCL,
     * and the exclusive-create verifier is left in the new file's atime and mtime. So: open the existing file
     * if there is one, otherwise create it exclusively, then SETATTR mode and both times (server clock).
     * Whether it exists is asked with GETATTR, not with an OPEN that may fail: a failed OPEN retires the
     * context ({@link NativeContext.Failure#RETIRED}). When another client creates or removes the file in
     * between, the OPEN fails and the create starts over on another context ({@link CreateRaced}).
     */
    private MemorySegment create4(NativeContext ctx, String op, String path, int flags, int mode)
            throws NfsException {
        int base = flags & ~(OpenFlags.O_CREAT | OpenFlags.O_EXCL);
        boolean exclusive = (flags & OpenFlags.O_EXCL) != 0;
        if (!exclusive && exists(ctx, op, path)) {
            try {
                return ctx.open(op, path, base, null);
            } catch (NfsException e) {
                throw e.isNotFound() ? new CreateRaced(e) : e;
            }
        }
        MemorySegment fh;
        try {
            fh = ctx.open(op, path, (base & ~OpenFlags.O_TRUNC) | OpenFlags.O_CREAT | OpenFlags.O_EXCL, mode);
        } catch (NfsException e) {
            throw !exclusive && e.isAlreadyExists() ? new CreateRaced(e) : e;
        }
        try {
            setattrOn(ctx, op, path, false, new Nfs4Attrs.Builder().mode(mode).timesNow().build());
        } catch (NfsException e) {
            try {
                ctx.close(path, fh);
            } catch (NfsException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        return fh;
    }

    /**
     * Whether {@code path} exists. A "not found" from a lookup libnfs took through a link on the way is thrown
     * instead ({@link #runOnPath} then resolves the path): the OPEN that follows must not take that way again.
     */
    private static boolean exists(NativeContext ctx, String op, String path) throws NfsException {
        try {
            ctx.stat(op, path, true);
            return true;
        } catch (NfsException e) {
            if (e.isNotFound() && !wentAstray(e, path)) {
                return false;
            }
            throw e;
        }
    }

    /** A create without O_EXCL that raced with another client creating or removing the file: start over. */
    private static final class CreateRaced extends NfsException {
        CreateRaced(NfsException e) {
            super(e.operation(), e.path(), e.target(), e.errno(), e.libnfsError(), false, e);
        }
    }

    @Override
    public void truncate(String path, long length) throws NfsException {
        NfsPaths.requireValid(path);
        if (length < 0) {
            throw new IllegalArgumentException("truncate " + path + ": negative length " + length);
        }
        runOnPath("truncate", path, (ctx, p) -> {
            ctx.truncate(p, length);
            return null;
        });
    }

    @Override
    public void unlink(String path) throws NfsException {
        NfsPaths.requireValid(path);
        runOnPath("unlink", path, (ctx, p) -> {
            ctx.unlink(p);
            return null;
        });
    }

    @Override
    public void rmdir(String path) throws NfsException {
        NfsPaths.requireValid(path);
        runOnPath("rmdir", path, (ctx, p) -> {
            ctx.rmdir(p);
            return null;
        });
    }

    @Override
    public void rename(String from, String to) throws NfsException {
        NfsPaths.requireValid(from);
        NfsPaths.requireValid(to);
        run("rename", from + " -> " + to, ctx -> {
            ctx.rename(from, to);
            return null;
        });
    }

    @Override
    public void symlink(String target, String linkPath) throws NfsException {
        NfsPaths.requireValid(linkPath);
        if (target == null || target.isEmpty() || target.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("symlink " + linkPath + ": target is empty or contains NUL");
        }
        runOnPath("symlink", linkPath, (ctx, p) -> {
            ctx.symlink(target, p);
            return null;
        });
    }

    @Override
    public String readlink(String path) throws NfsException {
        NfsPaths.requireValid(path);
        return runOnPath("readlink", path, (ctx, p) -> readlinkOn(ctx, p));
    }

    @Override
    public void chmod(String path, int mode) throws NfsException {
        NfsPaths.requireValid(path);
        checkMode(mode);
        if (target.version() == NfsVersion.V3) {
            run("chmod", path, ctx -> {
                ctx.chmod3(path, mode);
                return null;
            });
        } else {
            setattr("chmod", path, true, new Nfs4Attrs.Builder().mode(mode).build());
        }
    }

    @Override
    public void chown(String path, int uid, int gid) throws NfsException {
        chown("chown", path, uid, gid, true);
    }

    @Override
    public void lchown(String path, int uid, int gid) throws NfsException {
        chown("lchown", path, uid, gid, false);
    }

    private void chown(String op, String path, int uid, int gid, boolean follow) throws NfsException {
        NfsPaths.requireValid(path);
        if (uid < -1 || gid < -1) {
            throw new IllegalArgumentException(op + " " + path + ": uid/gid must be >= 0 or -1 (keep)");
        }
        if (target.version() == NfsVersion.V3) {
            run(op, path, ctx -> {
                ctx.chown3(op, path, uid, gid, follow);
                return null;
            });
        } else {
            Nfs4Attrs.Builder b = new Nfs4Attrs.Builder();
            if (uid >= 0) {
                b.owner(uid);
            }
            if (gid >= 0) {
                b.group(gid);
            }
            setattr(op, path, follow, b.build());
        }
    }

    @Override
    public void utimes(String path, Instant atime, Instant mtime) throws NfsException {
        utimes("utimes", path, atime, mtime, true);
    }

    @Override
    public void lutimes(String path, Instant atime, Instant mtime) throws NfsException {
        utimes("lutimes", path, atime, mtime, false);
    }

    private void utimes(String op, String path, Instant atime, Instant mtime, boolean follow) throws NfsException {
        NfsPaths.requireValid(path);
        if (target.version() == NfsVersion.V3) {
            run(op, path, ctx -> {
                Instant a = atime;
                Instant m = mtime;
                if (a == null || m == null) {
                    NfsAttributes now = ctx.stat(op, path, follow);
                    a = a != null ? a : now.atime();
                    m = m != null ? m : now.mtime();
                }
                ctx.utimes3(op, path, a, m, follow);
                return null;
            });
        } else {
            Nfs4Attrs.Builder b = new Nfs4Attrs.Builder();
            if (atime != null) {
                b.atime(atime);
            }
            if (mtime != null) {
                b.mtime(mtime);
            }
            setattr(op, path, follow, b.build());
        }
    }

    @Override
    public NfsFsStats statvfs(String path) throws NfsException {
        NfsPaths.requireValid(path);
        return runOnPath("statvfs", path, (ctx, p) -> ctx.statvfs(p));
    }

    // ---------------------------------------------------------------------------------------------
    // NFSv4 SETATTR by path

    private List<String> components(String path) {
        List<String> all = new ArrayList<>(exportComponents);
        all.addAll(NfsPaths.components(path));
        return all;
    }

    /**
     * SETATTR on the object {@code path} names (after a final symbolic link if {@code follow}). The raw
     * compound's LOOKUPs do not follow symbolic links, so when one stands in the way the path is resolved
     * component by component first.
     */
    private void setattr(String op, String path, boolean follow, Nfs4Attrs attrs) throws NfsException {
        run(op, path, ctx -> {
            setattrOn(ctx, op, path, follow, attrs);
            return null;
        });
    }

    private void setattrOn(NativeContext ctx, String op, String path, boolean follow, Nfs4Attrs attrs)
            throws NfsException {
        String p = follow ? resolveFinal(ctx, op, path) : path;
        try {
            ctx.setattr4(op, path, components(p), attrs);
        } catch (NfsException e) {
            if ((e.errno() == Errno.ELOOP || e.errno() == Errno.ENOTDIR) && !ctx.isFailed()) {
                String resolved = resolveAll(ctx, op, p, follow);
                if (!resolved.equals(p)) {
                    ctx.setattr4(op, path, components(resolved), attrs);
                    return;
                }
            }
            throw e;
        }
    }

    /**
     * READLINK of {@code path}. With NFSv4 the link's length comes from its attributes first (libnfs 4.0
     * does not terminate NFSv4 link contents; see {@link NativeContext#readlink}).
     */
    private String readlinkOn(NativeContext ctx, String path) throws NfsException {
        long length = target.version() == NfsVersion.V3 ? -1 : ctx.stat("readlink", path, false).size();
        return ctx.readlink(path, length);
    }

    /** Follows symbolic links at the end of {@code path} (libnfs follows those in the directories). */
    private String resolveFinal(NativeContext ctx, String op, String path) throws NfsException {
        String p = path;
        for (int hops = 0; hops <= MAX_SYMLINK_HOPS; hops++) {
            if (!ctx.stat(op, p, false).isSymlink()) {
                return p;
            }
            p = NfsPaths.resolveLink(p, readlinkOn(ctx, p));
        }
        throw new NfsException(op, path, spec, Errno.ELOOP, null, false);
    }

    /** Resolves every symbolic link on {@code path} (the last one only if {@code followLast}). */
    private String resolveAll(NativeContext ctx, String op, String path, boolean followLast) throws NfsException {
        List<String> done = new ArrayList<>();
        Deque<String> rest = new ArrayDeque<>(NfsPaths.components(path));
        int hops = 0;
        while (!rest.isEmpty()) {
            String c = rest.poll();
            if (rest.isEmpty() && !followLast) {
                done.add(c);
                break;
            }
            List<String> curList = new ArrayList<>(done);
            curList.add(c);
            String cur = "/" + String.join("/", curList);
            if (ctx.stat(op, cur, false).isSymlink()) {
                if (++hops > MAX_SYMLINK_HOPS) {
                    throw new NfsException(op, path, spec, Errno.ELOOP, null, false);
                }
                List<String> target = NfsPaths.components(NfsPaths.resolveLink(cur, readlinkOn(ctx, cur)));
                done.clear();
                for (int i = target.size() - 1; i >= 0; i--) {
                    rest.addFirst(target.get(i));
                }
            } else {
                done.add(c);
            }
        }
        return done.isEmpty() ? NfsPaths.ROOT : "/" + String.join("/", done);
    }

    // ---------------------------------------------------------------------------------------------
    // Files and closing

    /** Closes every handle of {@code file} on its context. */
    void closeFile(LibnfsFile file) throws NfsException {
        List<FileHandle> handles = pool.closeFile(file);
        openFiles.remove(file);
        NfsException first = null;
        for (FileHandle h : handles) {
            NativeContext ctx;
            try {
                ctx = pool.acquireHandle(h, "close", System.nanoTime() + timeoutNanos);
            } catch (NfsException e) {
                first = first == null ? e : first;
                continue;
            }
            if (ctx == null) {
                pool.detach(file, h);
                continue;
            }
            try {
                MemorySegment fh = pool.detach(file, h);
                if (fh != null) {
                    ctx.close(file.path(), fh);
                }
            } catch (NfsException e) {
                // A CLOSE that failed because the open state is gone (expired, gateway restarted, context
                // lost) has nothing left to close; report only what the gateway refused otherwise.
                if (!ctx.isFailed()) {
                    first = first == null ? e : first;
                }
            } finally {
                pool.release(ctx);
            }
        }
        if (first != null) {
            throw first;
        }
    }

    /**
     * libnfs 4.0 never sends RENEW, so a context that only holds open files lets its NFSv4 lease lapse and
     * the gateway drops the opens ({@code NFS4ERR_EXPIRED}). A virtual thread reads 0 bytes through one
     * handle of every context idle for {@link #LEASE_RENEW_NANOS}, which renews the lease. (Calls that still
     * find their state gone reopen the file on a fresh context.)
     */
    private synchronized void startLeaseKeeper() {
        if (leaseKeeper != null || closed) {
            return;
        }
        leaseKeeper = Thread.ofVirtual().name("nfs-lease-keeper " + spec).start(this::keepLeases);
    }

    private void keepLeases() {
        while (!closed) {
            try {
                TimeUnit.NANOSECONDS.sleep(LEASE_RENEW_NANOS / 3);
            } catch (InterruptedException e) {
                return;
            }
            for (NativeContext ctx : pool.contexts()) {
                if (closed || System.nanoTime() - ctx.lastStatefulNanos < LEASE_RENEW_NANOS) {
                    continue;
                }
                if (!pool.tryAcquire(ctx)) {
                    continue;
                }
                try {
                    FileHandle h = pool.anyHandle(ctx);
                    if (h != null) {
                        ctx.renewLease(h.path, h.fh);
                    } else {
                        ctx.lastStatefulNanos = System.nanoTime();
                    }
                } catch (NfsException | RuntimeException e) {
                    // A failed context is destroyed on release; its files reopen on their next call.
                } finally {
                    pool.release(ctx);
                }
            }
        }
    }

    @Override
    public void close() {
        Thread keeper;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            keeper = leaseKeeper;
        }
        if (keeper != null) {
            keeper.interrupt();
        }
        for (LibnfsFile f : List.copyOf(openFiles)) {
            try {
                closeFile(f);
            } catch (NfsException | RuntimeException e) {
                // best effort: the contexts are destroyed next anyway
            }
        }
        pool.close();
    }

    private static void checkMode(int mode) {
        if ((mode & ~07777) != 0) {
            throw new IllegalArgumentException("mode 0" + Integer.toOctalString(mode) + " has bits outside 07777");
        }
    }

    @Override
    public String toString() {
        return "NfsSession[" + target + ", contexts " + pool.size() + "/" + options.maxContexts() + "]";
    }
}
