package io.gatewaycsi.node;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class MountPrivilegeTest {

    private static final String INITIAL_USER_NAMESPACE = "         0          0 4294967295\n";

    @Test
    void rootWithCapSysAdminInTheInitialUserNamespaceMayMount() {
        assertThat(MountPrivilege.permitted(List.of("Name:\tjava", "CapEff:\t000001ffffffffff"), INITIAL_USER_NAMESPACE))
                .isTrue();
    }

    @Test
    void withoutCapSysAdminOrInAnotherUserNamespaceItMayNot() {
        // Docker's default capabilities: no CAP_SYS_ADMIN (bit 21).
        assertThat(MountPrivilege.permitted(List.of("CapEff:\t00000000a80425fb"), INITIAL_USER_NAMESPACE)).isFalse();
        assertThat(MountPrivilege.permitted(List.of("CapEff:\t000001ffffffffff"), "0 100000 65536\n")).isFalse();
        assertThat(MountPrivilege.permitted(List.of("Name:\tjava"), INITIAL_USER_NAMESPACE)).isFalse();
    }
}
