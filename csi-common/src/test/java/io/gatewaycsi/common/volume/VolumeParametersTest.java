package io.gatewaycsi.common.volume;

import static io.gatewaycsi.common.volume.VolumeParameters.Source.STORAGE_CLASS;
import static io.gatewaycsi.common.volume.VolumeParameters.Source.VOLUME_CONTEXT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class VolumeParametersTest {

    private static Map<String, String> gateway(String... more) {
        Map<String, String> parameters = new HashMap<>(Map.of("server", "gateway-us-east-1.trainingpipes.com",
                "share", "/my-bucket"));
        for (int i = 0; i < more.length; i += 2) {
            parameters.put(more[i], more[i + 1]);
        }
        return parameters;
    }

    @Test
    void defaultsApplyToEverythingNotGiven() {
        VolumeParameters parameters = VolumeParameters.parse(gateway(), STORAGE_CLASS);
        assertThat(parameters.value(Parameter.NFS_VERSION)).isEqualTo("4.1");
        assertThat(parameters.value(Parameter.MOUNT_MODE)).isEqualTo("hard");
        assertThat(parameters.value(Parameter.TIMEO)).isEqualTo("600");
        assertThat(parameters.value(Parameter.RETRANS)).isEqualTo("2");
        assertThat(parameters.value(Parameter.MOUNT_BACKEND)).isEqualTo("auto");
        assertThat(parameters.value(Parameter.ON_DELETE)).isEqualTo("delete");
        assertThat(parameters.get(Parameter.NCONNECT)).isEmpty();
    }

    @Test
    void serverAndShareAreRequired() {
        assertThatThrownBy(() -> VolumeParameters.parse(Map.of("share", "/b"), STORAGE_CLASS))
                .hasMessageStartingWith("parameter `server` is required");
        assertThatThrownBy(() -> VolumeParameters.parse(Map.of("server", "gw"), STORAGE_CLASS))
                .hasMessageStartingWith("parameter `share` is required");
    }

    @Test
    void unknownKeysAreRefusedNamingTheValidOnes() {
        assertThatThrownBy(() -> VolumeParameters.parse(gateway("mountmode", "soft"), STORAGE_CLASS))
                .hasMessageStartingWith("unknown parameter `mountmode`; valid parameters are server, share, subDir,");
    }

    @Test
    void provisionerAndKubeletKeysAreAcceptedAsMetadata() {
        VolumeParameters parameters = VolumeParameters.parse(gateway(VolumeParameters.PVC_NAME, "data",
                "csi.storage.k8s.io/pod.name", "train-0", "storage.kubernetes.io/csiProvisionerIdentity", "x"),
                STORAGE_CLASS);
        assertThat(parameters.metadata()).containsEntry(VolumeParameters.PVC_NAME, "data").hasSize(3);
    }

    @ParameterizedTest
    @CsvSource(delimiter = ';', value = {
        "timeo;0;parameter `timeo` must be 1..6000 deciseconds, got `0`",
        "timeo;6001;parameter `timeo` must be 1..6000 deciseconds, got `6001`",
        "timeo;10s;parameter `timeo` must be 1..6000 deciseconds, got `10s`",
        "retrans;-1;parameter `retrans` must be 0..100, got `-1`",
        "nfsVersion;4.3;parameter `nfsVersion` must be 3, 4, 4.0, 4.1 or 4.2, got `4.3`",
        "mountMode;firm;parameter `mountMode` must be hard or soft, got `firm`",
        "nconnect;17;parameter `nconnect` must be 1..16, got `17`",
        "rsize;1000;parameter `rsize` must be 1024..1048576 bytes, a power of two, got `1000`",
        "wsize;3072;parameter `wsize` must be 1024..1048576 bytes, a power of two, got `3072`",
        "mountBackend;fuse;parameter `mountBackend` must be auto, kernel or sidecar, got `fuse`",
        "onDelete;purge;parameter `onDelete` must be delete, retain or archive, got `purge`",
        "mountPermissions;0999;parameter `mountPermissions` must be an octal mode 0..7777 such as 0775, got `0999`",
        "readOnlyCache;yes;parameter `readOnlyCache` must be true or false, got `yes`",
        "server;gw,vers=3;parameter `server` must be a host name, IPv4 or IPv6 address, got `gw,vers=3`",
        "share;my-bucket;parameter `share` must be an absolute path such as /my-bucket, got `my-bucket`",
        "share;/a/../etc;parameter `share` must be an absolute path such as /my-bucket, got `/a/../etc`",
        "subDir;../escape;parameter `subDir` must be a relative path",
        "subDir;/abs;parameter `subDir` must be a relative path",
        "subDir;${pvc.metadata.uid};unknown template variable ${pvc.metadata.uid}",
        "mountOptions;nconnect=8,bogus;mount option `bogus` is not an nfs(5) option",
    })
    void badValuesAreRefusedNamingKeyValueAndWhatIsAllowed(String key, String value, String message) {
        assertThatThrownBy(() -> resolveAll(gateway(key, value)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(message);
    }

    @Test
    void encryptInTransitNeedsNfs4() {
        assertThatThrownBy(() -> resolveAll(gateway("encryptInTransit", "true", "nfsVersion", "3")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("needs NFSv4");
        assertThat(resolveAll(gateway("encryptInTransit", "true", "nfsVersion", "4.2")).asStrings()).contains("xprtsec=tls");
    }

    private static MountOptions resolveAll(Map<String, String> raw) {
        VolumeParameters parameters = VolumeParameters.parse(raw, STORAGE_CLASS);
        parameters.resolveSubDir("pvc-1");
        return MountOptions.resolve(parameters, List.of(), Set.of());
    }

    @Test
    void valuesAreNormalized() {
        VolumeParameters parameters = VolumeParameters.parse(gateway("mountMode", "SOFT", "mountPermissions", "775",
                "share", "/my-bucket/", "server", "GW.Example.COM"), STORAGE_CLASS);
        assertThat(parameters.value(Parameter.MOUNT_MODE)).isEqualTo("soft");
        assertThat(parameters.value(Parameter.MOUNT_PERMISSIONS)).isEqualTo("0775");
        assertThat(parameters.share()).isEqualTo("/my-bucket");
        assertThat(parameters.server()).isEqualTo("gw.example.com");
    }

    /** Found by NodeHostileInputTest: a share of slashes only was an index error (INTERNAL), not a path. */
    @Test
    void aShareOfSlashesOnlyIsTheRootAndADoubleSlashInsideIsRefused() {
        for (String root : List.of("/", "//", "///")) {
            assertThat(VolumeParameters.parse(gateway("share", root), STORAGE_CLASS).share()).as(root).isEqualTo("/");
        }
        assertThatThrownBy(() -> VolumeParameters.parse(gateway("share", "//a"), STORAGE_CLASS))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("parameter `share` must be an absolute path such as /my-bucket, got `//a`");
    }

    @Test
    void subDirTemplatesResolveFromTheProvisionersMetadata() {
        VolumeParameters parameters = VolumeParameters.parse(gateway("subDir",
                "${pvc.metadata.namespace}/${pvc.metadata.name}-${pv.metadata.name}",
                VolumeParameters.PVC_NAME, "ckpt", VolumeParameters.PVC_NAMESPACE, "team-a",
                VolumeParameters.PV_NAME, "pvc-123"), STORAGE_CLASS);
        assertThat(parameters.resolveSubDir("pvc-123")).isEqualTo("team-a/ckpt-pvc-123");
    }

    @Test
    void theDefaultSubDirIsThePvName() {
        assertThat(VolumeParameters.parse(gateway(), STORAGE_CLASS).resolveSubDir("pvc-9")).isEqualTo("pvc-9");
    }

    @Test
    void aTemplateVariableWithoutValueAsksForExtraCreateMetadata() {
        VolumeParameters parameters = VolumeParameters.parse(gateway("subDir", "${pvc.metadata.name}"), STORAGE_CLASS);
        assertThatThrownBy(() -> parameters.resolveSubDir("pvc-1")).hasMessageContaining("--extra-create-metadata");
    }

    @Test
    void aTemplateThatResolvesOutsideTheShareIsRefused() {
        VolumeParameters parameters = VolumeParameters.parse(gateway("subDir", "${pvc.metadata.name}",
                VolumeParameters.PVC_NAME, ".."), STORAGE_CLASS);
        assertThatThrownBy(() -> parameters.resolveSubDir("pvc-1")).hasMessageContaining("not a safe relative path");
    }

    @Test
    void inAVolumeContextSubDirIsALiteralPathAndDefaultsToTheShare() {
        assertThat(VolumeParameters.parse(gateway(), VOLUME_CONTEXT).resolveSubDir("ignored")).isEmpty();
        assertThat(VolumeParameters.parse(gateway("subDir", "a/b"), VOLUME_CONTEXT).resolveSubDir("x")).isEqualTo("a/b");
        assertThatThrownBy(() -> VolumeParameters.parse(gateway("subDir", "a/../../b"), VOLUME_CONTEXT))
                .hasMessageContaining("must be a relative path below the share");
    }

    @Test
    void theVolumeContextRecordsEveryParameterInForceSoTheNodeSeesTheSameOptions() {
        VolumeParameters parameters = VolumeParameters.parse(gateway("nconnect", "8"), STORAGE_CLASS);
        MountOptions options = MountOptions.resolve(parameters, List.of("soft", "noresvport"), Set.of());
        Map<String, String> context = parameters.volumeContext("pvc-1", options);
        assertThat(context).containsEntry("server", "gateway-us-east-1.trainingpipes.com")
                .containsEntry("share", "/my-bucket").containsEntry("subDir", "pvc-1")
                .containsEntry("nfsVersion", "4.1").containsEntry("nconnect", "8")
                .containsEntry("mountOptions", "soft,noresvport")
                .doesNotContainKey("mountMode");
        VolumeParameters onNode = VolumeParameters.parse(context, VOLUME_CONTEXT);
        assertThat(MountOptions.resolve(onNode, List.of("soft", "noresvport"), Set.of()).toString())
                .isEqualTo(options.toString());
    }
}
