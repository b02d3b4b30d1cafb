package io.gatewaycsi.node;

import io.gatewaycsi.common.events.EventRecorder;
import io.gatewaycsi.common.events.EventType;
import io.gatewaycsi.common.events.ObjectRef;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The Kubernetes Events the node plugin emits, and the objects they go to: the Pod of a published target
 * (kubelet passes it to NodePublishVolume with {@code podInfoOnMount}; remembered per target path until
 * NodeUnpublishVolume) and the volume's PersistentVolumeClaim (from the volume context, where the controller
 * puts it; kept in {@link StagingState}). Reasons:
 * <ul>
 *   <li>{@value #FALLBACK} (Normal): the staging mount is served by the mount helper, and why the kernel could
 *   not mount it — on the claim at NodeStageVolume, on each pod at NodePublishVolume;</li>
 *   <li>{@value #MOUNT_FAILED} (Warning): NodeStageVolume or NodePublishVolume failed, with the classified
 *   reason and the fix;</li>
 *   <li>{@value #REPAIRED} (Normal) / {@value #REPAIR_FAILED} (Warning): a broken staging mount (its mount
 *   helper died, its handle went stale) was remounted and its targets re-bound, or could not be;</li>
 *   <li>{@value #RESTART_POD} (Warning, on each pod of a re-bound target): the pod's running containers still
 *   hold the dead mount and must be restarted to see the remounted volume;</li>
 *   <li>{@value #OPTIONS_CHANGED} (Normal, on the claim at NodeStageVolume): the staging mount is in force with
 *   other options than asked (the mount helper serves {@code vers=4.1} as {@code vers=4.0}), both named;</li>
 *   <li>{@value #UNMOUNT_FORCED} (Warning): an unmount needed MNT_FORCE or MNT_DETACH;</li>
 *   <li>{@value #OPTIONS_NOT_APPLIED} (Warning): the kernel mounted the volume with other NFS options than asked
 *   (read back from the mount table: {@link AppliedOptions}).</li>
 * </ul>
 */
final class NodeEvents {

    static final String FALLBACK = "MountHelperFallback";
    static final String MOUNT_FAILED = "MountFailed";
    static final String TUNNEL_FAILED = "TunnelFailed";
    static final String REPAIRED = "MountRepaired";
    static final String REPAIR_FAILED = "MountRepairFailed";
    static final String RESTART_POD = "PodRestartRequired";
    static final String OPTIONS_CHANGED = "MountOptionsChanged";
    static final String UNMOUNT_FORCED = "UnmountForced";
    static final String OPTIONS_NOT_APPLIED = "MountOptionsNotApplied";

    private final EventRecorder recorder;
    private final Map<Path, ObjectRef> podsByTarget = new ConcurrentHashMap<>();

    NodeEvents(EventRecorder recorder) {
        this.recorder = recorder;
    }

    /** Remembers which pod a target path belongs to. */
    void published(Path target, Optional<ObjectRef> pod) {
        pod.ifPresent(p -> podsByTarget.put(target, p));
    }

    /** Forgets a target path. */
    void unpublished(Path target) {
        podsByTarget.remove(target);
    }

    /** The pod of a published target, if known. */
    Optional<ObjectRef> podAt(Path target) {
        return Optional.ofNullable(podsByTarget.get(target));
    }

    void normal(ObjectRef object, String reason, String message) {
        if (object != null) {
            recorder.record(object, EventType.NORMAL, reason, message);
        }
    }

    void warning(ObjectRef object, String reason, String message) {
        if (object != null) {
            recorder.record(object, EventType.WARNING, reason, message);
        }
    }

    /** The message of a fallback event. */
    static String fallbackMessage(String volumeId, FallbackReason reason, String detail) {
        return "volume " + volumeId + " is mounted by the mount helper (user-space NFS over FUSE) instead of the"
                + " kernel: " + reason.description() + " [" + reason.label() + "]"
                + (detail == null || detail.isBlank() ? "" : ": " + detail.strip().replace('\n', ' '));
    }

    /** The message of an options-not-applied event: what differs, and why the kernel does that. */
    static String notAppliedMessage(String volumeId, List<String> notApplied) {
        return "volume " + volumeId + " is mounted, but the kernel did not apply these NFS options as asked: "
                + String.join("; ", notApplied) + ". The kernel shares one NFS superblock per gateway export"
                + " (timeo, retrans, rsize/wsize and soft/hard of the first mount apply; the mount option"
                + " nosharecache gives a volume its own) and one NFS client per gateway (nconnect of the first"
                + " mount applies, nosharecache or not), rounds rsize/wsize down to a power of two and ignores"
                + " nolock/local_lock on NFSv4 and intr everywhere";
    }
}
