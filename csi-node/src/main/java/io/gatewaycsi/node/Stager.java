package io.gatewaycsi.node;

import io.gatewaycsi.common.CsiException;
import io.gatewaycsi.common.LogLine;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

/**
 * Chooses the mount backend of a staging mount from the volume's {@code mountBackend} parameter (DESIGN §4,
 * "NodeStageVolume"): {@code kernel} mounts in the kernel and never falls back; {@code sidecar} always uses
 * the mount helper; {@code auto} tries the kernel and, when the real error says the kernel path is not
 * available on this node (no NFS in the kernel, no mount.nfs, not permitted), uses the mount helper. Each
 * fallback is logged once per volume with its reason ({@link FallbackReason}). Which backend owns a staging
 * mount is read back from the mount table ({@link SidecarBackend#FS_TYPE} means the helper), so it survives a
 * node-plugin restart. Failed mounts are counted in {@code gatewaycsi_node_mount_failures_total}.
 */
final class Stager {

    private static final Logger LOG = Logger.getLogger(Stager.class.getName());

    private final MountBackend kernel;
    private final Optional<SidecarBackend> sidecar;
    private final Set<String> fallbacksLogged = ConcurrentHashMap.newKeySet();
    private final NodeMetrics metrics;

    Stager(MountBackend kernel, Optional<SidecarBackend> sidecar, NodeMetrics metrics) {
        this.kernel = kernel;
        this.sidecar = sidecar;
        this.metrics = metrics;
    }

    /**
     * How a staging mount was made.
     *
     * @param backend  the backend that made it: {@code kernel} or {@code sidecar}
     * @param fallback why the kernel could not, when {@code mountBackend=auto} fell back; else {@code null}
     * @param detail   the kernel mount's output on a fallback (e.g. {@code mount.nfs: No such device}); else ""
     * @param options  the mount options in force, nfs(5) form: what the mount helper answered it mounted with
     *                 (e.g. {@code vers=4.0} where {@code vers=4.1} was asked: libnfs speaks 4.0), or for the
     *                 kernel the options it was given
     * @param notApplied for a kernel mount, the asked options the kernel did not apply as asked, one sentence
     *                 each ({@link AppliedOptions#differences}); else empty
     */
    record Outcome(String backend, FallbackReason fallback, String detail, List<String> options,
                   List<String> notApplied) {
        Outcome {
            options = List.copyOf(options);
            notApplied = List.copyOf(notApplied);
        }
    }

    /**
     * Mounts {@code request} with the backend {@code mountBackend} asks for.
     *
     * @return which backend made the mount, and why it fell back if it did
     * @throws CsiException with the status of the classified failure
     */
    Outcome stage(NfsMountRequest request, String mountBackend) throws IOException {
        return stage(request, mountBackend, null);
    }

    /**
     * Mounts {@code request} again, as {@link #stage(NfsMountRequest, String)}, except that with
     * {@code mountBackend=auto} a {@code remembered} fallback reason (recorded when this staging mount was first
     * made) goes straight to the mount helper: the kernel of this node could not mount it then and is not tried
     * again on every repair.
     */
    Outcome stage(NfsMountRequest request, String mountBackend, FallbackReason remembered) throws IOException {
        if (mountBackend.equals("sidecar")) {
            return new Outcome("sidecar", null, "", stageWithHelper(requireSidecar("mountBackend=sidecar"), request),
                    List.of());
        }
        if (mountBackend.equals("auto") && remembered != null) {
            return new Outcome("sidecar", remembered, "", stageWithHelper(requireSidecar("the kernel could not mount"
                    + " NFS here (" + remembered.description() + ")"), request), List.of());
        }
        try {
            kernel.stage(request);
            return new Outcome(kernel.name(), null, "", request.effectiveOptions(), notApplied(request));
        } catch (KernelMountException e) {
            if (!mountBackend.equals("auto") || !e.isNotAvailableOnNode()) {
                metrics.mountFailed("kernel", e.failure().name());
                throw e.toCsiException();
            }
            FallbackReason reason = FallbackReason.of(e);
            SidecarBackend helper = requireSidecar("the kernel cannot mount NFS here (" + e.failure().summary() + ")");
            if (fallbacksLogged.add(request.volumeId())) {
                LOG.info(LogLine.event("fallback").with("volume_id", request.volumeId()).with("backend", "sidecar")
                        .with("reason", reason.label()).with("why", e.failure().summary())
                        .with("detail", e.output().strip()).toString());
            }
            return new Outcome("sidecar", reason, e.output().strip(), stageWithHelper(helper, request), List.of());
        }
    }

    /** The options the kernel did not apply as asked, read back from the staging mount's mount table line. */
    private static List<String> notApplied(NfsMountRequest request) {
        try {
            return MountTable.read().topmost(request.stagingPath())
                    .map(entry -> AppliedOptions.differences(request.effectiveOptions(), entry)).orElse(List.of());
        } catch (IOException e) {
            LOG.warning(LogLine.event("applied_options_unknown").with("volume_id", request.volumeId())
                    .with("error", e.getMessage()).toString());
            return List.of();
        }
    }

    /** Mounts through the helper; returns the options the helper says are in force. */
    private List<String> stageWithHelper(SidecarBackend helper, NfsMountRequest request) throws IOException {
        try {
            return helper.mount(request).getEffectiveOptionsList();
        } catch (CsiException e) {
            metrics.mountFailed("sidecar", e.code().name());
            throw e;
        }
    }

    /** Unmounts a staging mount with the backend that owns it ({@code fsType} from the mount table). */
    Teardown.Result unstage(Path stagingPath, String fsType) throws IOException {
        if (fsType.equals(SidecarBackend.FS_TYPE) && sidecar.isPresent()) {
            return sidecar.get().unstage(stagingPath);
        }
        return kernel.unstage(stagingPath);
    }

    /** The backend that owns a mount of {@code fsType}. */
    static String backendOf(String fsType) {
        return fsType.equals(SidecarBackend.FS_TYPE) ? "sidecar" : "kernel";
    }

    private SidecarBackend requireSidecar(String why) {
        return sidecar.orElseThrow(() -> {
            metrics.mountFailed("sidecar", "no_mount_helper");
            return CsiException.failedPrecondition(why + ", but this node plugin has no"
                    + " mount helper: start it and pass --mount-helper-endpoint");
        });
    }
}
