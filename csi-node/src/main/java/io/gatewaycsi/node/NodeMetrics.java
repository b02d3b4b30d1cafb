package io.gatewaycsi.node;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * The node plugin's metrics (labels from fixed sets only, never a volume ID or path):
 * <ul>
 *   <li>{@code gatewaycsi_node_staging_mounts{backend}} gauge: staging mounts this node recorded that are in the
 *   mount table now, by the backend that owns them ({@code kernel}, {@code sidecar}), read at scrape time;</li>
 *   <li>{@code gatewaycsi_node_stages_total{backend}}: staging mounts made by NodeStageVolume;</li>
 *   <li>{@code gatewaycsi_node_unstages_total{backend}}: staging mounts removed by NodeUnstageVolume;</li>
 *   <li>{@code gatewaycsi_node_fallbacks_total{reason}}: NodeStageVolume falling back to the mount helper, by
 *   {@link FallbackReason#label()};</li>
 *   <li>{@code gatewaycsi_node_mount_failures_total{backend, reason}}: failed staging mounts, by backend and
 *   classified reason ({@link MountFailure} in lower case for the kernel; the mount helper's status code in
 *   lower case for the sidecar);</li>
 *   <li>{@code gatewaycsi_node_repairs_total{backend, cause, result}}: broken staging mounts remounted (cause:
 *   the errno that showed it broken, {@code enotconn}, {@code estale}, {@code eio}, or {@code error}; result
 *   {@code repaired} or {@code failed});</li>
 *   <li>{@code gatewaycsi_node_unmounts_total{mount, step}}: unmounts of staging mounts and published targets
 *   ({@code mount}: {@code staging}, {@code target}) by the most escalated {@link TeardownStep}
 *   ({@code normal}, {@code forced}, {@code lazy}; {@code not_mounted} when there was nothing to unmount).</li>
 * </ul>
 * Known label values are initialized to 0, so rates work from the first scrape.
 */
public final class NodeMetrics {

    private static final Logger LOG = Logger.getLogger(NodeMetrics.class.getName());
    private static final String[] BACKENDS = {"kernel", "sidecar"};

    private final Counter stages;
    private final Counter unstages;
    private final Counter fallbacks;
    private final Counter mountFailures;
    private final Counter repairs;
    private final Counter unmounts;
    private volatile Supplier<Map<String, Integer>> stagingMounts = Map::of;

    private NodeMetrics(PrometheusRegistry registry) {
        stages = Counter.builder().name("gatewaycsi_node_stages_total")
                .help("Staging mounts made by NodeStageVolume, by mount backend (kernel, sidecar).")
                .labelNames("backend").register(registry);
        unstages = Counter.builder().name("gatewaycsi_node_unstages_total")
                .help("Staging mounts removed by NodeUnstageVolume, by mount backend.")
                .labelNames("backend").register(registry);
        fallbacks = Counter.builder().name("gatewaycsi_node_fallbacks_total")
                .help("Staging mounts that fell back from the kernel to the mount helper, by reason.")
                .labelNames("reason").register(registry);
        mountFailures = Counter.builder().name("gatewaycsi_node_mount_failures_total")
                .help("Failed staging mounts, by mount backend and classified reason.")
                .labelNames("backend", "reason").register(registry);
        repairs = Counter.builder().name("gatewaycsi_node_repairs_total")
                .help("Broken or stale staging mounts remounted (targets re-bound), by backend, cause and result.")
                .labelNames("backend", "cause", "result").register(registry);
        unmounts = Counter.builder().name("gatewaycsi_node_unmounts_total")
                .help("Unmounts of staging mounts and published targets by the most escalated step needed"
                        + " (normal, forced, lazy, not_mounted).")
                .labelNames("mount", "step").register(registry);
        GaugeWithCallback.builder().name("gatewaycsi_node_staging_mounts")
                .help("Staging mounts of this node in the mount table now, by mount backend.")
                .labelNames("backend")
                .callback(callback -> {
                    Map<String, Integer> counts;
                    try {
                        counts = stagingMounts.get();
                    } catch (RuntimeException e) {
                        LOG.fine("staging mount gauge: " + e);
                        return;
                    }
                    for (String backend : BACKENDS) {
                        callback.call(counts.getOrDefault(backend, 0), backend);
                    }
                })
                .register(registry);
        for (String backend : BACKENDS) {
            stages.labelValues(backend);
            unstages.labelValues(backend);
        }
        for (FallbackReason reason : FallbackReason.values()) {
            fallbacks.labelValues(reason.label());
        }
        for (MountFailure failure : MountFailure.values()) {
            mountFailures.labelValues("kernel", failure.name().toLowerCase(Locale.ROOT));
        }
        for (String backend : BACKENDS) {
            for (String cause : new String[] {"enotconn", "estale", "eio", "error"}) {
                repairs.labelValues(backend, cause, "repaired");
                repairs.labelValues(backend, cause, "failed");
            }
        }
        for (String mount : new String[] {"staging", "target"}) {
            for (TeardownStep step : TeardownStep.values()) {
                unmounts.labelValues(mount, step.label());
            }
        }
    }

    /** The node's metrics, registered in {@code registry}. */
    public static NodeMetrics register(PrometheusRegistry registry) {
        return new NodeMetrics(registry);
    }

    /** Metrics in no registry (metrics off, tests). */
    public static NodeMetrics unregistered() {
        return new NodeMetrics(new PrometheusRegistry());
    }

    /** Where the staging mount gauge reads its counts by backend. */
    void countStagingMountsWith(Supplier<Map<String, Integer>> counts) {
        stagingMounts = counts;
    }

    void staged(String backend) {
        stages.labelValues(backend).inc();
    }

    void unstaged(String backend, TeardownStep step) {
        unstages.labelValues(backend).inc();
        unmounted("staging", step);
    }

    void fellBack(FallbackReason reason) {
        fallbacks.labelValues(reason.label()).inc();
    }

    void mountFailed(String backend, String reason) {
        mountFailures.labelValues(backend, reason.toLowerCase(Locale.ROOT)).inc();
    }

    void repaired(String backend, String cause, boolean ok) {
        repairs.labelValues(backend, cause, ok ? "repaired" : "failed").inc();
    }

    void unmounted(String mount, TeardownStep step) {
        unmounts.labelValues(mount, step.label()).inc();
    }
}
