package io.gatewaycsi.common.volume;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class MountOptionsTest {

    private static String options(String parameters, String... mountFlags) {
        Map<String, String> raw = new HashMap<>(Map.of("server", "gw", "share", "/bucket"));
        if (!parameters.isEmpty()) {
            for (String pair : parameters.split(" ")) {
                raw.put(pair.substring(0, pair.indexOf('=')), pair.substring(pair.indexOf('=') + 1));
            }
        }
        return MountOptions.resolve(VolumeParameters.parse(raw, VolumeParameters.Source.VOLUME_CONTEXT),
                List.of(mountFlags), Set.of("clientaddr")).toString();
    }

    @ParameterizedTest(name = "{0} → {1}")
    @CsvSource(delimiter = ';', value = {
        "'';vers=4.1,hard,timeo=600,retrans=2",
        "nfsVersion=3;vers=3,hard,timeo=600,retrans=2",
        "nfsVersion=4;vers=4,hard,timeo=600,retrans=2",
        "nfsVersion=4.0;vers=4.0,hard,timeo=600,retrans=2",
        "nfsVersion=4.2;vers=4.2,hard,timeo=600,retrans=2",
        "mountMode=soft timeo=50 retrans=3;vers=4.1,soft,timeo=50,retrans=3",
        "nconnect=8;vers=4.1,hard,timeo=600,retrans=2,nconnect=8",
        "rsize=1048576 wsize=524288;vers=4.1,hard,timeo=600,retrans=2,rsize=1048576,wsize=524288",
        "readOnlyCache=true;vers=4.1,hard,timeo=600,retrans=2,nocto,actimeo=600",
        "readOnlyCache=false;vers=4.1,hard,timeo=600,retrans=2",
        "encryptInTransit=true;vers=4.1,hard,timeo=600,retrans=2,xprtsec=tls",
        "mountBackend=sidecar onDelete=retain mountPermissions=0777;vers=4.1,hard,timeo=600,retrans=2",
        "mountOptions=noresvport,lookupcache=pos;vers=4.1,hard,timeo=600,retrans=2,noresvport,lookupcache=pos",
    })
    void eachParameterTranslatesToItsNfsOptions(String parameters, String expected) {
        assertThat(options(parameters)).isEqualTo(expected);
    }

    @Test
    void mountFlagsFollowTheParametersInTheOrderGiven() {
        assertThat(options("nconnect=4", "noresvport", "sec=sys")).isEqualTo(
                "vers=4.1,hard,timeo=600,retrans=2,nconnect=4,noresvport,sec=sys");
    }

    @Test
    void aMountFlagReplacesADefaultInPlace() {
        assertThat(options("", "soft", "timeo=100")).isEqualTo("vers=4.1,soft,timeo=100,retrans=2");
        assertThat(options("", "nfsvers=3")).isEqualTo("vers=4.1,hard,timeo=600,retrans=2".replace("vers=4.1", "nfsvers=3"));
    }

    @Test
    void anEntryMayHoldSeveralCommaSeparatedOptions() {
        assertThat(options("", "nconnect=8,noresvport")).endsWith(",nconnect=8,noresvport");
    }

    @Test
    void identicalOptionsAreKeptOnce() {
        assertThat(options("mountMode=soft", "soft", "noresvport", "noresvport"))
                .isEqualTo("vers=4.1,soft,timeo=600,retrans=2,noresvport");
        assertThat(options("nfsVersion=4.1", "nfsvers=4.1")).startsWith("vers=4.1,hard");
    }

    @Test
    void aFlagContradictingAnExplicitParameterIsAConflict() {
        assertThatThrownBy(() -> options("mountMode=hard", "soft"))
                .hasMessage("mount option `soft` conflicts with parameter `mountMode=hard`; remove one of them");
        assertThatThrownBy(() -> options("nfsVersion=4.1", "vers=3"))
                .hasMessage("mount option `vers=3` conflicts with parameter `nfsVersion=4.1`; remove one of them");
        assertThatThrownBy(() -> options("readOnlyCache=true", "cto"))
                .hasMessageContaining("conflicts with parameter `readOnlyCache=true`");
    }

    @Test
    void twoFlagsOfOneGroupAreAConflict() {
        assertThatThrownBy(() -> options("", "soft", "hard"))
                .hasMessage("mount options `soft` and `hard` conflict; keep one of them");
        assertThatThrownBy(() -> options("", "ac", "noac")).hasMessageContaining("conflict");
    }

    @Test
    void unknownOptionsNeedTheOperatorsAllowList() {
        assertThatThrownBy(() -> options("", "fancy")).hasMessageContaining(
                "mount option `fancy` is not an nfs(5) option gateway-csi knows; the operator can allow it"
                        + " with --allowed-mount-options");
        assertThat(options("", "clientaddr=10.0.0.5")).endsWith(",clientaddr=10.0.0.5");
    }

    @Test
    void valuesAreCheckedAgainstTheOptionsRule() {
        assertThatThrownBy(() -> options("", "timeo=0")).hasMessage("mount option `timeo=0` has an invalid value");
        assertThatThrownBy(() -> options("", "hard=1")).hasMessageContaining("takes no value");
        assertThatThrownBy(() -> options("", "nconnect")).hasMessageContaining("needs a value");
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"sec=sys x", "port=1=2", "proto=tcp\nvers=3",
        "lookupcache=all;x", "nconnect=8\u0000", "", ",", "-o", "sec=sys$(reboot)", "timeo=60 0"})
    void noValueCanSmuggleAnotherOptionOrArgument(String flag) {
        assertThatThrownBy(() -> options("", flag)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void readOnlyAddsRoAndReplacesRw() {
        Map<String, String> raw = Map.of("server", "gw", "share", "/b");
        MountOptions options = MountOptions.resolve(VolumeParameters.parse(raw, VolumeParameters.Source.VOLUME_CONTEXT),
                List.of("rw"), Set.of()).readOnly();
        assertThat(options.toString()).isEqualTo("vers=4.1,hard,timeo=600,retrans=2,ro");
    }

    @Property(tries = 500)
    void whateverTheFlagsTheResultIsAListOfWellFormedOptions(@ForAll String flag) {
        try {
            String resolved = options("", flag);
            for (String option : resolved.split(",")) {
                assertThat(option).matches("[a-z][a-z0-9_]*(=[A-Za-z0-9._:/+-]+)?");
            }
        } catch (IllegalArgumentException expected) {
            // refused input is fine; what matters is that nothing malformed gets through
        }
    }
}
