package io.gatewaycsi.nfs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class NfsPathsTest {
    @ParameterizedTest
    @ValueSource(strings = {"/", "/a", "/a/b", "/.hidden", "/a/..b", "/ü/名前", "/a b/c"})
    void validPaths(String p) {
        assertThat(NfsPaths.requireValid(p)).isEqualTo(p);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "a", "a/b", "//", "/a//b", "/a/", "/.", "/..", "/a/./b", "/a/../b", "/a/\0"})
    void invalidPaths(String p) {
        assertThatThrownBy(() -> NfsPaths.requireValid(p)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void joinParentNameComponents() {
        assertThat(NfsPaths.join("/", "a")).isEqualTo("/a");
        assertThat(NfsPaths.join("/a", "b")).isEqualTo("/a/b");
        assertThatThrownBy(() -> NfsPaths.join("/a", "b/c")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> NfsPaths.join("/a", "..")).isInstanceOf(IllegalArgumentException.class);
        assertThat(NfsPaths.parent("/a/b")).isEqualTo("/a");
        assertThat(NfsPaths.parent("/a")).isEqualTo("/");
        assertThat(NfsPaths.parent("/")).isEqualTo("/");
        assertThat(NfsPaths.name("/a/b")).isEqualTo("b");
        assertThat(NfsPaths.components("/a/b")).containsExactly("a", "b");
        assertThat(NfsPaths.components("/")).isEmpty();
        assertThat(NfsPaths.isWithin("/a/b", "/a")).isTrue();
        assertThat(NfsPaths.isWithin("/a", "/a")).isTrue();
        assertThat(NfsPaths.isWithin("/ab", "/a")).isFalse();
        assertThat(NfsPaths.isWithin("/x", "/")).isTrue();
    }

    @Test
    void resolveLinkStaysWithinTheShare() {
        assertThat(NfsPaths.resolveLink("/a/b/link", "target")).isEqualTo("/a/b/target");
        assertThat(NfsPaths.resolveLink("/a/b/link", "../c")).isEqualTo("/a/c");
        assertThat(NfsPaths.resolveLink("/a/link", "../../../../etc")).isEqualTo("/etc");
        assertThat(NfsPaths.resolveLink("/a/link", "/abs/./x/")).isEqualTo("/abs/x");
        assertThat(NfsPaths.resolveLink("/link", "..")).isEqualTo("/");
        // whatever the target, the result is a valid share path
        Random r = new Random(42);
        String[] parts = {"..", ".", "", "a", "b", "/"};
        for (int i = 0; i < 2000; i++) {
            StringBuilder t = new StringBuilder();
            for (int k = r.nextInt(8); k >= 0; k--) {
                t.append(parts[r.nextInt(parts.length)]).append(r.nextBoolean() ? "/" : "");
            }
            String resolved = NfsPaths.resolveLink("/x/y/link", t.toString());
            assertThat(NfsPaths.requireValid(resolved)).isNotNull();
            assertThat(List.of(resolved.split("/"))).doesNotContain("..", ".");
        }
    }
}
