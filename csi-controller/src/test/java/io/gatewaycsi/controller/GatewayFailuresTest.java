package io.gatewaycsi.controller;

import static org.assertj.core.api.Assertions.assertThat;

import io.gatewaycsi.common.CsiException;
import io.gatewaycsi.nfs.Errno;
import io.gatewaycsi.nfs.NfsException;
import io.grpc.Status;
import org.junit.jupiter.api.Test;

class GatewayFailuresTest {

    private static final NfsException REFUSED = new NfsException("mount", "/share", "nfs://gw/share?version=4",
            Errno.EPERM, "NFS4ERR_PERM", false);

    /** A gateway exporting with `secure` refuses a controller that connects from port 1024 or above. */
    @Test
    void aRefusalOfAControllerWithoutReservedPortsNamesTheSecureExportAndTheChartValue() {
        CsiException e = GatewayFailures.of(REFUSED, "creating volume directory gw:/share/pvc-1", false);
        assertThat(e.code()).isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(e.getMessage()).contains("creating volume directory gw:/share/pvc-1 failed", "unreserved source port",
                "CAP_NET_BIND_SERVICE", "`secure`", "controller.reservedSourcePort=true", "`insecure`", "no_root_squash");
    }

    @Test
    void aRefusalOfAControllerOnAReservedPortIsAboutCredentialsOnly() {
        CsiException e = GatewayFailures.of(REFUSED, "creating volume directory gw:/share/pvc-1", true);
        assertThat(e.code()).isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(e.getMessage()).contains("credentials", "no_root_squash").doesNotContain("secure");
    }

    /** nfs-ganesha with PrivilegedPort answers an unreserved port as if the share did not exist. */
    @Test
    void aShareNotFoundByAControllerWithoutReservedPortsNamesThePortToo() {
        NfsException hidden = new NfsException("mount", "/export", "nfs://gw/export?version=4", Errno.ENOENT,
                "NFS4: (path /export) failed with NFS4ERR_NOENT(-2)", false);
        CsiException e = GatewayFailures.of(hidden, "creating volume directory gw:/export/pvc-1", false);
        assertThat(e.code()).isEqualTo(Status.Code.NOT_FOUND);
        assertThat(e.getMessage()).contains("check the share", "unreserved source port", "PrivilegedPort",
                "controller.reservedSourcePort=true");
        assertThat(GatewayFailures.of(hidden, "creating volume directory gw:/export/pvc-1", true).getMessage())
                .doesNotContain("reserved");
        NfsException missingDir = new NfsException("mkdir", "/export/a/pvc-1", "nfs://gw/export?version=4",
                Errno.ENOENT, null, false);
        assertThat(GatewayFailures.of(missingDir, "creating volume directory gw:/export/a/pvc-1", false).getMessage())
                .doesNotContain("reserved");
    }
}
