package io.gatewaycsi.mounthelper;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class MountTableTest {
    private static final String TEXT = """
            22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
            97 29 0:45 / /var/lib/kubelet/staging\\040dir rw,nosuid,nodev,relatime shared:50 - fuse.gateway-csi 10.0.0.2:/export/my\\040vol rw,user_id=0,group_id=0,default_permissions,allow_other,max_read=1048576
            98 97 0:46 / /var/lib/kubelet/staging\\040dir rw,relatime - tmpfs tmpfs rw
            garbage line
            """;

    @Test
    void parsesFieldsAndUnescapesPaths() {
        List<MountTable.Entry> entries = MountTable.parse(TEXT);
        assertThat(entries).hasSize(3);
        MountTable.Entry fuse = entries.get(1);
        assertThat(fuse.mountId()).isEqualTo(97);
        assertThat(fuse.major()).isZero();
        assertThat(fuse.minor()).isEqualTo(45);
        assertThat(fuse.mountPoint()).isEqualTo("/var/lib/kubelet/staging dir");
        assertThat(fuse.fsType()).isEqualTo("fuse.gateway-csi");
        assertThat(fuse.source()).isEqualTo("10.0.0.2:/export/my vol");
        assertThat(fuse.superOptions()).contains("allow_other");
    }

    @Test
    void theTopmostMountAtAPathIsTheLastOne() {
        MountTable.Entry top = MountTable.topmostAt(MountTable.parse(TEXT), "/var/lib/kubelet/staging dir");
        assertThat(top.fsType()).isEqualTo("tmpfs");
        assertThat(MountTable.topmostAt(MountTable.parse(TEXT), "/nowhere")).isNull();
    }
}
