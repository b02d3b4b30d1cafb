package io.gatewaycsi.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The exact argv KernelBackend runs for a request (no shell: one element per argument). */
class KernelBackendCommandTest {

    private static final Path STAGING = Path.of("/var/lib/kubelet/plugins/kubernetes.io/csi/nfs.gateway-csi.io/ab/globalmount");

    private final KernelBackend backend =
            new KernelBackend(new Teardown(new Mounter()));

    private static NfsMountRequest request(String server, String subDir, List<String> options, boolean readOnly) {
        return new NfsMountRequest(server, "/export", subDir, options, STAGING, readOnly);
    }

    @Test
    void nfsVersion41MountsAsNfs4() {
        assertThat(backend.command(request("10.0.0.2", "vol", List.of("vers=4.1", "hard", "timeo=600", "nconnect=8"), false)))
                .containsExactly("setsid", "-w", "mount", "-t", "nfs4", "-o", "vers=4.1,hard,timeo=600,nconnect=8,retry=0",
                        "10.0.0.2:/export/vol", STAGING.toString());
    }

    @Test
    void nfsVersion3MountsAsNfs() {
        assertThat(backend.command(request("gateway-us-east-1.trainingpipes.com", "vol", List.of("vers=3", "nolock"), false)))
                .containsExactly("setsid", "-w", "mount", "-t", "nfs", "-o", "vers=3,nolock,retry=0",
                        "gateway-us-east-1.trainingpipes.com:/export/vol", STAGING.toString());
        assertThat(request("gw", "", List.of("nfsvers=3"), false).fsType()).isEqualTo("nfs");
        assertThat(request("gw", "", List.of("vers=4"), false).fsType()).isEqualTo("nfs4");
        assertThat(request("gw", "", List.of("hard"), false).fsType()).isEqualTo("nfs");
    }

    @Test
    void anIpv6ServerIsBracketed() {
        assertThat(backend.command(request("fd00::2", "vol", List.of("vers=4.2"), false)))
                .containsExactly("setsid", "-w", "mount", "-t", "nfs4", "-o", "vers=4.2,retry=0",
                        "[fd00::2]:/export/vol", STAGING.toString());
        assertThat(request("[fd00::2]", "", List.of(), false).source()).isEqualTo("[fd00::2]:/export");
    }

    @Test
    void readOnlyAddsRoAndDropsRw() {
        assertThat(backend.command(request("10.0.0.2", "", List.of("vers=4.1", "rw", "hard"), true)))
                .containsExactly("setsid", "-w", "mount", "-t", "nfs4", "-o", "vers=4.1,hard,ro,retry=0",
                        "10.0.0.2:/export", STAGING.toString());
        assertThat(request("10.0.0.2", "", List.of("ro"), true).effectiveOptions()).containsExactly("ro");
    }

    @Test
    void foregroundMountsAreNotRetriedByMountNfsUnlessAsked() {
        assertThat(backend.command(request("10.0.0.2", "a/b", List.of(), false)))
                .containsExactly("setsid", "-w", "mount", "-t", "nfs", "-o", "retry=0", "10.0.0.2:/export/a/b",
                        STAGING.toString());
        assertThat(backend.command(request("10.0.0.2", "", List.of("vers=4.1", "retry=1"), false)))
                .contains("vers=4.1,retry=1");
    }

    @Test
    void theMountCommandCanBeReplaced() {
        KernelBackend fake = new KernelBackend("/opt/test/fake-mount", Duration.ofSeconds(1), new Teardown(new Mounter()));

        assertThat(fake.command(request("10.0.0.2", "", List.of("vers=4.1"), false)))
                .startsWith("setsid", "-w", "/opt/test/fake-mount", "-t", "nfs4");
    }

    @Test
    void sourceHasNoDoubledOrTrailingSlash() {
        assertThat(new NfsMountRequest("gw", "/", "vol", List.of(), STAGING, false).source()).isEqualTo("gw:/vol");
        assertThat(new NfsMountRequest("gw", "/", "", List.of(), STAGING, false).source()).isEqualTo("gw:/");
        assertThat(new NfsMountRequest("gw", "/my-bucket/", "vol/", List.of(), STAGING, false).source())
                .isEqualTo("gw:/my-bucket/vol");
    }

    @Test
    void noFieldCanSmuggleAnArgumentOrAnOption() {
        assertThatThrownBy(() -> request("-oremount", "", List.of(), false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("server");
        assertThatThrownBy(() -> request("gw x", "", List.of(), false))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> request("gw", "", List.of("vers=4.1,exec"), false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("without commas");
        assertThatThrownBy(() -> request("gw", "", List.of(""), false))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> request("gw", "../../etc", List.of(), false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("..");
        assertThatThrownBy(() -> new NfsMountRequest("gw", "export", "", List.of(), STAGING, false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("absolute");
        assertThatThrownBy(() -> new NfsMountRequest("gw", "/export", "", List.of(), Path.of("rel"), false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("staging path");
    }
}
