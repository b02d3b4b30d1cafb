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
}
