package io.gatewaycsi.node;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Asked options against mount table lines of the shapes Debian's 6.1 kernel wrote in test/kernel's VM. */
class AppliedOptionsTest {

    private static MountEntry line(String fsType, String mountOptions, String superOptions) {
        return MountTable.parse("1200 22 0:56 / /staging " + mountOptions + " shared:612 - " + fsType
                + " 10.213.40.2:/export/vol " + superOptions + "\n").entries().getFirst();
    }

    private static final MountEntry FIRST_MOUNT_OF_THE_EXPORT = line("nfs4", "rw,relatime",
            "rw,vers=4.2,rsize=1048576,wsize=1048576,namlen=255,soft,proto=tcp,timeo=10,retrans=1,sec=sys,"
                    + "clientaddr=172.31.213.2,local_lock=none,addr=10.213.40.2");

    @Test
    void whatTheKernelAppliedAsAskedIsNoDifference() {
        assertThat(AppliedOptions.differences(List.of("vers=4", "soft", "timeo=10", "retrans=1", "rsize=1048576"),
                FIRST_MOUNT_OF_THE_EXPORT)).isEmpty();
    }

    @Test
    void aSharedSuperblocksTimeoRetransAndNconnectAreReported() {
        assertThat(AppliedOptions.differences(List.of("vers=4.2", "soft", "timeo=30", "retrans=3", "nconnect=8"),
                FIRST_MOUNT_OF_THE_EXPORT)).containsExactly("timeo=30 asked, timeo=10 applied",
                "retrans=3 asked, retrans=1 applied", "nconnect=8 asked, nconnect=1 applied");
        assertThat(AppliedOptions.differences(List.of("hard"), FIRST_MOUNT_OF_THE_EXPORT))
                .containsExactly("hard asked, soft applied");
    }

    @Test
    void roundedSizesAndVersionsAreReported() {
        MountEntry rounded = line("nfs4", "rw,relatime", "rw,vers=4.1,rsize=2048,wsize=4096,hard,timeo=600,retrans=2");
        assertThat(AppliedOptions.differences(List.of("vers=4.2", "rsize=3072", "wsize=5120"), rounded))
                .containsExactly("vers=4.2 asked, vers=4.1 applied", "rsize=3072 asked, rsize=2048 applied",
                        "wsize=5120 asked, wsize=4096 applied");
    }

    @Test
    void optionsTheKernelIgnoresOnNfs4AreReported() {
        assertThat(AppliedOptions.differences(List.of("local_lock=all", "nolock", "intr"), FIRST_MOUNT_OF_THE_EXPORT))
                .containsExactly("local_lock=all asked, ignored on NFSv4 (local_lock=none applied)",
                        "nolock asked, ignored on NFSv4 (locking is part of the protocol)",
                        "intr asked, ignored by the kernel (nfs(5): deprecated)");
        MountEntry v3 = line("nfs", "rw,relatime", "rw,vers=3,hard,nolock,proto=tcp,timeo=600,retrans=2,local_lock=all");
        assertThat(AppliedOptions.differences(List.of("vers=3", "nolock", "local_lock=all"), v3)).isEmpty();
    }

    @Test
    void actimeoIsComparedWithTheFourAttributeTimes() {
        MountEntry cached = line("nfs4", "rw,relatime",
                "rw,vers=4.2,hard,acregmin=600,acregmax=600,acdirmin=600,acdirmax=600,timeo=600");
        assertThat(AppliedOptions.differences(List.of("actimeo=600", "nocto"), cached)).isEmpty();
        assertThat(AppliedOptions.differences(List.of("actimeo=30"), cached))
                .containsExactly("actimeo=30 asked, acregmin=600 applied");
    }
}
