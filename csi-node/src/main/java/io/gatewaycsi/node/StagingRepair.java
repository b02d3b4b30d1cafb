package io.gatewaycsi.node;

import io.gatewaycsi.common.LogLine;
import io.gatewaycsi.common.events.ObjectRef;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.Optional;
import java.util.Locale;
import java.util.logging.Logger;

/**
 * Restores a broken staging mount (its mount helper died: ENOTCONN; the gateway handle went stale: ESTALE):
 * the staging mount is removed with the backend that owned it and made again, and every target published
 * from it gets a new bind mount with its read-only flag <em>in place of</em> its dead one
 * ({@link Mounter#replaceWithBind}: mounted beneath the dead mount, which is then detached), so the same target
 * paths serve the volume again. The dead mount is never unmounted first: between that unmount and the new bind
 * the target path would show the bare directory underneath, on the node's own disk, and a pod (or anything in
 * the host's mount namespace) writing there would see its writes and fsyncs succeed and then vanish under the
 * new mount — the reliability tests caught exactly that. (Where the kernel cannot mount beneath, before Linux
 * 6.5, the new bind goes on top and the dead one stays below until the target is torn down.) Each repair is counted in {@code gatewaycsi_node_repairs_total}
 * and reported as a {@value NodeEvents#REPAIRED} (or {@value NodeEvents#REPAIR_FAILED}) event on the claim; the
 * pods of the re-bound targets get a Warning {@value NodeEvents#RESTART_POD}: a running container holds its own
 * copy of the target's mount, taken when it started, which no re-bind on the node reaches — it keeps failing
 * with ENOTCONN (or ESTALE) until the pod is recreated. The re-bound targets are remembered
 * ({@link #reboundAt}) so that NodeGetVolumeStats reports them abnormal until they are unpublished.
 */
final class StagingRepair {

    private static final Logger LOG = Logger.getLogger(StagingRepair.class.getName());
    /** The cause of a repair of a recorded staging mount that is no longer mounted at all. */
    static final String MISSING = "missing";

    private final Stager stager;
    private final Mounter mounter;
    private final Teardown teardown;
    private final NodeMetrics metrics;
    private final NodeEvents events;
    private final NodePaths paths;
    private final Map<Path, Instant> rebound = new ConcurrentHashMap<>();

    StagingRepair(Stager stager, Mounter mounter, Teardown teardown, NodeMetrics metrics, NodeEvents events,
                  NodePaths paths) {
        this.paths = paths;
        this.stager = stager;
        this.mounter = mounter;
        this.teardown = teardown;
        this.metrics = metrics;
        this.events = events;
    }

    /** Whether the mount at {@code staging} answers (statvfs within the deadline, no broken-mount errno). */
    boolean healthy(Path staging) {
        return brokenCause(staging) == null;
    }

    /**
     * Why the mount at {@code staging} counts as broken, so that remounting it helps: the errno in lower case
     * ({@code enotconn}: its mount helper is gone; {@code estale}: the gateway no longer knows its handle),
     * {@code error} when it could not be probed at all, or {@code null} when it answers. A probe that times out
     * counts as answering (the gateway may just be slow), and so does EIO: that is what a {@code soft} mount
     * answers while its gateway is away, and tearing the mount down then would only break the pods' open files
     * without bringing the gateway back (the reliability tests' 60 s link cuts saw exactly that).
     */
    String brokenCause(Path staging) {
        try {
            mounter.statvfs(staging);
            return null;
        } catch (MountException e) {
            return e.meansBrokenMount() && e.errno() != Errno.EIO ? e.errno().name().toLowerCase(Locale.ROOT) : null;
        } catch (IOException e) {
            return "error";
        }
    }

    /**
     * The targets published from the staging mount of {@code mount}: bind mounts of {@code staging} when it is
     * still mounted, else (a mount helper that stopped unmounted it) the mounts elsewhere with its source and
     * file-system type, which only our bind mounts can have.
     */
    static List<MountEntry> targetsOf(MountTable table, NfsMountRequest mount, Optional<MountEntry> staging) {
        if (staging.isPresent()) {
            return publishedFrom(table, staging.get());
        }
        // Only the mount a path shows counts (an earlier repair leaves dead layers below live ones).
        return table.bySource(mount.source()).stream()
                .filter(t -> t.isFuse() || t.isNfs())
                .filter(t -> !t.mountPoint().startsWith(mount.stagingPath()))
                .filter(t -> isTopmost(table, t))
                .toList();
    }

    /**
     * The targets published from the staging mount {@code staging}: the bind mounts of it (or of a part of it)
     * outside its own mount point that their paths show (an earlier repair leaves dead layers below live ones).
     */
    static List<MountEntry> publishedFrom(MountTable table, MountEntry staging) {
        return table.bindMountsOf(staging).stream()
                .filter(t -> staging.fsType().equals(t.fsType()))
                .filter(t -> !t.mountPoint().startsWith(staging.mountPoint()))
                .filter(t -> isTopmost(table, t))
                .toList();
    }

