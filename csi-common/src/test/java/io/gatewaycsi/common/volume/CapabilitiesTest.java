package io.gatewaycsi.common.volume;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gatewaycsi.common.CsiException;
import io.gatewaycsi.csi.v1.VolumeCapability;
import io.gatewaycsi.csi.v1.VolumeCapability.AccessMode.Mode;
import io.grpc.Status;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class CapabilitiesTest {

    private static VolumeCapability capability(Mode mode, String... flags) {
        return VolumeCapability.newBuilder()
                .setMount(VolumeCapability.MountVolume.newBuilder().addAllMountFlags(List.of(flags)))
                .setAccessMode(VolumeCapability.AccessMode.newBuilder().setMode(mode)).build();
    }

    private static MountOptions options(String mountOptions, VolumeCapability capability) {
        Map<String, String> raw = mountOptions.isEmpty() ? Map.of("server", "gw", "share", "/bucket")
                : Map.of("server", "gw", "share", "/bucket", "mountOptions", mountOptions);
        return MountOptions.resolve(VolumeParameters.parse(raw, VolumeParameters.Source.VOLUME_CONTEXT),
                capability.getMount().getMountFlagsList(), Set.of());
    }

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"SINGLE_NODE_WRITER", "MULTI_NODE_MULTI_WRITER",
        "MULTI_NODE_SINGLE_WRITER", "SINGLE_NODE_SINGLE_WRITER", "SINGLE_NODE_MULTI_WRITER"})
    void roUnderAWriterAccessModeIsRefusedWithTheFix(Mode mode) {
        for (VolumeCapability capability : List.of(capability(mode, "ro"), capability(mode, "nconnect=2,ro"))) {
            assertThatThrownBy(() -> Capabilities.requireWritableIfWriter(capability, options("", capability)))
                    .isInstanceOfSatisfying(CsiException.class,
                            e -> assertThat(e.code()).isEqualTo(Status.Code.INVALID_ARGUMENT))
                    .hasMessageContaining("mount option `ro`").hasMessageContaining(mode.name())
                    .hasMessageContaining("ReadOnlyMany").hasMessageContaining("readOnly: true");
        }
        VolumeCapability plain = capability(mode);
        assertThatThrownBy(() -> Capabilities.requireWritableIfWriter(plain, options("noatime,ro", plain)))
                .isInstanceOf(CsiException.class).hasMessageContaining("mountOptions parameter");
    }

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"SINGLE_NODE_READER_ONLY", "MULTI_NODE_READER_ONLY"})
    void roUnderAReaderAccessModeIsWhatItAsks(Mode mode) {
        VolumeCapability capability = capability(mode, "ro");
        assertThatCode(() -> Capabilities.requireWritableIfWriter(capability, options("ro", capability)))
                .doesNotThrowAnyException();
    }

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"SINGLE_NODE_WRITER", "MULTI_NODE_MULTI_WRITER"})
    void aWriterWithoutRoIsFine(Mode mode) {
        VolumeCapability capability = capability(mode, "rw", "noatime");
        assertThatCode(() -> Capabilities.requireWritableIfWriter(capability, options("", capability)))
                .doesNotThrowAnyException();
    }
}
