package io.gatewaycsi.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.gatewaycsi.common.volume.MountOptions;
import io.gatewaycsi.common.volume.VolumeParameters;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The exact mount(8) command line the node runs for each row of the parameter table, from the volume context
 * CreateVolume writes (or a static PV's volumeAttributes) and the StorageClass mountOptions.
 */
class MountCommandLineTest {

    private static final Path STAGING = Path.of("/var/lib/kubelet/plugins/kubernetes.io/csi/nfs.gateway-csi.io/v/globalmount");
    private final KernelBackend backend = new KernelBackend(new Teardown(new Mounter()));

    private String commandLine(String parameters, String mountFlags, boolean readOnly) {
        Map<String, String> context = new HashMap<>(Map.of("server", "gateway-us-east-1.trainingpipes.com",
                "share", "/my-bucket", "subDir", "pvc-1"));
        for (String pair : parameters.isBlank() ? new String[0] : parameters.split(" ")) {
            context.put(pair.substring(0, pair.indexOf('=')), pair.substring(pair.indexOf('=') + 1));
        }
        VolumeParameters parsed = VolumeParameters.parse(context, VolumeParameters.Source.VOLUME_CONTEXT);
        MountOptions options = MountOptions.resolve(parsed,
                mountFlags.isBlank() ? List.of() : List.of(mountFlags.split(" ")), Set.of());
        NfsMountRequest request = new NfsMountRequest(parsed.server(), parsed.share(), parsed.resolveSubDir("unused"),
                options.asStrings(), STAGING, readOnly);
        return String.join(" ", backend.command(request)).replace(STAGING.toString(), "STAGING");
    }

    @ParameterizedTest(name = "{0} | {1} → {3}")
    @CsvSource(delimiter = ';', value = {
        "'';'';false;setsid -w mount -t nfs4 -o vers=4.1,hard,timeo=600,retrans=2,retry=0 gateway-us-east-1.trainingpipes.com:/my-bucket/pvc-1 STAGING",
        "nfsVersion=3;'';false;setsid -w mount -t nfs -o vers=3,hard,timeo=600,retrans=2,retry=0 gateway-us-east-1.trainingpipes.com:/my-bucket/pvc-1 STAGING",
        "nfsVersion=4.0;'';false;setsid -w mount -t nfs4 -o vers=4.0,hard,timeo=600,retrans=2,retry=0 gateway-us-east-1.trainingpipes.com:/my-bucket/pvc-1 STAGING",
        "nfsVersion=4.2;'';false;setsid -w mount -t nfs4 -o vers=4.2,hard,timeo=600,retrans=2,retry=0 gateway-us-east-1.trainingpipes.com:/my-bucket/pvc-1 STAGING",
        "mountMode=soft timeo=50 retrans=3;'';false;setsid -w mount -t nfs4 -o vers=4.1,soft,timeo=50,retrans=3,retry=0 gateway-us-east-1.trainingpipes.com:/my-bucket/pvc-1 STAGING",
        "nconnect=8 rsize=1048576 wsize=1048576;'';false;setsid -w mount -t nfs4 -o vers=4.1,hard,timeo=600,retrans=2,nconnect=8,rsize=1048576,wsize=1048576,retry=0 gateway-us-east-1.trainingpipes.com:/my-bucket/pvc-1 STAGING",
        "readOnlyCache=true;'';true;setsid -w mount -t nfs4 -o vers=4.1,hard,timeo=600,retrans=2,nocto,actimeo=600,ro,retry=0 gateway-us-east-1.trainingpipes.com:/my-bucket/pvc-1 STAGING",
        "encryptInTransit=true;'';false;setsid -w mount -t nfs4 -o vers=4.1,hard,timeo=600,retrans=2,xprtsec=tls,retry=0 gateway-us-east-1.trainingpipes.com:/my-bucket/pvc-1 STAGING",
        "mountBackend=kernel onDelete=archive mountPermissions=0775;'';false;setsid -w mount -t nfs4 -o vers=4.1,hard,timeo=600,retrans=2,retry=0 gateway-us-east-1.trainingpipes.com:/my-bucket/pvc-1 STAGING",
        "mountOptions=noresvport;nconnect=4 soft;false;setsid -w mount -t nfs4 -o vers=4.1,soft,timeo=600,retrans=2,noresvport,nconnect=4,retry=0 gateway-us-east-1.trainingpipes.com:/my-bucket/pvc-1 STAGING",
        "subDir=team-a/ckpt;rw;true;setsid -w mount -t nfs4 -o vers=4.1,hard,timeo=600,retrans=2,ro,retry=0 gateway-us-east-1.trainingpipes.com:/my-bucket/team-a/ckpt STAGING",
        "server=fd00::2;'';false;setsid -w mount -t nfs4 -o vers=4.1,hard,timeo=600,retrans=2,retry=0 [fd00::2]:/my-bucket/pvc-1 STAGING",
    })
    void eachParameterCombinationMountsWithExactlyThisCommandLine(String parameters, String mountFlags,
                                                                  boolean readOnly, String expected) {
        assertThat(commandLine(parameters, mountFlags, readOnly)).isEqualTo(expected);
    }
}