    private static boolean isTopmost(MountTable table, MountEntry mount) {
        return table.topmost(mount.mountPoint()).map(top -> top.mountId() == mount.mountId()).orElse(false);
    }

    /**
     * When the targets at {@code path} was bound again by a repair (its pod's containers still hold the dead
     * mount they started with), or empty.
     */
    Optional<Instant> reboundAt(Path target) {
        return Optional.ofNullable(rebound.get(target));
    }

    /** Forgets that {@code target} was bound again (it was unpublished). */
    void forget(Path target) {
        rebound.remove(target);
    }

    /**
     * Remounts {@code staged} in place of the broken staging mount {@code broken} (or where it was, if it is
     * gone: its directory is made again if it vanished) and re-binds its targets. With
     * {@code mountBackend=auto} a recorded fallback goes straight to the mount helper ({@link Stager}).
     *
     * @param broken  the broken staging mount, or empty when it is no longer mounted
     * @param targets the targets to bind again ({@link #targetsOf})
     * @param cause   what {@link #brokenCause} said, or {@code missing} when the staging mount is gone
     * @return how the staging mount was made again
     */
    Stager.Outcome repair(StagingState.Staged staged, Optional<MountEntry> broken, List<MountEntry> targets,
                          String cause) throws IOException {
        NfsMountRequest mount = staged.mount();
        ObjectRef claim = staged.claim();
        String backend = Stager.backendOf(broken.or(() -> targets.stream().findFirst())
                .map(MountEntry::fsType).orElse(staged.fallback() != null ? SidecarBackend.FS_TYPE : ""));
        List<ObjectRef> pods = new ArrayList<>();
        for (MountEntry target : targets) {
            events.podAt(target.mountPoint()).ifPresent(pods::add);
        }
        LOG.warning(LogLine.event("repair").with("volume_id", mount.volumeId()).with("staging_path", mount.stagingPath())
                .with("backend", backend).with("cause", cause).with("targets", targets.size()).toString());
        Stager.Outcome outcome;
        try {
            if (broken.isPresent()) {
                metrics.unmounted("staging", stager.unstage(mount.stagingPath(), broken.get().fsType()).step());
            } else {
                paths.requireNoSymlinks(mount.stagingPath(), "staging_target_path", true);
                BlockingCalls.call("mkdir -p", mount.stagingPath(), mounter.deadline(),
                        () -> Files.createDirectories(mount.stagingPath()));
            }
            outcome = stager.stage(mount, staged.mountBackend(), staged.fallback());
            for (MountEntry target : targets) {
                if (mounter.replaceWithBind(mount.stagingPath(), target.mountPoint(), target.readOnly())) {
                    metrics.unmounted("target", TeardownStep.LAZY);
                }
                rebound.put(target.mountPoint(), Instant.now());
            }
        } catch (IOException | RuntimeException e) {
            metrics.repaired(backend, cause, false);
            String message = "the staging mount of volume " + mount.volumeId() + " was broken (" + describe(cause)
                    + ") and could not be remounted: " + e.getMessage();
            events.warning(claim, NodeEvents.REPAIR_FAILED, message);
            pods.forEach(pod -> events.warning(pod, NodeEvents.REPAIR_FAILED, message));
            throw e;
        }
        metrics.repaired(backend, cause, true);
        LOG.info(LogLine.event("repaired").with("volume_id", mount.volumeId()).with("staging_path", mount.stagingPath())
                .with("backend", outcome.backend()).with("options", String.join(",", outcome.options()))
                .with("targets", targets.size()).toString());
        String message = "the staging mount of volume " + mount.volumeId() + " was broken (" + describe(cause)
                + ") and was remounted by the " + (outcome.backend().equals("sidecar") ? "mount helper" : "kernel")
                + " with " + String.join(",", outcome.options()) + "; " + targets.size() + " published target"
                + (targets.size() == 1 ? "" : "s") + " bound again on the node";
        events.normal(claim, NodeEvents.REPAIRED, message);
        String restart = message + ". The running containers of this pod still hold the dead mount they started"
                + " with (their I/O there fails with 'Transport endpoint is not connected' or 'Stale file handle') and"
                + " never see the new one: restart this pod (delete it; its controller recreates it)";
        pods.forEach(pod -> events.warning(pod, NodeEvents.RESTART_POD, restart));
        return outcome;
    }

    private static String describe(String cause) {
        return switch (cause) {
            case "enotconn" -> "ENOTCONN: the mount helper that served it was gone";
            case "estale" -> "ESTALE: the gateway no longer knew its file handle";
            case "eio" -> "EIO";
            case MISSING -> "it was no longer mounted: the mount helper that served it was gone";
            default -> "it could not be probed";
        };
    }
}
