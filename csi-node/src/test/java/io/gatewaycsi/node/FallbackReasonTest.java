package io.gatewaycsi.node;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class FallbackReasonTest {

    private static KernelMountException failed(int exit, String output) {
        return new KernelMountException(MountFailure.classify(exit, output), List.of("setsid", "-w", "mount"), exit,
                output, false, null);
    }

    @Test
    void theRealOutputOfThisMachineIsNoKernelNfs() {
        KernelMountException e = failed(32, "mount.nfs: No such device");
        assertThat(e.isNotAvailableOnNode()).isTrue();
        assertThat(FallbackReason.of(e)).isEqualTo(FallbackReason.NO_KERNEL_NFS);
        assertThat(FallbackReason.of(e).label()).isEqualTo("no_kernel_nfs");
    }

    @Test
    void otherCausesHaveTheirOwnLabels() {
        assertThat(FallbackReason.of(failed(32, "mount: /x: bad option; for several filesystems (e.g. nfs, cifs)"
                + " you might need a /sbin/mount.<type> helper program."))).isEqualTo(FallbackReason.NO_MOUNT_NFS);
        assertThat(FallbackReason.of(failed(127, ""))).isEqualTo(FallbackReason.NO_MOUNT_NFS);
        assertThat(FallbackReason.of(failed(32, "mount.nfs: Operation not permitted")))
                .isEqualTo(FallbackReason.NOT_PERMITTED);
        assertThat(FallbackReason.of(failed(32, "mount.nfs: rpc.statd is not running but is required for remote"
                + " locking."))).isEqualTo(FallbackReason.NO_RPC_STATD);
        assertThat(FallbackReason.ofLabel("not_permitted")).isEqualTo(FallbackReason.NOT_PERMITTED);
        assertThat(FallbackReason.ofLabel("bogus")).isEqualTo(FallbackReason.OTHER);
    }
}
