package io.gatewaycsi.node;

import io.gatewaycsi.common.LogLine;
import io.gatewaycsi.common.events.ObjectRef;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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
 * and reported as a {@value NodeEvents#REPAIRED} (or {@value NodeEvents#REPAIR_FAILED}) event on the claim and
 * on the pods of the re-bound targets.
 */
final class StagingRepair {

    private static final Logger LOG = Logger.getLogger(StagingRepair.class.getName());

    private final Stager stager;
    private final Mounter mounter;
    private final Teardown teardown;
    private final NodeMetrics metrics;
    private final NodeEvents events;

    StagingRepair(Stager stager, Mounter mounter, Teardown teardown, NodeMetrics metrics, NodeEvents events) {
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
        List<MountEntry> candidates = staging.map(table::bindMountsOf).orElseGet(() -> table.bySource(mount.source()));
        // Only the mount a path shows counts (an earlier repair leaves dead layers below live ones).
        return candidates.stream()
                .filter(t -> staging.map(s -> s.fsType().equals(t.fsType())).orElse(t.isFuse() || t.isNfs()))
                .filter(t -> !t.mountPoint().startsWith(mount.stagingPath()))
                .filter(t -> table.topmost(t.mountPoint()).map(top -> top.mountId() == t.mountId()).orElse(false))
                .toList();
    }

    /**
     * Remounts {@code mount} in place of the broken staging mount {@code broken} (or where it was, if it is
     * gone) and re-binds its targets.
     *
     * @param broken  the broken staging mount, or empty when it is no longer mounted
     * @param targets the targets to bind again ({@link #targetsOf})
     * @param claim   the volume's claim for events, or {@code null}
     * @param cause   what {@link #brokenCause} said
     * @return the number of targets bound again
     */
    int repair(NfsMountRequest mount, String mountBackend, Optional<MountEntry> broken, List<MountEntry> targets,
               ObjectRef claim, String cause) throws IOException {
        String backend = Stager.backendOf(broken.or(() -> targets.stream().findFirst())
                .map(MountEntry::fsType).orElse(""));
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
            }
            outcome = stager.stage(mount, mountBackend);
            for (MountEntry target : targets) {
                if (mounter.replaceWithBind(mount.stagingPath(), target.mountPoint(), target.readOnly())) {
                    metrics.unmounted("target", TeardownStep.LAZY);
                }
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
                .with("backend", outcome.backend()).with("targets", targets.size()).toString());
        String message = "the staging mount of volume " + mount.volumeId() + " was broken (" + describe(cause)
                + ") and was remounted by the " + (outcome.backend().equals("sidecar") ? "mount helper" : "kernel")
                + "; " + targets.size() + " published target" + (targets.size() == 1 ? "" : "s") + " bound again";
        events.normal(claim, NodeEvents.REPAIRED, message);
        pods.forEach(pod -> events.normal(pod, NodeEvents.REPAIRED, message));
        return targets.size();
    }

    private static String describe(String cause) {
        return switch (cause) {
            case "enotconn" -> "ENOTCONN: the mount helper that served it was gone";
            case "estale" -> "ESTALE: the gateway no longer knew its file handle";
            case "eio" -> "EIO";
            default -> "it could not be probed";
        };
    }
}
