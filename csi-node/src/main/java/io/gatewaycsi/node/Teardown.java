package io.gatewaycsi.node;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Teardown that never hangs (DESIGN §4, NodeUnpublish/Unstage): unmounts a path with a deadline on every
 * call, escalating from umount2(2) to MNT_FORCE to MNT_DETACH, and optionally removes the emptied mount point.
 *
 * <p>For each mount stacked at the path, topmost first:
 * <ol>
 *   <li>probe the mount with statvfs(3): a timeout or ESTALE/ENOTCONN/EIO marks it broken;</li>
 *   <li>if not broken, a plain unmount, retried on EBUSY {@code busyRetries} times with a doubling pause;</li>
 *   <li>on a broken mount, a timeout, EBUSY after the retries or another error: a forced unmount (tried
 *   twice on EBUSY: forcing aborts the calls stuck in the file system, which then let go of the mount) —
 *   but only when no other mount shows the same superblock ({@link #sharedSuperblock}): MNT_FORCE aborts
 *   every call of the superblock, so a bind target (which shares its staging mount's) or a staging mount
 *   sharing its NFS superblock with other volumes goes straight to the lazy unmount;</li>
 *   <li>if that fails or times out: a lazy unmount (detach), which does not wait for the file system.</li>
 * </ol>
 * EPERM stops at once (no escalation can help), as does a failed lazy unmount. The result names the most
 * escalated step used and why it escalated.
 */
public final class Teardown {

    /** The most mounts stacked at one path that one teardown unmounts. */
    public static final int MAX_LAYERS = 16;

    /**
     * What a teardown did.
     *
     * @param step       the most escalated step used ({@link TeardownStep#NOT_MOUNTED} when nothing was mounted)
     * @param layers     how many stacked mounts were unmounted
     * @param escalation why it escalated past a plain unmount (the failures in order), or empty
     */
    public record Result(TeardownStep step, int layers, List<String> escalation) {
        /** Copies the escalation list. */
        public Result {
            Objects.requireNonNull(step, "step");
            escalation = List.copyOf(escalation);
        }
    }

    private final Mounter mounter;
    private final int busyRetries;
    private final Duration busyPause;

    /** A teardown with 3 retries on EBUSY, 100 ms apart at first. */
    public Teardown(Mounter mounter) {
        this(mounter, 3, Duration.ofMillis(100));
    }

    /**
     * A teardown using {@code mounter} (and its deadline for every call, mount table reads included).
     *
     * @param busyRetries how often a plain unmount is retried on EBUSY before forcing
     * @param busyPause   the pause before the first retry; each further pause doubles
     */
    public Teardown(Mounter mounter, int busyRetries, Duration busyPause) {
        this.mounter = Objects.requireNonNull(mounter, "mounter");
        if (busyRetries < 0) {
            throw new IllegalArgumentException("busyRetries must be ≥ 0, got " + busyRetries);
        }
        this.busyRetries = busyRetries;
        this.busyPause = Objects.requireNonNull(busyPause, "busyPause");
    }

    /**
     * Unmounts everything mounted at {@code target} (every stacked layer), escalating as needed. The path
     * itself is left in place. Idempotent: a path that is not a mount point, or does not exist, gives
     * {@link TeardownStep#NOT_MOUNTED}.
     *
     * @throws MountException when even the lazy unmount failed, on EPERM, or when more than
     *                        {@value #MAX_LAYERS} layers stay mounted
     * @throws IOException    when the mount table cannot be read in time
     */
    public Result unmount(Path target) throws IOException {
        TeardownStep worst = TeardownStep.NOT_MOUNTED;
        List<String> escalation = new ArrayList<>();
        int layers = 0;
        while (isMountPoint(target)) {
            if (layers == MAX_LAYERS) {
                throw MountException.refused("teardown", target, Errno.EBUSY, "more than " + MAX_LAYERS
                        + " mounts are stacked there; something keeps mounting it");
            }
            TeardownStep step = unmountTopmost(target, escalation);
            if (step == TeardownStep.NOT_MOUNTED) {
                break;
            }
            worst = worst.max(step);
            layers++;
        }
        return new Result(worst, layers, escalation);
    }

    /**
     * Whether something is mounted at {@code target}: from statx where the kernel can tell (no read of the
     * mount table, which on a busy node has hundreds of lines), else from the mount table.
     */
    private boolean isMountPoint(Path target) throws IOException {
        return switch (mounter.mountPoint(target)) {
            case ABSENT, NOT_MOUNTED -> false;
            case MOUNTED -> true;
            case UNKNOWN -> table().isMountPoint(target);
        };
    }

    /**
     * {@link #unmount} then removes {@code target}: rmdir(2) for a directory (unlink for a file, as for a
     * bind-mounted file target) — never a recursive delete. Refuses when something is still mounted at or
     * under {@code target}. A target that does not exist is fine (idempotent, as NodeUnpublishVolume must be).
     *
     * @throws MountException EBUSY when something is still mounted at or under {@code target}
     * @throws java.nio.file.DirectoryNotEmptyException when the unmounted directory still has content
     */
    public Result unmountAndRemove(Path target) throws IOException {
        Result result = unmount(target);
        // The target is unmounted now, so these are calls on the local parent directory: one hand-off.
        try {
            BlockingCalls.callEvenIfSaturated("rmdir", target, mounter.deadline(), () -> {
                if (isMountPoint(target)) {
                    throw MountException.refused("rmdir", target, Errno.EBUSY, "it is still a mount point");
                }
                return Files.deleteIfExists(target);
            });
        } catch (java.nio.file.DirectoryNotEmptyException e) {
            List<MountEntry> inside = table().under(target);
            if (!inside.isEmpty()) {
                throw MountException.refused("rmdir", target, Errno.EBUSY, "mounts remain under it: "
                        + inside.stream().map(m -> m.mountPoint().toString()).toList());
            }
            throw e;
        }
        return result;
    }

    private TeardownStep unmountTopmost(Path target, List<String> escalation) throws IOException {
        String broken = brokenReason(target);
        if (broken == null) {
            for (int attempt = 0; ; attempt++) {
                try {
                    mounter.unmount(target);
                    return TeardownStep.NORMAL;
                } catch (MountException e) {
                    if (e.errno() == Errno.EINVAL || e.errno() == Errno.ENOENT) {
                        if (!table().isMountPoint(target)) {
                            return TeardownStep.NOT_MOUNTED;
                        }
                    }
                    if (e.errno() == Errno.EPERM) {
                        throw e;
                    }
                    if (e.errno() == Errno.EBUSY && attempt < busyRetries) {
                        pause(attempt);
                        continue;
                    }
                    escalation.add(e.getMessage());
                    break;
                }
            }
        } else {
            escalation.add(broken);
        }
        String shared = sharedSuperblock(target);
        if (shared != null) {
            // MNT_FORCE acts on the superblock, not on this mount: on NFS it aborts the RPCs of every mount of
            // it — a bind target's staging mount and other volumes of the same export alike. Detach instead.
            escalation.add(shared);
            return lazy(target, escalation);
        }
        // A forced unmount aborts the calls stuck in the file system; they then release the mount, so one
        // more try after a pause often succeeds where the first saw EBUSY.
        for (int attempt = 0; attempt < 2; attempt++) {
            try {
                mounter.forceUnmount(target);
                return TeardownStep.FORCED;
            } catch (MountException e) {
                if (e.errno() == Errno.EPERM) {
                    throw e;
                }
                if ((e.errno() == Errno.EINVAL || e.errno() == Errno.ENOENT) && !table().isMountPoint(target)) {
                    return TeardownStep.FORCED;
                }
                escalation.add(e.getMessage());
                if (e.errno() != Errno.EBUSY) {
                    break;
                }
                if (attempt == 0) {
                    pause(0);
                }
            }
        }
        return lazy(target, escalation);
    }

    private TeardownStep lazy(Path target, List<String> escalation) throws IOException {
        try {
            mounter.lazyUnmount(target);
            return TeardownStep.LAZY;
        } catch (MountException e) {
            if ((e.errno() == Errno.EINVAL || e.errno() == Errno.ENOENT) && !table().isMountPoint(target)) {
                return TeardownStep.FORCED;
            }
            escalation.add(e.getMessage());
            MountException failed = MountException.refused("teardown", target,
                    e.errno() == null ? Errno.UNKNOWN : e.errno(),
                    "plain, forced and lazy unmounts all failed: " + String.join("; ", escalation));
            failed.initCause(e);
            throw failed;
        }
    }

    /**
     * Why the topmost mount at {@code target} must not be forced, or {@code null} when it may: other mounts in
     * this mount namespace show the same superblock (same device, mountinfo field 3). A bind-mounted target
     * always shares its staging mount's superblock, and the kernel gives volumes of one export one NFS
     * superblock unless {@code nosharecache} separates them; umount2(MNT_FORCE) would abort their calls too.
     */
    String sharedSuperblock(Path target) throws IOException {
        MountTable table = table();
        Optional<MountEntry> topmost = table.topmost(target);
        if (topmost.isEmpty()) {
            return null;
        }
        MountEntry mount = topmost.get();
        List<String> others = table.entries().stream()
                .filter(e -> e.mountId() != mount.mountId() && e.major() == mount.major() && e.minor() == mount.minor())
                .map(e -> e.mountPoint().toString()).toList();
        if (others.isEmpty()) {
            return null;
        }
        return "no forced unmount: device " + mount.device() + " is also mounted at " + others.size()
                + (others.size() == 1 ? " other mount point " : " other mount points ")
                + others.subList(0, Math.min(3, others.size())) + (others.size() > 3 ? "…" : "")
                + ", whose calls a forced unmount would abort too";
    }

    /**
     * Why the topmost mount at {@code target} counts as broken (statvfs timed out or failed with ESTALE,
     * ENOTCONN or EIO), or {@code null} when it answers normally or nothing is mounted there.
     */
    String brokenReason(Path target) throws IOException {
        try {
            mounter.statvfs(target);
            return null;
        } catch (MountException e) {
            return e.isTimeout() || e.meansBrokenMount() ? e.getMessage() : null;
        }
    }

    private MountTable table() throws IOException {
        return MountTable.read(MountTable.SELF_MOUNTINFO, mounter.deadline());
    }

    private void pause(int attempt) throws IOException {
        try {
            Thread.sleep(busyPause.multipliedBy(1L << Math.min(attempt, 10)));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("teardown interrupted");
        }
    }
}
