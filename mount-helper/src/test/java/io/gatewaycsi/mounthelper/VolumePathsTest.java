package io.gatewaycsi.mounthelper;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gatewaycsi.nfs.Errno;
import io.gatewaycsi.nfs.NfsTarget;
import java.util.List;
import org.junit.jupiter.api.Test;

class VolumePathsTest {

    @Test
    void fusePathsMapBelowTheVolumesDirectory() throws FuseErrno {
        VolumePaths p = new VolumePaths("team/vol1");
        assertThat(p.root()).isEqualTo("/team/vol1");
        assertThat(p.toShare("/")).isEqualTo("/team/vol1");
        assertThat(p.toShare("/a/b")).isEqualTo("/team/vol1/a/b");
        VolumePaths share = new VolumePaths("");
        assertThat(share.toShare("/")).isEqualTo("/");
        assertThat(share.toShare("/a")).isEqualTo("/a");
    }

    @Test
    void dotDotAndFriendsNeverLeaveTheVolume() {
        VolumePaths p = new VolumePaths("vol");
        for (String bad : List.of("/..", "/../x", "/a/../../x", "/a/./b", "//a", "a", "/a/")) {
            assertThatThrownBy(() -> p.toShare(bad)).as(bad).isInstanceOf(FuseErrno.class)
                    .satisfies(e -> assertThat(((FuseErrno) e).errno()).isEqualTo(Errno.EACCES));
        }
        for (String bad : List.of("..", "../x", "a/../../b", "./a", "/abs", "a//b")) {
            assertThatThrownBy(() -> VolumePaths.rootOf(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void theMountSourceIsServerShareAndSubDir() {
        assertThat(GatewayMount.sourceOf(NfsTarget.v4("10.0.0.2", "/export"), "a/b")).isEqualTo("10.0.0.2:/export/a/b");
        assertThat(GatewayMount.sourceOf(NfsTarget.v4("gw", "/"), "a")).isEqualTo("gw:/a");
        assertThat(GatewayMount.sourceOf(NfsTarget.v4("fd00::2", "/export"), "")).isEqualTo("[fd00::2]:/export");
    }
}
