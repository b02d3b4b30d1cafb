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
        assertThat(s.effectiveOptions()).containsExactly("vers=4.0", "hard", "timeo=600", "retrans=2", "rw",
                "acregmin=3", "acregmax=60", "acdirmin=30", "acdirmax=60", "lookupcache=all");
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
        assertThat(s.effectiveOptions()).startsWith("vers=4.0", "soft", "timeo=10", "retrans=1", "rw");
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
        assertThat(s.effectiveOptions()).contains("actimeo=600", "lookupcache=positive", "nocto", "xprtsec=none",
                "noexec", "port=2049").doesNotContain("nconnect=8", "rsize=1048576", "noresvport");
        assertThat(s.ignoredOptions()).containsExactly("nconnect=8", "rsize=1048576", "noresvport");
        assertThat(s.attributeCache().attrTimeoutSeconds()).isEqualTo(600);
        assertThat(s.keepCacheAcrossOpens()).isTrue();
        assertThat(s.kernelFlags()).containsExactly("noexec");
        assertThat(s.port()).isEqualTo(2049);
        assertThat(MountSemantics.parse(List.of("actimeo=600", "noac"), false).attributeCache().attrTimeoutSeconds())
                .isZero();
    }

    /** nfs(5)'s defaults when nothing is said: acregmin 3, acdirmin 30, lookupcache=all. */
    @Test
    void attributeCachingFollowsNfs5() {
        AttributeCache none = MountSemantics.parse(List.of(), false).attributeCache();
        assertThat(none.fuseOptions()).containsExactly("attr_timeout=3", "entry_timeout=3", "negative_timeout=30");
        assertThat(MountSemantics.parse(List.of(), false).effectiveOptions())
                .contains("acregmin=3", "acregmax=60", "acdirmin=30", "acdirmax=60", "lookupcache=all");

        AttributeCache readOnlyCache = MountSemantics.parse(List.of("vers=4.1,hard,timeo=600,retrans=2,nocto,actimeo=600"),
                true).attributeCache();
        assertThat(readOnlyCache.fuseOptions())
                .containsExactly("attr_timeout=600", "entry_timeout=600", "negative_timeout=600");

        assertThat(MountSemantics.parse(List.of("acregmin=5", "acdirmin=7"), false).attributeCache().fuseOptions())
                .containsExactly("attr_timeout=5", "entry_timeout=5", "negative_timeout=7");
        assertThat(MountSemantics.parse(List.of("actimeo=9", "lookupcache=pos"), false).attributeCache().fuseOptions())
                .containsExactly("attr_timeout=9", "entry_timeout=9", "negative_timeout=0");
        assertThat(MountSemantics.parse(List.of("actimeo=9", "lookupcache=none"), false).attributeCache().fuseOptions())
                .containsExactly("attr_timeout=9", "entry_timeout=0", "negative_timeout=0");
        MountSemantics noac = MountSemantics.parse(List.of("actimeo=600", "noac"), false);
        assertThat(noac.attributeCache().fuseOptions())
                .containsExactly("attr_timeout=0", "entry_timeout=0", "negative_timeout=0");
        assertThat(noac.effectiveOptions()).contains("noac").doesNotContain("actimeo=600");
        assertThat(MountSemantics.parse(List.of("noac", "actimeo=4"), false).attributeCache().attrTimeoutSeconds())
                .as("a later actimeo turns caching back on").isEqualTo(4);
        assertThatThrownBy(() -> MountSemantics.parse(List.of("lookupcache=some"), false))
                .hasMessageContaining("all, positive (pos), none");
        assertThatThrownBy(() -> MountSemantics.parse(List.of("acregmin=-1"), false))
                .hasMessageContaining("acregmin=-1");
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
                .contains("max_read=1048576", ",ro,", "nosuid", "attr_timeout=30", "entry_timeout=30", "negative_timeout=30",
                        "auto_cache");
    }
}
