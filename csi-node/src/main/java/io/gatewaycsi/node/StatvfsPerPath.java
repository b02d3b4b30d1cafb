package io.gatewaycsi.node;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * statvfs(3) of volume paths with at most one call outstanding per path: while one is still blocked (its
 * gateway does not answer: a {@code hard} mount waits for ever), later callers for the same path wait for that
 * same call, only until its deadline, instead of starting another one that would block a thread too.
 * NodeGetVolumeStats is asked every minute per volume by kubelet and more often by monitoring; during an
 * outage each such call used to leave a thread behind.
 */
final class StatvfsPerPath {

    private record Running(CompletableFuture<FsStats> result, long started) {
    }

    private final Mounter mounter;
    private final Map<Path, Running> running = new ConcurrentHashMap<>();

    StatvfsPerPath(Mounter mounter) {
        this.mounter = mounter;
    }

    /**
     * The capacity of the file system at {@code path}.
     *
     * @throws MountException with {@link MountException#isTimeout()} when no answer came within the mounter's
     *                        deadline from the start of the call outstanding for {@code path}, or the errno
     * @throws IOException    as {@link Mounter#statvfs}
     */
    FsStats statvfs(Path path) throws IOException {
        Running mine = new Running(new CompletableFuture<>(), System.nanoTime());
        Running current = running.putIfAbsent(path, mine);
        if (current == null) {
            java.util.concurrent.atomic.AtomicBoolean started = new java.util.concurrent.atomic.AtomicBoolean();
            try {
                return BlockingCalls.call("statvfs", path, mounter.deadline(), () -> {
                    if (!started.compareAndSet(false, true)) {
                        return null; // given up before it started: the caller already failed
                    }
                    try {
                        FsStats stats = mounter.statvfs(path);
                        mine.result().complete(stats);
                        return stats;
                    } catch (IOException | RuntimeException e) {
                        mine.result().completeExceptionally(e);
                        throw e;
                    } finally {
                        running.remove(path, mine);
                    }
                });
            } catch (MountException e) {
                if (started.compareAndSet(false, true)) {
                    // Never started (too many calls stuck, or not yet scheduled): it never will.
                    running.remove(path, mine);
                    mine.result().completeExceptionally(e);
                }
                throw e;
            }
        }
        long left = mounter.deadline().toNanos() - (System.nanoTime() - current.started());
        try {
            return current.result().get(Math.max(0, left), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            Duration waiting = Duration.ofNanos(System.nanoTime() - current.started());
            throw MountException.timeout("statvfs (one call outstanding for " + waiting.toSeconds() + " s)", path,
                    mounter.deadline());
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new IOException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("statvfs of " + path + " was interrupted while waiting");
        }
    }

    /** How many paths have a statvfs outstanding now (for tests). */
    int outstanding() {
        return running.size();
    }
}
