package io.gatewaycsi.common.volume;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class VolumeIdTest {

    @Test
    void encodesEverythingDeleteVolumeNeeds() {
        VolumeId id = VolumeId.of("archive", "4.1", "gw.example.com", "/my-bucket", "team-a/pvc-1");
        assertThat(id.encode()).isEqualTo("gw1|archive|4.1|gw.example.com|/my-bucket|team-a/pvc-1");
        assertThat(VolumeId.decode(id.encode())).contains(id);
        assertThat(id.exportPath()).contains("/my-bucket/team-a/pvc-1");
    }

    @Test
    void separatorsInsideFieldsAreEscaped() {
        VolumeId id = VolumeId.of("delete", "3", "::1", "/b", "a|b%c");
        assertThat(id.encode()).isEqualTo("gw1|delete|3|::1|/b|a%7Cb%25c");
        assertThat(VolumeId.decode(id.encode())).contains(id);
    }

    @Test
    void aSubDirTooLongForTheIdIsCarriedAsItsDigest() {
        VolumeId id = VolumeId.of("delete", "4.1", "gw", "/b", "x".repeat(128));
        String encoded = id.encode();
        assertThat(encoded).isEqualTo("gw1h|delete|4.1|gw|/b|" + VolumeId.digestOf("x".repeat(128)))
                .hasSizeLessThanOrEqualTo(128);
        VolumeId decoded = VolumeId.decode(encoded).orElseThrow();
        assertThat(decoded.knownSubDir()).isEmpty();
        assertThat(decoded.digest()).isEqualTo(id.digest());
    }

    @Test
    void anIdThatCannotFitEvenWithADigestIsRefusedWithWhatToShorten() {
        assertThatThrownBy(() -> VolumeId.of("delete", "4.1", "gw", "/" + "s".repeat(90), "v".repeat(40)).encode())
                .hasMessageContaining("bytes; CSI allows 128: use a shorter share or server name");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "vol-1", "gw1|delete|4.1|gw|/b", "gw2|delete|4.1|gw|/b|v",
        "gw1|delete|4.1|gw|/b|../etc", "gw1|delete|4.1|gw|/b|", "gw1|delete|4.1|gw|b|v", "gw1|delete|4.1|gw|/b|a//b",
        "gw1|delete|4.1|gw|/b/../..|v", "gw1|wipe|4.1|gw|/b|v", "gw1|delete|4.1|gw|/b|a%2", "gw1|delete|4.1|gw|/b|a\0b",
        "gw1h|delete|4.1|gw|/b|../x", "gw1h|delete|4.1|gw|/b|0123"})
    void malformedForeignOrUnsafeIdsDecodeToNothing(String id) {
        assertThat(VolumeId.decode(id)).isEmpty();
    }

    @Property(tries = 1000)
    void decodingNeverYieldsAPathOutsideTheShare(@ForAll String subDir, @ForAll String share) {
        VolumeId.decode("gw1|delete|4.1|gw|" + share + "|" + subDir).ifPresent(id -> {
            assertThat(id.share()).startsWith("/");
            assertThat(("/" + id.exportPath().orElseThrow() + "/").split("/")).doesNotContain("..", ".");
            assertThat(id.subDir()).isNotEmpty().doesNotStartWith("/");
        });
    }

    @Property(tries = 500)
    void everyEncodableIdRoundTrips(@ForAll("subDirs") String subDir) {
        VolumeId id = VolumeId.of("retain", "4", "10.0.0.2", "/data", subDir);
        assertThat(VolumeId.decode(id.encode())).contains(id);
    }

    @net.jqwik.api.Provide
    net.jqwik.api.Arbitrary<String> subDirs() {
        return net.jqwik.api.Arbitraries.strings().withChars("abc|%-_.é").ofMinLength(1).ofMaxLength(40)
                .filter(s -> !s.equals(".") && !s.equals(".."));
    }
}
