package io.gatewaycsi.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.gatewaycsi.node.MountTable;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What doctor says about the kernel NFS client, from mount tables as the kernel VM (test/kernel: Debian's 6.1
 * kernel, the test gateway at 10.213.16.2:/export) showed them.
 */
class KernelBehaviourTest {

    /** Volume kerr-share-1 (soft,timeo=10,retrans=1), staged and published, as in test/kernel/run. */
    private static final MountTable ONE_SOFT_VOLUME = MountTable.parse("""
            1 0 254:1 / / rw,relatime shared:1 - ext4 /dev/vda rw
            601 1 0:52 / /run/gwcsi/volumes/kerr-share-1/staging rw,relatime shared:300 - nfs4 10.213.16.2:/export/kerr-share-1 rw,vers=4.2,rsize=1048576,wsize=1048576,namlen=255,soft,proto=tcp,timeo=10,retrans=1,sec=sys,clientaddr=172.31.213.2,local_lock=none,addr=10.213.16.2
            602 1 0:52 / /run/gwcsi/volumes/kerr-share-1/target rw,relatime shared:300 - nfs4 10.213.16.2:/export/kerr-share-1 rw,vers=4.2,rsize=1048576,wsize=1048576,namlen=255,soft,proto=tcp,timeo=10,retrans=1,sec=sys,clientaddr=172.31.213.2,local_lock=none,addr=10.213.16.2
            """);

    private static final List<String> ASKED_SOFT_30_3_NCONNECT_4 =
            List.of("vers=4.2", "soft", "timeo=30", "retrans=3", "nconnect=4");

    @Test
    void aNewVolumeOfAMountedExportIsToldItGetsTheFirstMountsTimeoRetransAndNconnect() {
        Doctor.Check check = KernelBehaviour.sharing("10.213.16.2", "/export", ASKED_SOFT_30_3_NCONNECT_4,
                ONE_SOFT_VOLUME);
        assertThat(check.ok()).isTrue();
        assertThat(check.warning()).isTrue();
        assertThat(check.detail()).contains("1 kernel NFS superblock(s) of 10.213.16.2 (NFS vers=4.2)",
                "/run/gwcsi/volumes/kerr-share-1/staging (vers=4.2,soft,timeo=10,retrans=1,nconnect=1)",
                "nconnect=4 asked, but the gateway's NFS client here has nconnect=1",
                "would share the superblock of /run/gwcsi/volumes/kerr-share-1/staging and get timeo=10,retrans=1,"
                        + " not the asked timeo=30,retrans=3");
        assertThat(check.fix()).contains("nosharecache", "no volume of the gateway is mounted");
    }

    @Test
    void withNosharecacheOnlyTheClientsNconnectIsShared() {
        List<String> asked = List.of("vers=4.2", "soft", "timeo=30", "retrans=3", "nconnect=4", "nosharecache");
        Doctor.Check check = KernelBehaviour.sharing("10.213.16.2", "/export", asked, ONE_SOFT_VOLUME);
        assertThat(check.detail()).contains("nconnect=4 asked").doesNotContain("would share the superblock");
    }

    @Test
    void theSameOptionsAreGotAsAsked() {
        Doctor.Check check = KernelBehaviour.sharing("10.213.16.2", "/export",
                List.of("vers=4.2", "soft", "timeo=10", "retrans=1"), ONE_SOFT_VOLUME);
        assertThat(check.warning()).isFalse();
        assertThat(check.detail()).endsWith("a new volume with these options gets them as asked");
    }

    @Test
    void hardAfterSoftIsAlsoTheFirstMounts() {
        Doctor.Check check = KernelBehaviour.sharing("10.213.16.2", "/export",
                List.of("vers=4", "hard", "timeo=600", "retrans=2"), ONE_SOFT_VOLUME);
        assertThat(check.detail()).contains("and get timeo=10,retrans=1,soft, not the asked timeo=600,retrans=2,hard");
    }

    @Test
    void otherGatewaysVersionsAndFuseMountsDoNotCount() {
        MountTable others = MountTable.parse("""
                1 0 254:1 / / rw,relatime shared:1 - ext4 /dev/vda rw
                601 1 0:52 / /a rw,relatime - nfs4 10.0.0.9:/export/v rw,vers=4.2,soft,timeo=10,retrans=1,addr=10.0.0.9
                602 1 0:53 / /b rw,relatime - nfs 10.213.16.2:/export/v rw,vers=3,hard,timeo=600,retrans=2,addr=10.213.16.2
                603 1 0:54 / /c rw,nosuid,nodev - fuse.gateway-csi 10.213.16.2:/export/w rw,user_id=0,group_id=0
                """);
        Doctor.Check check = KernelBehaviour.sharing("10.213.16.2", "/export", ASKED_SOFT_30_3_NCONNECT_4, others);
        assertThat(check.warning()).isFalse();
        assertThat(check.detail()).startsWith("no kernel NFS mount of 10.213.16.2 (NFS vers=4.2) on this node yet")
                .contains("nosharecache");
    }

    @Test
    void softOnNfs4SaysTheFirstFailureWaitsForTheLeaseAndHowToShortenIt() {
        Doctor.Check check = KernelBehaviour.softTiming(List.of("vers=4.1", "soft", "timeo=10", "retrans=1")).orElseThrow();
        assertThat(check.warning()).isTrue();
        assertThat(check.detail()).contains("lease", "60-88 s", "22 s", "timeo=10,retrans=1: about 2 s");
        assertThat(check.fix()).contains("nfsVersion 3");
    }

    @Test
    void softOnNfs3FailsAfterTimeoTimesRetransPlusOneFromTheFirstCall() {
        Doctor.Check check = KernelBehaviour.softTiming(List.of("vers=3", "soft", "timeo=50", "retrans=2")).orElseThrow();
        assertThat(check.warning()).isFalse();
        assertThat(check.detail()).contains("the first one after the gateway falls silent too", "about 15 s");
    }

    @Test
    void hardMountsHaveNoSoftTiming() {
        assertThat(KernelBehaviour.softTiming(List.of("vers=4.1", "hard", "timeo=600", "retrans=2"))).isEmpty();
    }
}
