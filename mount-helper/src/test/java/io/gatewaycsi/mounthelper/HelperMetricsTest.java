package io.gatewaycsi.mounthelper;

import static org.assertj.core.api.Assertions.assertThat;

import io.gatewaycsi.nfs.Errno;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class HelperMetricsTest {

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final HelperMetrics metrics = HelperMetrics.register(registry);

    private String scrape() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrometheusTextFormatWriter.create().write(out, registry.scrape());
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void operationsBytesAndErrnosAreCountedWithBoundedLabels() throws Exception {
        metrics.operation(FuseOp.READ, System.nanoTime());
        metrics.operation(FuseOp.READ, System.nanoTime());
        metrics.read(4096);
        metrics.written(10);
        metrics.nfsError(Errno.ENOENT);
        metrics.nfsError(Errno.ENOENT);
        metrics.nfsError(Errno.ETIMEDOUT);
        metrics.nfsError(100_000);
        metrics.nfsError(-1);
        metrics.countMountsWith(() -> 3);
        String text = scrape();
        assertThat(text).contains("gatewaycsi_fuse_operation_duration_seconds_count{operation=\"read\"} 2")
                .contains("gatewaycsi_fuse_operation_duration_seconds_count{operation=\"getattr\"} 0")
                .contains("gatewaycsi_fuse_read_bytes_total 4096")
                .contains("gatewaycsi_fuse_write_bytes_total 10")
                .contains("gatewaycsi_nfs_errors_total{errno=\"ENOENT\"} 2")
                .contains("gatewaycsi_nfs_errors_total{errno=\"ETIMEDOUT\"} 1")
                .contains("gatewaycsi_nfs_errors_total{errno=\"other\"} 2")
                .contains("gatewaycsi_nfs_reconnects_total 0")
                .contains("gatewaycsi_helper_mounts 3");
    }
}
