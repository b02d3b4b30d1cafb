package io.gatewaycsi.node;

import io.gatewaycsi.common.CsiException;
import io.gatewaycsi.common.LogLine;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

/**
 * Chooses the mount backend of a staging mount from the volume's {@code mountBackend} parameter (DESIGN §4,
 * "NodeStageVolume"): {@code kernel} mounts in the kernel and never falls back; {@code sidecar} always uses
 * the mount helper; {@code auto} tries the kernel and, when the real error says the kernel path is not
 * available on this node (no NFS in the kernel, no mount.nfs, not permitted), uses the mount helper. Each
 * fallback is logged once per volume with its reason. Which backend owns a staging mount is read back from
 * the mount table ({@link SidecarBackend#FS_TYPE} means the helper), so it survives a node-plugin restart.
 */
final class Stager {

    private static final Logger LOG = Logger.getLogger(Stager.class.getName());

    private final MountBackend kernel;
    private final Optional<SidecarBackend> sidecar;
    private final Set<String> fallbacksLogged = ConcurrentHashMap.newKeySet();

    Stager(MountBackend kernel, Optional<SidecarBackend> sidecar) {
        this.kernel = kernel;
        this.sidecar = sidecar;
    }

    /**
     * Mounts {@code request} with the backend {@code mountBackend} asks for.
     *
     * @return the name of the backend that made the mount
     * @throws CsiException with the status of the classified failure
     */
    String stage(NfsMountRequest request, String mountBackend) throws IOException {
        if (mountBackend.equals("sidecar")) {
            requireSidecar("mountBackend=sidecar").stage(request);
            return "sidecar";
        }
        try {
            kernel.stage(request);
            return kernel.name();
        } catch (KernelMountException e) {
            if (!mountBackend.equals("auto") || !e.isNotAvailableOnNode()) {
                throw e.toCsiException();
            }
            SidecarBackend helper = requireSidecar("the kernel cannot mount NFS here (" + e.failure().summary() + ")");
            if (fallbacksLogged.add(request.volumeId())) {
                LOG.info(LogLine.event("fallback").with("volume_id", request.volumeId()).with("backend", "sidecar")
                        .with("reason", e.failure().summary()).with("detail", e.output().strip()).toString());
            }
            helper.stage(request);
            return "sidecar";
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
        return sidecar.orElseThrow(() -> CsiException.failedPrecondition(why + ", but this node plugin has no"
                + " mount helper: start it and pass --mount-helper-endpoint"));
    }
}
