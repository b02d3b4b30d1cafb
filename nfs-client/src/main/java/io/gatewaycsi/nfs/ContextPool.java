package io.gatewaycsi.nfs;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The session's libnfs contexts. Contexts are opened lazily (outside the lock) up to a maximum; a borrowed
 * context is used by exactly one thread until it is returned; a failed context is destroyed on return and
 * never lent again. Waiting for a context is bounded by the caller's deadline.
 *
 * <p>Files: {@link #acquireFor} lends one of the contexts a file is open on, or, when all of those are
 * busy, another free context on which the caller opens the file once more (at most
 * {@link #MAX_HANDLES_PER_FILE} per file).
 */
final class ContextPool {
    /** How many contexts one file may be open on at once (parallel calls on one file). */
    static final int MAX_HANDLES_PER_FILE = 4;

    @FunctionalInterface
    interface Factory {
        NativeContext create(int id) throws NfsException;
    }

    /** A borrowed context and, for file calls, the handle to use on it (null: the caller must open one). */
    record Lease(NativeContext ctx, FileHandle handle) {
    }

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final List<NativeContext> contexts = new ArrayList<>();
    private final Factory factory;
    private final int max;
    private final String spec;
    private int opening;
    private int nextId = 1;
    private boolean closed;
    private long created;
    private long lost;
    private long reconnects;

    ContextPool(Factory factory, int max, String spec) {
        this.factory = factory;
        this.max = max;
        this.spec = spec;
    }

    /** Lends any free context (the one with the fewest open files), opening one if none is free. */
    NativeContext acquire(String op, String path, long deadline) throws NfsException {
        while (true) {
            NativeContext ctx;
            boolean open = false;
            lock.lock();
            try {
                while (true) {
                    checkOpen(op, path);
                    ctx = pickIdle(null);
                    if (ctx != null) {
                        ctx.busy = true;
                        break;
                    }
                    if (contexts.size() + opening < max) {
                        opening++;
                        open = true;
                        break;
                    }
                    await(op, path, deadline);
                }
            } finally {
                lock.unlock();
            }
            if (open) {
                return openNew(op, path);
            }
            if (ctx.checkIdle()) {
                return ctx;
            }
            release(ctx);
        }
    }

    /** Lends a context for a call on {@code file}; see the class comment. */
    Lease acquireFor(LibnfsFile file, String op, long deadline) throws NfsException {
        while (true) {
            NativeContext ctx = null;
            FileHandle handle = null;
            boolean open = false;
            lock.lock();
            try {
                while (true) {
                    checkOpen(op, file.path());
                    if (file.closed) {
                        throw new NfsException(op, file.path(), spec, Errno.EBADF, "file is closed", false);
                    }
                    file.handles.removeIf(h -> h.dead);
                    for (FileHandle h : file.handles) {
                        if (!h.dead && !h.ctx.busy && !h.ctx.isFailed()) {
                            handle = h;
                            ctx = h.ctx;
                            break;
                        }
                    }
                    if (ctx != null) {
                        ctx.busy = true;
                        break;
                    }
                    boolean mayAdd = file.handles.isEmpty()
                            || (!file.noExpand && file.handles.size() < Math.min(MAX_HANDLES_PER_FILE, max));
                    if (mayAdd) {
                        ctx = pickIdle(file);
                        if (ctx != null) {
                            ctx.busy = true;
                            break;
                        }
                        if (contexts.size() + opening < max) {
                            opening++;
                            open = true;
                            break;
                        }
                    }
                    await(op, file.path(), deadline);
                }
            } finally {
                lock.unlock();
            }
            if (open) {
                return new Lease(openNew(op, file.path()), null);
            }
            if (ctx.checkIdle()) {
                return new Lease(ctx, handle);
            }
            release(ctx);
        }
    }

    /** Lends {@code ctx} if it is free and usable right now; otherwise returns false at once. */
    boolean tryAcquire(NativeContext ctx) {
        lock.lock();
        try {
            if (closed || ctx.busy || ctx.isFailed() || !contexts.contains(ctx)) {
                return false;
            }
            ctx.busy = true;
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** A snapshot of the live contexts (for the NFSv4 lease keeper). */
    List<NativeContext> contexts() {
        lock.lock();
        try {
            return List.copyOf(contexts);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Makes {@code file} use the path's existing open on {@code ctx} (a borrowed context) if there is one
     * that grants {@code access}; returns it, or null.
     */
    FileHandle share(LibnfsFile file, NativeContext ctx, int access) {
        lock.lock();
        try {
            FileHandle h = ctx.handles.get(file.path());
            if (h == null || h.dead || (h.access & access) != access) {
                return null;
            }
            if (!file.handles.contains(h)) {
                file.handles.add(h);
                h.refs++;
            }
            return h;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Records an nfsfh just opened for {@code file} on {@code ctx} (a borrowed context). If the context
     * already has the path open, the new nfsfh (newest state sequence id, union of accesses) replaces the
     * entry's and the old one is freed without a CLOSE.
     */
    FileHandle attach(LibnfsFile file, NativeContext ctx, java.lang.foreign.MemorySegment fh, int access) {
        java.lang.foreign.MemorySegment replaced = null;
        FileHandle h;
        lock.lock();
        try {
            h = ctx.handles.get(file.path());
            if (h == null || h.dead) {
                h = new FileHandle(file.path(), ctx, fh, access);
                ctx.handles.put(file.path(), h);
            } else {
                replaced = h.fh;
                h.fh = fh;
                h.access |= access;
            }
            if (!file.handles.contains(h)) {
                file.handles.add(h);
                h.refs++;
            }
        } finally {
            lock.unlock();
        }
        if (replaced != null && !replaced.equals(java.lang.foreign.MemorySegment.NULL)) {
            ctx.free(replaced);
        }
        return h;
    }

    /**
     * {@code file} stops using {@code h}. Returns the nfsfh to CLOSE (on the borrowed context) when it was
     * the last user, else null.
     */
    java.lang.foreign.MemorySegment detach(LibnfsFile file, FileHandle h) {
        lock.lock();
        try {
            if (!file.handles.remove(h)) {
                return null;
            }
            if (--h.refs > 0 || h.dead) {
                return null;
            }
            h.ctx.handles.remove(h.path, h);
            java.lang.foreign.MemorySegment fh = h.fh;
            h.fh = java.lang.foreign.MemorySegment.NULL;
            h.dead = true;
            return fh;
        } finally {
            lock.unlock();
        }
    }

    /** Marks the file closed and returns its handles (the caller closes each on its context). */
    List<FileHandle> closeFile(LibnfsFile file) {
        lock.lock();
        try {
            if (file.closed) {
                return List.of();
            }
            file.closed = true;
            changed.signalAll();
            return List.copyOf(file.handles);
        } finally {
            lock.unlock();
        }
    }

    /**
     * After reopening {@code file} failed: stop opening it on more contexts. Returns whether it is still
     * open on some context (then the caller waits for that one).
     */
    boolean stopExpanding(LibnfsFile file) {
        lock.lock();
        try {
            file.noExpand = true;
            file.handles.removeIf(h -> h.dead);
            return !file.handles.isEmpty();
        } finally {
            lock.unlock();
        }
    }

    /** A live handle on {@code ctx}, preferring one of a file open for reading; null if none. */
    FileHandle anyHandle(NativeContext ctx) {
        lock.lock();
        try {
            FileHandle any = null;
            for (FileHandle h : ctx.handles.values()) {
                if (h.dead) {
                    continue;
                }
                if ((h.access & FileHandle.READ) != 0) {
                    return h;
                }
                any = any == null ? h : any;
            }
            return any;
        } finally {
            lock.unlock();
        }
    }

    /** Lends the context {@code h} lives on (waiting while it is busy); null if the context is gone. */
    NativeContext acquireHandle(FileHandle h, String op, long deadline) throws NfsException {
        lock.lock();
        try {
            while (true) {
                if (h.dead || h.ctx.isFailed() || !contexts.contains(h.ctx)) {
                    return null;
                }
                if (!h.ctx.busy) {
                    h.ctx.busy = true;
                    return h.ctx;
                }
                await(op, h.path, deadline);
            }
        } finally {
            lock.unlock();
        }
    }

    /** Returns a borrowed context; a failed one (or any, once the pool is closed) is destroyed. */
    void release(NativeContext ctx) {
        boolean destroy = false;
        lock.lock();
        try {
            ctx.busy = false;
            if (ctx.isFailed() || closed) {
                if (ctx.isFailed() && !closed && contexts.contains(ctx)) {
                    lost++;
                }
                contexts.remove(ctx);
                destroy = true;
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        if (destroy) {
            ctx.destroy();
        }
    }

    /** Closes the pool: idle contexts are destroyed now, borrowed ones when they are returned. */
    void close() {
        List<NativeContext> idle = new ArrayList<>();
        lock.lock();
        try {
            closed = true;
            for (NativeContext c : List.copyOf(contexts)) {
                if (!c.busy) {
                    contexts.remove(c);
                    idle.add(c);
                }
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        for (NativeContext c : idle) {
            c.destroy();
        }
    }

    /** Number of live contexts. */
    int size() {
        lock.lock();
        try {
            return contexts.size();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Reconnections: contexts opened to replace one that failed (its call timed out, its connection broke, or
     * the gateway lost its NFSv4 state). Each failed context is replaced at most once.
     */
    long reconnects() {
        lock.lock();
        try {
            return reconnects;
        } finally {
            lock.unlock();
        }
    }

    /** Contexts opened since the pool was created (including replaced ones). */
    long created() {
        lock.lock();
        try {
            return created;
        } finally {
            lock.unlock();
        }
    }

    private NativeContext openNew(String op, String path) throws NfsException {
        int id;
        lock.lock();
        try {
            id = nextId++;
        } finally {
            lock.unlock();
        }
        NativeContext ctx;
        try {
            ctx = factory.create(id);
        } catch (NfsException | RuntimeException | Error e) {
            lock.lock();
            try {
                opening--;
                changed.signalAll();
            } finally {
                lock.unlock();
            }
            if (e instanceof NfsException n && !op.equals(n.operation())) {
                // Report it as the caller's operation: "stat /a on gw:/x: ECONNREFUSED [... mount ...]".
                throw new NfsException(op, path, spec, n.errno(), "opening a connection: " + n.getMessage(),
                        n.isConnectionLost(), n);
            }
            throw e;
        }
        lock.lock();
        try {
            opening--;
            created++;
            if (lost > reconnects) {
                reconnects++;
            }
            if (closed) {
                changed.signalAll();
            } else {
                ctx.busy = true;
                contexts.add(ctx);
                return ctx;
            }
        } finally {
            lock.unlock();
        }
        ctx.destroy();
        throw closedException(op, path);
    }

    /** The idle usable context with the fewest handles, skipping contexts {@code file} is open on. */
    private NativeContext pickIdle(LibnfsFile file) {
        NativeContext best = null;
        for (NativeContext c : contexts) {
            if (c.busy || c.isFailed()) {
                continue;
            }
            if (file != null && file.handles.stream().anyMatch(h -> h.ctx == c && !h.dead)) {
                continue;
            }
            if (best == null || c.handles.size() < best.handles.size()) {
                best = c;
            }
        }
        return best;
    }

    private void await(String op, String path, long deadline) throws NfsException {
        long remaining = deadline - System.nanoTime();
        if (remaining <= 0) {
            throw new NfsException(op, path, spec, Errno.ETIMEDOUT,
                    "no free NFS context: all " + max + " are busy", false);
        }
        try {
            changed.awaitNanos(Math.min(remaining, TimeUnit.MILLISECONDS.toNanos(250)));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new NfsException(op, path, spec, Errno.EINTR, "interrupted while waiting for an NFS context",
                    false);
        }
    }

    private void checkOpen(String op, String path) {
        if (closed) {
            throw closedException(op, path);
        }
    }

    private IllegalStateException closedException(String op, String path) {
        return new IllegalStateException(op + " " + path + " on " + spec + ": the NFS session is closed");
    }
}
