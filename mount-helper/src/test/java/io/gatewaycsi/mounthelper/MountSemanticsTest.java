package io.gatewaycsi.mounthelper;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gatewaycsi.nfs.NfsVersion;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class MountSemanticsTest {

    @Test
    void defaultsAreThoseOfNfs5OverTcp() {
        MountSemantics s = MountSemantics.parse(List.of(), false);
        assertThat(s.version()).isEqualTo(NfsVersion.V4);
        assertThat(s.recovery()).isEqualTo(MountSemantics.Recovery.HARD);
        assertThat(s.attemptTimeout()).isEqualTo(Duration.ofSeconds(60));
        assertThat(s.effectiveOptions()).containsExactly("vers=4.0", "hard", "timeo=600", "retrans=2", "rw");
    }

    @Test
    void versionsMapToWhatLibnfsSpeaks() {
        for (String v : List.of("4", "4.0", "4.1", "4.2")) {
            assertThat(MountSemantics.parse(List.of("vers=" + v), false).version()).isEqualTo(NfsVersion.V4);
        }
        MountSemantics asked41 = MountSemantics.parse(List.of("vers=4.1"), false);
        assertThat(asked41.effectiveOptions()).contains("vers=4.0").doesNotContain("vers=4.1");
        assertThat(asked41.ignoredOptions()).as("the downgrade is said").containsExactly("vers=4.1");
        assertThat(MountSemantics.parse(List.of("vers=4"), false).ignoredOptions()).isEmpty();
        MountSemantics v3 = MountSemantics.parse(List.of("nfsvers=3"), false);
        assertThat(v3.version()).isEqualTo(NfsVersion.V3);
        assertThat(v3.effectiveOptions()).contains("vers=3");
        assertThatThrownBy(() -> MountSemantics.parse(List.of("vers=2"), false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("vers=2");
    }

    @Test
    void softGivesUpAfterTimeoTimesRetransPlusOne() {
        MountSemantics s = MountSemantics.parse(List.of("soft,timeo=10", "retrans=1"), false);
        assertThat(s.isSoft()).isTrue();
        assertThat(s.softDeadline()).isEqualTo(Duration.ofSeconds(2));
        assertThat(s.effectiveOptions()).containsExactly("vers=4.0", "soft", "timeo=10", "retrans=1", "rw");
        assertThat(MountSemantics.parse(List.of("soft", "hard"), false).recovery())
                .isEqualTo(MountSemantics.Recovery.HARD);
        assertThat(MountSemantics.parse(List.of("softerr"), false).recovery())
                .isEqualTo(MountSemantics.Recovery.SOFTERR);
    }

    @Test
    void readOnlyComesFromTheRequestOrTheOptions() {
        assertThat(MountSemantics.parse(List.of(), true).readOnly()).isTrue();
        assertThat(MountSemantics.parse(List.of("ro"), false).readOnly()).isTrue();
        assertThat(MountSemantics.parse(List.of("ro", "rw"), false).readOnly()).isFalse();
        assertThat(MountSemantics.parse(List.of("rw"), true).effectiveOptions()).contains("ro");
    }

    @Test
    void onlyHonouredOptionsAreReportedAsEffective() {
        MountSemantics s = MountSemantics.parse(List.of("nconnect=8", "rsize=1048576", "noresvport", "actimeo=600",
                "nocto", "lookupcache=positive", "xprtsec=none", "noexec", "port=2049"), false);
        assertThat(s.effectiveOptions()).contains("actimeo=600", "nocto", "xprtsec=none", "noexec", "port=2049")
                .doesNotContain("nconnect=8", "rsize=1048576", "noresvport", "lookupcache=positive");
        assertThat(s.ignoredOptions()).containsExactly("nconnect=8", "rsize=1048576", "noresvport",
                "lookupcache=positive");
        assertThat(s.cacheTimeoutSeconds()).isEqualTo(600);
        assertThat(s.keepCacheAcrossOpens()).isTrue();
        assertThat(s.kernelFlags()).containsExactly("noexec");
        assertThat(s.port()).isEqualTo(2049);
        assertThat(MountSemantics.parse(List.of("actimeo=600", "noac"), false).cacheTimeoutSeconds()).isZero();
    }

    @Test
    void optionsThatCannotBeHonouredAreRefusedNotDropped() {
        for (String bad : List.of("xprtsec=tls", "sec=krb5p", "proto=rdma", "timeo=0", "timeo=x", "retrans=-1",
                "hard=1", "vers")) {
            assertThatThrownBy(() -> MountSemantics.parse(List.of(bad), false)).as(bad)
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void fuseOptionsCarryTheSourceTheTypeAndTheHonouredOptions() {
        MountSemantics s = MountSemantics.parse(List.of("ro", "actimeo=30", "nocto", "nosuid"), false);
        String o = GatewayMount.fuseOptions("gw:/share/a,b", s);
        assertThat(o).startsWith("fsname=gw:/share/a\\,b,subtype=gateway-csi,allow_other,default_permissions,")
                .contains("max_read=1048576", ",ro,", "nosuid", "attr_timeout=30", "entry_timeout=30", "auto_cache");
    }
}
