package io.gatewaycsi.cli;

import io.gatewaycsi.mounthelper.HelperMetrics;
import io.gatewaycsi.mounthelper.MountHelperService;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.gatewaycsi.nfs.NfsClient;
import java.nio.file.Path;

/** What the mount helper's roles share: its default endpoint and its service. */
final class MountHelperOptions {

    /** Where the mount helper listens unless told otherwise; the node plugin's default too. */
    static final String DEFAULT_ENDPOINT = "unix:///run/gateway-csi/mount-helper.sock";

    private MountHelperOptions() {
    }

    /**
     * A mount helper over libnfs and /dev/fuse, its metrics in {@code registry}; the caller closes it at
     * shutdown (it unmounts everything).
     */
    static MountHelperService service(PrometheusRegistry registry) {
        return new MountHelperService(Path.of("/dev/fuse"), NfsClient.libnfs(), MountHelperService.DEFAULT_LIBFUSE3,
                HelperMetrics.register(registry));
    }
}
